"""GNEB on the product of spheres: smooth tangent weight, single-spin MEP and barrier in closed form,
climbing image, energy profile, path maximum, tangent-space Hessian, checkpoint/resume."""

import math
import warnings

import numpy as np
import pytest
import torch

from latentopt.optimizers import neb
from latentopt.optimizers.meta_neb import random_paths
from latentopt.physics import single_spin as ss
from latentopt.physics import spheres
from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.physics.minimize import chiral_magnet_energy_fn
from latentopt.physics.states import ferromagnet

pytestmark = pytest.mark.usefixtures("float64_default")  # float64 tensors by default (tests/conftest.py)
E1 = ss.energy_fn()


def _direct_w(a, b, beta):
    ea, eb = math.exp(beta * a), math.exp(beta * b)
    return (ea + eb) / (ea + 1 / ea + eb + 1 / eb)


def test_smooth_weight_properties():
    g = torch.Generator().manual_seed(0)
    a, b = 3 * torch.randn(1000, generator=g), 3 * torch.randn(1000, generator=g)
    for beta in (0.5, 3.0, 40.0):
        w = neb.smooth_weight(a, b, beta)
        assert torch.allclose(w + neb.smooth_weight(-b, -a, beta), torch.ones_like(w), atol=1e-14)
        assert bool(((w >= 0) & (w <= 1)).all())
    for x, y in ((0.1, -0.3), (1.0, 2.0), (-0.7, 0.2)):
        assert float(neb.smooth_weight(torch.tensor(x), torch.tensor(y), 3.0)) == pytest.approx(_direct_w(x, y, 3.0),
                                                                                                rel=1e-13)
    assert float(neb.smooth_weight(torch.tensor(0.0), torch.tensor(0.0), 3.0)) == 0.5
    assert float(neb.smooth_weight(torch.tensor(400.0), torch.tensor(500.0), 3.0)) == pytest.approx(1.0, abs=1e-15)
    # no overflow: the e^{-beta b} term dominates the denominator, W -> 0 and its partner -> 1
    big = neb.smooth_weight(torch.tensor(1e4), torch.tensor(-2e4), 3.0)
    assert torch.isfinite(big) and float(big) == 0.0
    assert float(neb.smooth_weight(torch.tensor(2e4), torch.tensor(-1e4), 3.0)) == 1.0


def test_improved_tangent_closed_form():
    """On a monotone stretch the tangent is the unit forward difference projected on the tangent planes."""
    path = ss.mep(7)[None]
    e, g = neb.path_energy_gradient(E1, path)
    t = neb.tangents(path, e, spheres.project_tangent(path, g, 2), "improved")
    k = 2  # energy rises from image 0 to the saddle (image 3)
    fwd = spheres.project_tangent(path[0, k], path[0, k + 1] - path[0, k], 0)
    assert torch.allclose(t[0, k], fwd / fwd.norm(), atol=1e-14)
    # on the exact MEP every tangent is the direction of motion (-sin p, cos p, 0)
    p = torch.linspace(0, math.pi, 7)
    exact = torch.stack([-torch.sin(p), torch.cos(p), torch.zeros(7)], 1)
    for kind in ("improved", "smooth"):
        t = neb.tangents(path, e, spheres.project_tangent(path, g, 2), kind)
        assert torch.allclose(t[0], exact, atol=1e-14)


@pytest.mark.parametrize("method,kw", [("vp", dict(dt=0.2)), ("paper", dict(gamma=0.1, tangent="smooth")),
                                       ("paper", dict(gamma=0.1, tangent="improved"))])
def test_single_spin_exact_mep_and_barrier(method, kw):
    m = 9
    path = random_paths(1, m, perturbation=0.05, bend=0.05, seed=3)[0]
    res = neb.run_neb(E1, path, method=method, tol=1e-9, max_iter=5000, climbing=True, **kw)
    assert res.converged
    x = torch.as_tensor(res.path)
    assert torch.allclose(x.norm(dim=1), torch.ones(m), atol=1e-15)        # |S| = 1
    assert torch.allclose(x[:, 2], torch.zeros(m), atol=1e-8)               # on the equator: the exact MEP
    ci = res.saddle_index
    assert torch.allclose(x[ci], torch.tensor([0.0, 1.0, 0.0]), atol=1e-8)  # climbing image at the saddle
    assert res.barrier == pytest.approx(ss.barrier(), abs=1e-6)
    assert res.barrier_interpolated == pytest.approx(ss.barrier(), abs=1e-6)
    # images equally spaced on each side of the climbing image (springs), arc length pi
    d = np.diff(res.arc)
    assert np.allclose(d[:ci], d[0], rtol=1e-6) and np.allclose(d[ci:], d[-1], rtol=1e-6)
    assert res.arc[-1] == pytest.approx(math.pi, abs=1e-8)
    # energies on the exact MEP: -K1 cos^2(s)
    assert np.allclose(res.energy, ss.mep_energy(torch.as_tensor(res.arc)).numpy(), atol=1e-8)
    assert res.force_history[-1] < 1e-9 and len(res.force_history) == res.iterations + 1
    assert res.force_evaluations == res.iterations + 1


def test_hermite_profile_exact_for_cubic():
    s = np.array([0.0, 0.4, 1.1, 1.5])
    f = lambda x: 2 * x**3 - x**2 + 0.5 * x - 1  # noqa: E731
    df = lambda x: 6 * x**2 - 2 * x + 0.5  # noqa: E731
    ps, pe = neb.hermite_profile(s, f(s), df(s), 10)
    assert np.allclose(pe, f(ps), atol=1e-13)
    assert ps[0] == 0.0 and ps[-1] == 1.5 and len(ps) == 31


def test_path_maximum_matches_dense_search():
    paths = random_paths(4, 6, perturbation=0.1, bend=0.1, seed=5)
    q, k, t = neb.path_maximum(E1, paths)
    dense = torch.linspace(0, 1, 20001).expand(4, 5, 20001)
    e = neb.segment_energies(E1, paths, dense)
    assert torch.allclose(q, e.flatten(1).max(1).values, atol=1e-9)
    assert bool((q >= -1e-12).all())  # every path crosses S_x = 0 where E >= 0 (mountain pass)
    # exact MEP: Q = Q0 = 0
    q0, _, _ = neb.path_maximum(E1, ss.mep(8)[None])
    assert abs(float(q0)) < 1e-12
    # differentiable (envelope theorem): the gradient of Q equals a central difference along a tangent direction
    x = paths.clone().requires_grad_(True)
    q, _, _ = neb.path_maximum(E1, x)
    (g,) = torch.autograd.grad(q.sum(), x)
    d = torch.zeros_like(paths)
    d[:, 1:-1] = torch.randn(4, 4, 3, generator=torch.Generator().manual_seed(0))
    d = spheres.project_tangent(paths, d, 2)
    h = 1e-5
    qp, _, _ = neb.path_maximum(E1, spheres.exp_map(paths, h * d, 2))
    qm, _, _ = neb.path_maximum(E1, spheres.exp_map(paths, -h * d, 2))
    assert torch.allclose((qp - qm) / (2 * h), (g * d).flatten(1).sum(1), rtol=1e-6, atol=1e-8)


def test_hessian_single_spin_saddle_and_minimum():
    r = neb.tangent_hessian(E1, ss.saddles()[0], k=2)
    assert np.allclose(r.eigenvalues, ss.hessian_eigenvalues_saddle(), atol=1e-12)
    assert r.negative_modes == 1
    # the unstable mode is along x (the MEP direction)
    assert abs(r.eigenvectors[0][0]) == pytest.approx(1.0, abs=1e-12)
    r = neb.tangent_hessian(E1, ss.minima()[1], k=2)
    assert np.allclose(r.eigenvalues, ss.hessian_eigenvalues_minimum(), atol=1e-12)
    assert r.negative_modes == 0


def test_hessian_ferromagnet_spin_waves_eigsh():
    """FM along z in a field (D = 0): lambda(q) = B + 2K + J (4 - 2 cos qx - 2 cos qy), each twice.

    Checks the curvature term -(s.dE/ds) of the Riemannian Hessian and the eigsh/LinearOperator path (2N = 512).
    """
    L, J, K, B = 16, 1.3, 0.2, 0.15
    model = ChiralMagnet(L=L, J=J, D=0.0, K=K, B=(0, 0, B))
    r = neb.tangent_hessian(chiral_magnet_energy_fn(model), torch.as_tensor(ferromagnet(L)), k=10, tol=1e-12)
    q = 2 * math.pi / L
    lam0, lam1 = B + 2 * K, B + 2 * K + J * (2 - 2 * math.cos(q))
    assert np.allclose(r.eigenvalues[:2], lam0, atol=1e-9)
    assert np.allclose(r.eigenvalues[2:10], lam1, atol=1e-9)
    assert r.negative_modes == 0


def test_run_neb_rejects_bad_input():
    p = ss.mep(5)
    with pytest.raises(ValueError, match="method"):
        neb.run_neb(E1, p, method="lbfgs")
    with pytest.raises(ValueError, match="tangent"):
        neb.run_neb(E1, p, tangent="central")
    with pytest.raises(ValueError, match="at least 3 images"):
        neb.run_neb(E1, p[:2])
    with pytest.raises(ValueError, match="gamma"):
        neb.run_neb(E1, p, gamma=-1.0)


@pytest.mark.parametrize("method", ["vp", "paper"])
def test_checkpoint_resume_bit_identical(tmp_path, method):
    path = random_paths(3, 8, perturbation=0.1, bend=0.1, seed=9)
    kw = dict(method=method, gamma=0.05, dt=0.2, tol=1e-12, batched=True, climbing=True, checkpoint_every=7)
    full = neb.run_neb(E1, path, max_iter=40, **kw)
    ck = tmp_path / "neb.pt"
    part = neb.run_neb(E1, path, max_iter=23, checkpoint=ck, **kw)
    assert part.iterations == 23 and torch.load(ck, weights_only=False)["it"] == 23
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checkpoint must be accepted, not ignored
        resumed = neb.run_neb(E1, path, max_iter=40, checkpoint=ck, **kw)
    assert resumed.iterations == 40
    assert np.array_equal(resumed.path, full.path)
    assert np.array_equal(resumed.force_history, full.force_history)
    assert resumed.force_evaluations == full.force_evaluations
