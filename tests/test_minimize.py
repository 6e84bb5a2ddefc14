"""Real-space L-BFGS minimizer on the spheres against closed-form minima."""

import math

import numpy as np
import pytest
import torch

from latentopt.physics import minimize as mz
from latentopt.physics import spheres, states
from latentopt.physics.hamiltonian import ChiralMagnet

pytestmark = pytest.mark.usefixtures("float64_default")  # float64 tensors by default (tests/conftest.py)


@pytest.mark.parametrize("dmi", ["interfacial", "bulk"])
def test_spiral_closed_form(dmi):
    """D = J tan(2 pi / L): the commensurate spiral has the continuum-optimal q, e = -J - sqrt(J^2 + D^2)."""
    L, J = 20, 1.0
    q = 2 * math.pi / L
    D = J * math.tan(q)
    model = ChiralMagnet(L=L, J=J, D=D, dmi=dmi)
    s = torch.as_tensor(states.spiral(L, 1, dmi=dmi))[None]
    g = torch.Generator().manual_seed(0)
    x = spheres.exp_map(s, 0.2 * torch.randn(s.shape, generator=g))
    r = mz.minimize(mz.chiral_magnet_energy_fn(model), x, tol=1e-8)
    assert r.converged.all() and r.max_torque[0] < 1e-8
    assert r.energy[0] / L**2 == pytest.approx(-J - math.hypot(J, D), abs=1e-12)
    assert r.energy[0] <= r.initial_energy[0]
    assert np.allclose(np.linalg.norm(r.states, axis=1), 1.0, atol=1e-14)
    assert np.all(np.diff(r.energy_history[:, 0]) <= 1e-9)  # monotone (Armijo)


def test_ferromagnet_in_field_batched():
    L, K, B = 12, 0.1, 0.3
    model = ChiralMagnet(L=L, J=1.0, D=0.0, K=K, B=(0, 0, B))
    g = torch.Generator().manual_seed(1)
    x = torch.as_tensor(np.stack([states.ferromagnet(L, (1, 0, 1)), states.ferromagnet(L, (0, 1, 0.2))]))
    x = spheres.exp_map(x, 0.3 * torch.randn(x.shape, generator=g))
    r = mz.minimize(mz.chiral_magnet_energy_fn(model), x, tol=1e-9)
    assert r.converged.all()
    assert np.allclose(r.energy / L**2, -2.0 - K - B, atol=1e-12)
    assert np.allclose(r.states[:, 2], 1.0, atol=1e-9)
    assert r.iterations.shape == (2,)


def test_polish_keeps_skyrmion_and_reports_both_values():
    L = 16
    model = ChiralMagnet(L=L, J=1.0, D=0.3, B=(0, 0, 0.1))
    out = mz.polish(states.skyrmion(L, 5.0, helicity=math.pi), model, tol=1e-7)
    assert out["spins"].shape == (3, L, L) and out["spins"].dtype == np.float32
    assert out["polished_value"] < out["initial_value"]
    assert out["W"] == pytest.approx(-1.0, abs=1e-6) and out["W_initial"] == pytest.approx(-1.0, abs=1e-6)
    assert out["converged"]


def test_minimize_rejects_bad_input():
    e = mz.chiral_magnet_energy_fn(ChiralMagnet(L=4))
    with pytest.raises(ValueError, match="states"):
        mz.minimize(e, torch.ones(2, 4, 4))
    with pytest.raises(ValueError, match="tol"):
        mz.minimize(e, torch.ones(1, 3, 4, 4), tol=0)
    with pytest.raises(ValueError, match="system.L"):
        e(torch.ones(1, 3, 5, 5))


def test_descent_step_bounds_the_hessian():
    """descent_step = 1.5 / (8|J| + 8|D| + 4|K| + |B|); the tangent Hessian's largest eigenvalue is below 2 / step * 0.75."""
    model = ChiralMagnet(L=8, J=1.0, D=0.3, K=0.2, B=(0, 0, 0.4))
    assert mz.descent_step(ChiralMagnet(L=8, J=1.0, D=0.3)) == pytest.approx(1.5 / 10.4)
    assert mz.descent_step(model) == pytest.approx(1.5 / (8 + 2.4 + 0.8 + 0.4))
    with pytest.raises(ValueError, match="all zero"):
        mz.descent_step(ChiralMagnet(L=8, J=0.0, D=0.0))
    # power iteration on the Riemannian Hessian (tangent projection of H v minus (s.g) v) of random states
    e = mz.chiral_magnet_energy_fn(model)
    g = torch.Generator().manual_seed(0)
    s = spheres.normalize(torch.randn(4, 3, 8, 8, generator=g))
    x = s.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(e(x).sum(), x, create_graph=True)
    radial = spheres.dot(s, grad.detach())
    v = spheres.project_tangent(s, torch.randn(s.shape, generator=g))
    for _ in range(200):
        (hv,) = torch.autograd.grad((grad * v).sum(), x, retain_graph=True)
        w = spheres.project_tangent(s, hv - radial * v)
        lam = (w * v).flatten(1).sum(1) / (v * v).flatten(1).sum(1)
        v = w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    assert lam.abs().max() < 1.5 / mz.descent_step(model)


@pytest.mark.parametrize("dmi", ["interfacial", "bulk"])
def test_descend_lowers_the_energy_every_step_and_fixes_a_spiral(dmi):
    model = ChiralMagnet(L=12, J=1.0, D=0.5, K=0.1, B=(0.1, 0, 0.3), dmi=dmi)
    e = mz.chiral_magnet_energy_fn(model)
    step = mz.descent_step(model)
    g = torch.Generator().manual_seed(1)
    x = spheres.normalize(torch.randn(3, 3, 12, 12, generator=g))
    energies = [e(x)]
    for _ in range(30):
        x = mz.descend(e, x, 1, step)
        energies.append(e(x))
    energies = torch.stack(energies)
    assert torch.all(energies[1:] <= energies[:-1] + 1e-12)  # monotone from random states
    assert torch.allclose(spheres.spin_norm(x, 1), torch.ones(()), atol=1e-14)
    # a commensurate single-q spiral is a stationary state of J + D (K = B = 0): descend leaves it alone
    free = ChiralMagnet(L=12, J=1.0, D=0.5, dmi=dmi)
    s = torch.as_tensor(states.commensurate_spiral(12, (1, 2), dmi))[None]
    out = mz.descend(mz.chiral_magnet_energy_fn(free), s, 10, mz.descent_step(free))
    assert torch.allclose(out, s, atol=1e-12)
    assert torch.allclose(mz.descend(e, s, 0, step), s, atol=1e-15)  # 0 steps: only normalized
    with pytest.raises(ValueError, match="relax_steps"):
        mz.descend(e, s, -1, step)


def test_descend_is_differentiable_and_works_in_inference_mode():
    model = ChiralMagnet(L=4, J=1.0, D=0.4, B=(0, 0, 0.2))
    e = mz.chiral_magnet_energy_fn(model)
    g = torch.Generator().manual_seed(2)
    s = torch.randn(2, 3, 4, 4, generator=g)

    def relaxed_energy(x):
        return e(mz.descend(e, x, 2, mz.descent_step(model)))

    assert torch.autograd.gradcheck(relaxed_energy, (s.clone().requires_grad_(True),))  # unrolled steps
    with torch.inference_mode():
        inside = mz.descend(e, s, 2, mz.descent_step(model))
    assert torch.equal(inside, mz.descend(e, s, 2, mz.descent_step(model)))
    assert not inside.requires_grad


@pytest.mark.parametrize("dmi", ["interfacial", "bulk"])
def test_descend_with_the_closed_form_field_equals_the_autograd_descent(dmi):
    """field_fn (torch_physics.effective_field) replaces the autograd gradient: same steps, same gradients."""
    from latentopt.physics.torch_physics import effective_field

    model = ChiralMagnet(L=6, J=1.0, D=0.4, K=0.15, B=(0.05, -0.1, 0.2), dmi=dmi)
    e = mz.chiral_magnet_energy_fn(model)
    field = lambda x: effective_field(x, model)  # noqa: E731
    step = mz.descent_step(model)
    s = torch.randn(3, 3, 6, 6, generator=torch.Generator().manual_seed(4))
    assert torch.allclose(mz.descend(e, s, 4, step, field_fn=field), mz.descend(e, s, 4, step), atol=1e-13)
    with torch.inference_mode():  # as the genetic algorithm calls it
        inside = mz.descend(e, s, 4, step, field_fn=field)
    assert torch.equal(inside, mz.descend(e, s, 4, step, field_fn=field)) and not inside.requires_grad

    def relaxed_energy(x, field_fn):
        return e(mz.descend(e, x, 2, step, field_fn=field_fn))

    x = s[:2].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: relaxed_energy(x, field), (x,))  # unrolled through the field
    (g_field,) = torch.autograd.grad(relaxed_energy(x, field).sum(), x)
    (g_auto,) = torch.autograd.grad(relaxed_energy(x, None).sum(), x)
    assert torch.allclose(g_field, g_auto, atol=1e-11)
