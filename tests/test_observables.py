"""Topological charge, magnetization and correlations: closed forms, invariants, numba = torch."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from latentopt.physics import boundary, states
from latentopt.physics import observables as ob
from latentopt.physics import torch_physics as tp


@pytest.mark.parametrize("helicity", [0.0, np.pi / 2, np.pi])
@pytest.mark.parametrize("polarity", [-1, 1])
def test_isolated_skyrmion_charge(helicity, polarity):
    s = states.skyrmion(48, radius=12, helicity=helicity, polarity=polarity, center=(20.3, 25.6))
    assert ob.topological_charge(s) == pytest.approx(polarity, abs=1e-9)
    assert tp.topological_charge(torch.tensor(s[None])).item() == pytest.approx(polarity, abs=1e-5)


def test_skyrmion_sign_convention():
    """Core along -z in a +z background: W = -1 (documented convention)."""
    s = states.skyrmion(32, radius=8, polarity=-1)
    assert s[2, 16, 16] < -0.9 and s[2, 0, 0] == pytest.approx(1.0)
    assert ob.topological_charge(s) == pytest.approx(-1.0, abs=1e-9)


def test_two_skyrmions_add():
    a = states.skyrmion(64, radius=10, center=(16, 16))
    b = states.skyrmion(64, radius=10, center=(16, 16))
    s = a.copy()
    s[:, 32:, 32:] = b[:, :32, :32]  # second copy in the other quadrant
    assert ob.topological_charge(s) == pytest.approx(-2.0, abs=1e-9)


@pytest.mark.parametrize("n_periods", [1, 3, 7])
def test_spiral_and_ferromagnet_have_zero_charge(n_periods):
    for s in (states.spiral(32, n_periods), states.spiral(32, n_periods, "bulk", "y"), states.ferromagnet(32)):
        assert ob.topological_charge(s) == pytest.approx(0.0, abs=1e-9)


def test_charge_is_integer_and_rotation_invariant():
    rng = np.random.default_rng(0)
    s = states.random_states(4, 16, rng)
    w = ob.topological_charge(s)
    assert np.allclose(w, np.round(w), atol=1e-9)
    R = Rotation.random(random_state=1).as_matrix()
    rotated = np.einsum("ab,nbyx->nayx", R, s)
    assert np.allclose(ob.topological_charge(rotated), w, atol=1e-9)
    # a spatial reflection (x -> -x) flips the sign of a smooth texture (for rough states the
    # mirrored triangulation differs, so only smooth states are exactly odd)
    sk = states.skyrmion(32, radius=9, center=(13.2, 17.7))
    assert ob.topological_charge(sk[..., ::-1]) == pytest.approx(-ob.topological_charge(sk), abs=1e-9)


def test_magnetization_and_correlation_closed_forms():
    L, n = 32, 4
    q = 2 * np.pi * n / L
    s = states.spiral(L, n)
    assert ob.magnetization_z(s) == pytest.approx(0.0, abs=1e-12)
    assert ob.magnetization_z(states.ferromagnet(L, (0, 0.6, 0.8))) == pytest.approx(0.8)
    for ax in range(4):
        assert ob.correlation(s, (ax, 0)) == pytest.approx(np.cos(q * ax), abs=1e-12)
        assert ob.correlation(s, (0, ax)) == pytest.approx(1.0, abs=1e-12)


def test_boundary_correlation():
    L = 32
    ring = boundary.ring_map(L, radius=0.3, width=2.0, direction="radial_out")
    mask = np.linalg.norm(ring, axis=0) > 0
    assert mask.sum() > 20
    assert np.allclose(np.linalg.norm(ring[:, mask], axis=0), 1.0)
    assert ob.boundary_correlation(ring, ring) == pytest.approx(1.0)
    assert ob.boundary_correlation(-ring, ring) == pytest.approx(-1.0)
    up = boundary.ring_map(L, direction="up")
    assert ob.boundary_correlation(states.ferromagnet(L), up) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no site"):
        boundary.ring_map(16, radius=0.01, width=0.1)


def test_numba_and_torch_observables_agree():
    rng = np.random.default_rng(5)
    s = np.concatenate([states.random_states(2, 32, rng), states.skyrmion(32, 9)[None], states.spiral(32, 2)[None]])
    ring = boundary.ring_map(32, direction="radial_in")
    for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-5)):
        t = torch.tensor(s, dtype=dtype)
        assert np.abs(tp.magnetization_z(t).numpy() - ob.magnetization_z(s)).max() < tol
        assert np.abs(tp.correlation(t, (2, 1)).numpy() - ob.correlation(s, (2, 1))).max() < tol
        assert np.abs(tp.boundary_correlation(t, torch.tensor(ring, dtype=dtype)).numpy()
                      - ob.boundary_correlation(s, ring)).max() < tol
    assert np.abs(tp.topological_charge(torch.tensor(s)).numpy() - ob.topological_charge(s)).max() < 1e-10
    # float32 W: to 1e-5 on smooth textures (random states accumulate rounding over 2 L^2 triangles)
    smooth = s[2:]
    assert np.abs(tp.topological_charge(torch.tensor(smooth, dtype=torch.float32)).numpy()
                  - ob.topological_charge(smooth)).max() < 1e-5


def test_shipped_boundary_map_loads_and_matches_generator():
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    s = boundary.boundary_from_config({"file": "resources/boundary/ring_L64_radial_out.npy"}, 64, root=repo)
    assert np.allclose(s, boundary.ring_map(64, 0.35, 2.0, "radial_out"), atol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        boundary.boundary_from_config({"file": "resources/boundary/ring_L64_radial_out.npy"}, 32, root=repo)
