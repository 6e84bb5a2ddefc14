"""latentopt.metrics against hand-computed values: collinear states and constant SSIM windows have closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from latentopt.metrics import reconstruction_ssim, set_metrics
from latentopt.physics import states
from latentopt.physics.hamiltonian import ChiralMagnet

L = 8
J, K, BZ = 1.0, 0.05, 0.02
MODEL = ChiralMagnet(L=L, J=J, D=0.3, K=K, B=(0.0, 0.0, BZ))


def _flipped(L: int = L) -> np.ndarray:
    """The +z ferromagnet with the spin at (y, x) = (2, 3) reversed."""
    s = states.ferromagnet(L)
    s[:, 2, 3] = (0.0, 0.0, -1.0)
    return s


def test_collinear_states_closed_form():
    """Collinear states have no DMI energy (s_i x s_j = 0), so the densities follow from J, K and B alone.

    Each bond's energy is split half to each site (docs/design.md): the +z ferromagnet has
    ``-2J - K - B_z`` everywhere; a reversed spin has four antiparallel bonds (+J each) and
    ``+B_z``, so ``2J - K + B_z`` at its site, ``-J - K - B_z`` at its four neighbours
    (three -J bonds and one +J bond, halved), and the energy per spin rises by
    ``(8J + 2B_z) / L^2``.
    """
    e_up = -2 * J - K - BZ
    e_flip = e_up + (8 * J + 2 * BZ) / L**2
    out = set_metrics(np.stack([states.ferromagnet(L), _flipped()]), MODEL, nodal_threshold=-1.5)
    assert out["n"] == 2
    assert out["energy_mean"] == pytest.approx((e_up + e_flip) / 2, abs=1e-12)
    assert out["energy_std"] == pytest.approx((e_flip - e_up) / 2, abs=1e-12)  # population std of two values
    assert (out["energy_min"], out["energy_max"]) == pytest.approx((e_up, e_flip), abs=1e-12)
    assert out["max_local_energy_density"] == pytest.approx(2 * J - K + BZ, abs=1e-12)
    # threshold -1.5 lies between -J - K - B_z = -1.07 and -2J - K - B_z = -2.07: the site and its 4 neighbours
    assert (out["nodal_points_min"], out["nodal_points_max"]) == (0.0, 5.0)
    assert (out["nodal_points_mean"], out["nodal_points_std"]) == (2.5, 2.5)
    assert out["states_with_nodal_points"] == 1
    mz_flip = 1 - 2 / L**2
    assert (out["Mz_min"], out["Mz_max"]) == pytest.approx((mz_flip, 1.0), abs=1e-15)
    assert out["Mz_mean"] == pytest.approx((1 + mz_flip) / 2, abs=1e-15)


@pytest.mark.parametrize("threshold,expected", [(0.0, 1), (-1.5, 5), (-2.1, L * L), (-2.0, 5), (2.0, 0)])
def test_nodal_points_count_sites_above_the_threshold(threshold, expected):
    """Densities of the reversed spin: 1.97 (1 site), -1.07 (4 sites), -2.07 (the other L^2 - 5 sites)."""
    out = set_metrics(_flipped(), MODEL, nodal_threshold=threshold)
    assert out["nodal_points_mean"] == expected
    assert out["states_with_nodal_points"] == int(expected > 0)


def test_topological_charge_statistics():
    """A skyrmion with its core along -z has W = -1 (states.skyrmion), a ferromagnet W = 0."""
    out = set_metrics(np.stack([states.skyrmion(L, 3.0), states.ferromagnet(L)]), MODEL, nodal_threshold=0.0)
    assert (out["W_min"], out["W_max"]) == pytest.approx((-1.0, 0.0), abs=1e-9)
    assert (out["W_mean"], out["W_std"]) == pytest.approx((-0.5, 0.5), abs=1e-9)


def test_single_state_and_chunks():
    """A (3, L, L) state counts as a set of one; the result does not depend on the chunk size."""
    one = set_metrics(_flipped(), MODEL, nodal_threshold=-1.5)
    assert one["n"] == 1 and one["energy_std"] == 0.0 and one["energy_min"] == one["energy_max"]
    rng = np.random.default_rng(0)
    spins = rng.normal(size=(7, 3, L, L))
    spins /= np.linalg.norm(spins, axis=1, keepdims=True)
    whole = set_metrics(spins, MODEL, nodal_threshold=-0.5)
    for chunk in (1, 3, 7):
        assert set_metrics(spins, MODEL, nodal_threshold=-0.5, chunk=chunk) == pytest.approx(whole, abs=1e-12)


def _ssim_constant(a: float, b: float, data_range: float = 2.0) -> float:
    """SSIM of two constant images: the contrast-structure factor is (0 + C2)/(0 + C2) = 1, so
    ``(2ab + C1) / (a^2 + b^2 + C1)`` with ``C1 = (0.01 data_range)^2`` (Wang et al. 2004, Eq. 13)."""
    c1 = (0.01 * data_range) ** 2
    return (2 * a * b + c1) / (a * a + b * b + c1)


@pytest.mark.parametrize("theta", [0.0, 0.3, math.pi / 2, math.pi])
def test_ssim_of_uniform_states_closed_form(theta):
    """+z against the uniform state (sin theta, 0, cos theta): the mean over the three channels."""
    a = states.ferromagnet(L)[None]
    b = states.ferromagnet(L, (math.sin(theta), 0.0, math.cos(theta)))[None]
    expected = (_ssim_constant(0.0, math.sin(theta)) + 1.0 + _ssim_constant(1.0, math.cos(theta))) / 3
    got = reconstruction_ssim(a, b)
    assert got.shape == (1,) and got[0] == pytest.approx(expected, abs=1e-12)


def test_ssim_is_one_for_a_perfect_reconstruction_and_per_state():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 3, L, L))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(reconstruction_ssim(x, x), 1.0, atol=1e-12)
    y = x.copy()
    y[1] = states.ferromagnet(L)
    got = reconstruction_ssim(x, y)
    assert got[0] == pytest.approx(1.0, abs=1e-12) and got[2] == pytest.approx(1.0, abs=1e-12) and got[1] < 0.5
    assert reconstruction_ssim(x, y)[1] == pytest.approx(reconstruction_ssim(x[1:2], y[1:2])[0], abs=0)


@pytest.mark.parametrize("a_shape,b_shape", [((2, 3, L, L), (3, 3, L, L)), ((3, L, L), (3, L, L))])
def test_ssim_rejects_mismatched_or_single_states(a_shape, b_shape):
    with pytest.raises(ValueError, match="reconstruction_ssim"):
        reconstruction_ssim(np.zeros(a_shape), np.zeros(b_shape))
