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
