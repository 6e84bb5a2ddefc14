"""Geometry on the product of unit spheres against closed forms."""

import math

import pytest
import torch

from latentopt.physics import spheres

pytestmark = pytest.mark.usefixtures("float64_default")  # float64 tensors by default (tests/conftest.py)


def _in_plane(alpha):
    a = torch.as_tensor(alpha)
    return torch.stack([torch.cos(a), torch.sin(a), torch.zeros_like(a)])


def test_geodesic_distance_closed_form():
    # state (1, 3, 2, 2): spins in the xy plane at angles alpha from +x; reference: all +x
    alpha = torch.tensor([[0.3, -1.2], [2.9, 1e-9]])
    a = _in_plane(alpha)[None]
    b = _in_plane(torch.zeros_like(alpha))[None]
    per = spheres.distance_per_spin(a, b)
    assert torch.allclose(per[0], alpha.abs(), rtol=1e-12, atol=1e-15)
    assert per[0, 1, 1] == pytest.approx(1e-9, rel=1e-6)  # acos would return 0 or ~1.5e-8 here
    d = spheres.geodesic_distance(a, b)
    assert d.shape == (1,)
    assert float(d) == pytest.approx(math.sqrt(float((alpha**2).sum())), rel=1e-12)
    # antiparallel and symmetric
    z = torch.tensor([[0.0, 0.0, 1.0]])
    assert float(spheres.geodesic_distance(z, -z)) == pytest.approx(math.pi, rel=1e-12)
    assert torch.allclose(spheres.geodesic_distance(a, b), spheres.geodesic_distance(b, a))


def test_project_tangent_closed_form():
    s = torch.tensor([[0.0, 0.0, 1.0]])
    v = torch.tensor([[1.0, 2.0, 3.0]])
    assert torch.allclose(spheres.project_tangent(s, v), torch.tensor([[1.0, 2.0, 0.0]]))
    g = torch.Generator().manual_seed(0)
    s = spheres.normalize(torch.randn(4, 3, 5, 5, generator=g))
    v = torch.randn(4, 3, 5, 5, generator=g)
    p = spheres.project_tangent(s, v)
    assert torch.allclose((p * s).sum(1), torch.zeros(4, 5, 5), atol=1e-14)
    assert torch.allclose(spheres.project_tangent(s, p), p, atol=1e-14)   # idempotent
    assert torch.allclose(spheres.project_tangent(s, 2.5 * s), torch.zeros_like(s), atol=1e-14)


def test_exp_log_and_unit_length():
    g = torch.Generator().manual_seed(1)
    a = spheres.normalize(torch.randn(3, 3, 4, 4, generator=g))
    b = spheres.normalize(torch.randn(3, 3, 4, 4, generator=g))
    v = spheres.log_map(a, b)
    assert torch.allclose((v * a).sum(1), torch.zeros(3, 4, 4), atol=1e-13)
    assert torch.allclose(v.norm(dim=1), spheres.distance_per_spin(a, b), atol=1e-12)
    assert torch.allclose(spheres.exp_map(a, v), b, atol=1e-12)
    # a rotation by |v| < pi moves each spin by exactly |v|
    w = spheres.project_tangent(a, torch.randn(3, 3, 4, 4, generator=g))
    w = w / w.norm(dim=1, keepdim=True) * torch.rand(3, 1, 4, 4, generator=g) * 3.0
    x = spheres.exp_map(a, w)
    assert torch.allclose(spheres.distance_per_spin(a, x), w.norm(dim=1), atol=1e-12)
    # |S| = 1 after many steps
    for _ in range(200):
        x = spheres.exp_map(x, 0.37 * torch.randn(x.shape, generator=g))
    assert torch.allclose(x.norm(dim=1), torch.ones(3, 4, 4), atol=1e-15)


def test_slerp_closed_form_and_antiparallel():
    ex, ey, ez = torch.eye(3)
    mid = spheres.slerp(ex[None], ey[None], 0.5)
    assert torch.allclose(mid[0], torch.tensor([1.0, 1.0, 0.0]) / math.sqrt(2.0), atol=1e-15)
    third = spheres.slerp(ex[None], ey[None], 1 / 3)
    assert torch.allclose(third[0], torch.tensor([math.cos(math.pi / 6), math.sin(math.pi / 6), 0.0]), atol=1e-15)
    # antiparallel: deterministic, through P_a(x_hat) (x_hat itself for a = z_hat), y_hat for a = x_hat
    assert torch.allclose(spheres.slerp(ez[None], -ez[None], 0.5)[0], ex, atol=1e-15)
    assert torch.allclose(spheres.slerp(ex[None], -ex[None], 0.5)[0], ey, atol=1e-15)
    assert torch.allclose(spheres.slerp(ez[None], -ez[None], 1.0)[0], -ez, atol=1e-15)


def test_geodesic_path_equally_spaced():
    g = torch.Generator().manual_seed(2)
    a = spheres.normalize(torch.randn(3, 6, 6, generator=g), dim=0)
    b = spheres.normalize(torch.randn(3, 6, 6, generator=g), dim=0)
    b[:, 0, 0] = -a[:, 0, 0]  # one antiparallel pair
    path = spheres.geodesic_path(a, b, 7)
    assert path.shape == (7, 3, 6, 6)
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    d = spheres.geodesic_distance(path[1:], path[:-1])
    assert torch.allclose(d, d[0].expand(6), rtol=1e-10)
    assert float(d.sum()) == pytest.approx(float(spheres.geodesic_distance(a[None], b[None])), rel=1e-10)
    with pytest.raises(ValueError, match="n_images"):
        spheres.geodesic_path(a, b, 1)


def test_tangent_basis_orthonormal():
    g = torch.Generator().manual_seed(3)
    s = spheres.normalize(torch.randn(2, 3, 5, 5, generator=g))
    s[0, :, 0, 0] = torch.tensor([1.0, 0.0, 0.0])  # the fallback branch
    e1, e2 = spheres.tangent_basis(s)
    for u, w in ((e1, e1), (e2, e2)):
        assert torch.allclose((u * w).sum(1), torch.ones(2, 5, 5), atol=1e-14)
    for u, w in ((e1, e2), (e1, s), (e2, s)):
        assert torch.allclose((u * w).sum(1), torch.zeros(2, 5, 5), atol=1e-14)
    assert torch.allclose(torch.linalg.cross(e1, e2, dim=1), s, atol=1e-14)
