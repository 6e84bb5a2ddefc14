"""Structure factor, bond energies / seam check and requested-vs-realized statistics (upscaling studies)."""

from __future__ import annotations

import numpy as np
import pytest

from latentopt.fidelity import compare_requested_realized, ks_distance
from latentopt.physics.hamiltonian import ChiralMagnet, energy_density, spiral_energy
from latentopt.physics.periodicity import bond_energies, seam_bonds, seam_check
from latentopt.physics.states import ferromagnet, random_states, skyrmion, spiral
from latentopt.physics.structure_factor import (peak_wavenumber, radial_profile, star_shares, structure_factor,
                                                zone_boundary_weight)


# --- structure factor ------------------------------------------------------------------

@pytest.mark.parametrize("n_periods,axis", [(1, "x"), (3, "y"), (5, "x")])
def test_structure_factor_of_spiral(n_periods, axis):
    L = 32
    s = spiral(L, n_periods, axis=axis)
    sq = structure_factor(s)
    N = L * L
    k = n_periods % L
    peak = (0, k) if axis == "x" else (k, 0)
    neg = (0, -k % L) if axis == "x" else (-k % L, 0)
    assert sq[peak] == pytest.approx(N / 2) and sq[neg] == pytest.approx(N / 2)
    rest = sq.copy()
    rest[peak] = rest[neg] = 0.0
    assert np.abs(rest).max() < 1e-9
    assert sq.sum() == pytest.approx(N)  # Parseval for unit spins
    assert peak_wavenumber(sq) == pytest.approx(2 * np.pi * n_periods / L, abs=1e-12)


def test_structure_factor_diagonal_spiral_and_ferromagnet():
    L = 16
    y, x = np.mgrid[0:L, 0:L]
    theta = 2 * np.pi * (x + y) / L  # q = (1, 1) 2 pi / L
    s = np.stack([np.sin(theta), np.zeros_like(theta), np.cos(theta)])
    assert peak_wavenumber(structure_factor(s)) == pytest.approx(np.sqrt(2) * 2 * np.pi / L, abs=1e-12)
    fm = structure_factor(ferromagnet(L))
    assert fm[0, 0] == pytest.approx(L * L) and np.abs(fm).sum() == pytest.approx(L * L)


@pytest.mark.parametrize("n", [(2, 1), (1, 2), (-3, 1), (4, 0), (0, -5), (2, 2), (8, 3)])
def test_star_shares_put_a_single_q_spiral_on_its_star(n):
    from latentopt.physics.states import commensurate_spiral

    L = 16
    s = commensurate_spiral(L, n)
    stars, shares = star_shares(structure_factor(s))
    assert tuple(stars[0]) == (max(abs(n[0]), abs(n[1])), min(abs(n[0]), abs(n[1])))
    assert shares[0] == pytest.approx(1.0, abs=1e-12)
    # the same state with the lattice axes swapped (a mirror): the same star
    stars_t, shares_t = star_shares(structure_factor(np.swapaxes(s, -1, -2)))
    np.testing.assert_array_equal(stars_t[:1], stars[:1])
    assert shares_t[0] == pytest.approx(1.0, abs=1e-12)


def test_star_shares_closed_form_and_errors():
    L = 8
    sq = np.zeros((L, L))
    sq[0, 0] = 50.0             # q = 0: a net magnetization, not counted
    sq[0, 2] = sq[0, -2] = 1.5  # (0, +-2): star (2, 0)
    sq[1, -3] = 0.5             # (n_y, n_x) = (1, -3): star (3, 1)
    sq[-3, 1] = 0.5             # (-3, 1): star (3, 1) too
    stars, shares = star_shares(sq)
    np.testing.assert_array_equal(stars, [[2, 0], [3, 1]])
    np.testing.assert_allclose(shares, [0.75, 0.25])
    sq[4, 4] = 4.0              # the zone corner (pi, pi): star (4, 4), now the largest
    stars, shares = star_shares(sq)
    np.testing.assert_array_equal(stars[0], [4, 4])
    assert shares.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="square"):
        star_shares(np.ones((4, 6)))
    with pytest.raises(ValueError, match="no weight"):
        star_shares(structure_factor(ferromagnet(8)))


def test_structure_factor_batch_average_and_radial_profile():
    rng = np.random.default_rng(0)
    s = random_states(5, 8, rng)
    per = structure_factor(s)
    assert per.shape == (5, 8, 8)
    np.testing.assert_allclose(structure_factor(s, average=True, batch_size=2), per.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(per.sum(axis=(1, 2)), 64.0, rtol=1e-12)
    q, prof = radial_profile(per)
    assert prof.shape == (5, len(q)) and np.all(np.diff(q) > 0) and q[0] == 0.0
    with pytest.raises(ValueError, match="spins"):
        structure_factor(np.zeros((2, 8, 8)))


# --- bond energies and seam check ------------------------------------------------------

@pytest.mark.parametrize("dmi", ["interfacial", "bulk"])
def test_bond_energies_sum_to_energy(dmi):
    model = ChiralMagnet(L=12, D=0.3, dmi=dmi)
    s = skyrmion(12, 4.0)
    ex, ey = bond_energies(s, model)
    assert (ex.sum() + ey.sum()) == pytest.approx(energy_density(s, model).sum(), abs=1e-10)
    sp = spiral(16, 2, dmi=dmi)
    ex, ey = bond_energies(sp, ChiralMagnet(L=16, D=0.3, dmi=dmi))
    q = 2 * np.pi * 2 / 16
    # a cycloid along x: every +x bond carries -J cos q - D sin q, every +y bond -J
    np.testing.assert_allclose(ex, -np.cos(q) - 0.3 * np.sin(q), atol=1e-12)
    np.testing.assert_allclose(ey, -1.0, atol=1e-12)
    assert (ex.mean() + ey.mean()) == pytest.approx(spiral_energy(q, 1.0, 0.3))


def _spirals(L: int, periods: float, n: int, seed: int = 0) -> np.ndarray:
    """Cycloids along x with ``periods`` turns across the lattice and random phases."""
    rng = np.random.default_rng(seed)
    x = np.arange(L)[None, :] * np.ones((L, 1))
    out = []
    for _ in range(n):
        theta = 2 * np.pi * periods * x / L + rng.uniform(0, 2 * np.pi)
        out.append(np.stack([np.sin(theta), np.zeros_like(theta), np.cos(theta)]))
    return np.array(out)


def test_seam_check_periodic_state_has_no_excess():
    model = ChiralMagnet(L=16)
    res = seam_check(_spirals(16, 2, 20), model)  # commensurate: periodic by construction
    assert res["seam_ks"] == pytest.approx(0.0, abs=1e-12)
    assert res["seam_excess"] == pytest.approx(0.0, abs=1e-12)
    # a thermal-like ensemble invariant under half-lattice translations: no excess either
    rng = np.random.default_rng(1)
    noisy = random_states(400, 16, rng)
    res = seam_check(noisy, model)
    assert res["seam_ks"] < 0.05 and abs(res["seam_excess"]) < 4 * res["seam_excess_se"]


def test_seam_check_detects_a_seam():
    model = ChiralMagnet(L=16)
    # 2.5 turns: the phase jumps by pi across the boundary, a domain wall on the seam only
    s = _spirals(16, 2.5, 20)
    seam, control = seam_bonds(s, model)
    assert seam.shape == control.shape == (20, 32)
    res = seam_check(s, model)
    # seam +x bonds: the step is q + pi, energy +cos q + D sin q instead of -(cos q + D sin q);
    # half the seam bonds are +x bonds, so the mean excess is cos q + D sin q
    q = 2 * np.pi * 2.5 / 16
    assert res["seam_excess"] == pytest.approx(np.cos(q) + 0.3 * np.sin(q), abs=1e-12)
    assert res["seam_ks"] == pytest.approx(0.5) and res["seam_p"] < 1e-3
    # the same wall moved onto the middle line: the sign flips
    res2 = seam_check(np.roll(s, 8, axis=-1), model)
    assert res2["seam_excess"] == pytest.approx(-res["seam_excess"], abs=1e-12)
    with pytest.raises(ValueError, match="even"):
        seam_bonds(np.ones((1, 3, 5, 6)), model)


# --- requested vs realized -------------------------------------------------------------

def test_compare_requested_realized():
    rng = np.random.default_rng(0)
    req = rng.uniform(-2, -0.5, 4000)
    same = compare_requested_realized(req, req)
    assert same["ks"] == 0.0 and same["p_value"] == pytest.approx(1.0) and same["pearson_r"] == pytest.approx(1.0)
    assert same["mae"] == 0.0
    shifted = compare_requested_realized(req, req + 0.3)
    assert shifted["ks"] == pytest.approx(0.2, abs=0.03) and shifted["bias"] == pytest.approx(0.3)
    assert shifted["pearson_r"] == pytest.approx(1.0) and shifted["p_value"] < 1e-10
    # same marginal, no pairing: KS small, r ~ 0
    perm = compare_requested_realized(req, rng.permutation(req))
    assert perm["ks"] == 0.0 and abs(perm["pearson_r"]) < 0.1 and perm["mae"] > 0.3
    # the coldest decile: 400 of 4000 pairs realized 0.1 too warm, the rest exact
    cold = np.argsort(req)[:400]
    warm_end = req.copy()
    warm_end[cold] += 0.1
    m = compare_requested_realized(req, warm_end)
    assert m["cold_decile_bias"] == pytest.approx(0.1) and m["bias"] == pytest.approx(0.01)
    assert shifted["cold_decile_bias"] == pytest.approx(0.3)
    assert ks_distance(req, req + 10)["ks"] == 1.0
    with pytest.raises(ValueError, match="requested"):
        compare_requested_realized(req, req[:-1])


def test_decile_bias_at_either_end():
    """The hottest tenth is the coldest of the negated values; 11 pairs make a decile of 2 (ceil)."""
    from latentopt.fidelity import decile_bias

    req = np.arange(11.0)
    real = req + np.r_[0.5, 0.3, np.zeros(7), -0.2, -0.4]
    assert decile_bias(req, real, "cold") == pytest.approx(0.4)
    assert decile_bias(req, real, "hot") == pytest.approx(-0.3)
    assert decile_bias(req, real, "hot") == pytest.approx(-decile_bias(-req, -real, "cold"))
    assert decile_bias(req, real) == compare_requested_realized(req, real)["cold_decile_bias"]
    with pytest.raises(ValueError, match="end"):
        decile_bias(req, real, "middle")
    with pytest.raises(ValueError, match="equal length"):
        decile_bias(req, real[:-1])


def test_calibration_inverts_a_monotone_bias():
    from latentopt.fidelity import fit_calibration, invert_calibration

    rng = np.random.default_rng(1)
    labels = rng.uniform(-2.0, -0.5, 5000)

    def g(x):  # a wavy but increasing systematic map, plus noise
        return x + 0.08 * np.sin(3 * x) + 0.05

    realized = g(labels) + rng.normal(0, 0.02, labels.size)
    table = fit_calibration(labels, realized, n_knots=48)
    assert np.all(np.diff(table["realized"]) >= 0) and len(table["label"]) == 48
    targets = np.linspace(-1.8, -0.6, 50)
    fed = invert_calibration(table, targets)
    np.testing.assert_allclose(g(fed), targets, atol=0.01)
    # a flat table maps every target to the middle label; out-of-range targets are clipped
    flat = {"label": [-2.0, -1.0, 0.0], "realized": [1.0, 1.0, 1.0]}
    np.testing.assert_allclose(invert_calibration(flat, [0.0, 5.0]), [-1.0, -1.0])
    assert invert_calibration(table, [-10.0])[0] == pytest.approx(table["label"][0])
    with pytest.raises(ValueError, match="table"):
        invert_calibration({"label": [0.0, 1.0], "realized": [1.0, 0.0]}, [0.5])


def test_calibration_labels_extend_beyond_the_training_range():
    from latentopt.conditioned_generation import calibration_labels, requested_labels

    data = {"energy": np.linspace(-2.0, -0.8, 40)}
    inside = calibration_labels(data, 100, 5)
    np.testing.assert_array_equal(inside, requested_labels(data, 100, 5)["requested"])
    labels = calibration_labels(data, 100, 5, extend=0.5)
    assert labels.shape == (150,)
    np.testing.assert_array_equal(labels[:100], inside)  # the in-range draws first, the same
    below, above = labels[100:125], labels[125:]
    assert np.all((below >= -2.5) & (below < -2.0)) and np.all((above > -0.8) & (above <= -0.3))
    assert below.std() > 0.1 and above.std() > 0.1  # spread over the stretch, not piled at one end
    for bad in ({"n": 1}, {"extend": -0.1}, {"extend": float("nan")}):
        with pytest.raises(ValueError, match="calibration_"):
            calibration_labels(data, **{"n": 100, "seed": 5, **bad})


@pytest.mark.parametrize("calibration_n,scale,extend", [(1000, 1, 0.5), (1000, 4, 0.5), (1000, 4, 0.0), (50, 4, 0.3),
                                                        (103, 1, 0.1)])
def test_calibration_sizes_are_what_the_workflow_and_the_cluster_estimate_use(calibration_n, scale, extend):
    """The draws per scale and the label count: the same numbers in the generation step and the hooks' estimate."""
    from latentopt.conditioned_generation import calibration_draws, calibration_labels, calibration_size
    from latentopt.studies.hooks.upscaling import generate_scale

    n = calibration_draws(calibration_n, scale)
    assert n == max(32, calibration_n // scale)
    data = {"energy": np.linspace(-2.0, -0.8, 40)}
    size = calibration_size(n, extend)
    assert len(calibration_labels(data, n, 1, extend)) == size == n + (2 * (n // 4) if extend else 0)
    study = {"system": {"L": 16}, "evaluate": {"scales": sorted({1, scale}), "n_generate": 2000, "calibrate": True,
                                              "calibration_n": calibration_n, "calibration_extend": extend}}

    def uncalibrated(n_generate):  # the same estimate for as many states, all requested
        return generate_scale({**study, "evaluate": {**study["evaluate"], "calibrate": False,
                                                     "n_generate": n_generate}})

    assert generate_scale(study) == uncalibrated(2000 + size)
    assert generate_scale(study)["mem_mb"] < uncalibrated(2000 + size + 500)["mem_mb"]  # the check can fail


def test_extended_calibration_meets_requests_the_training_labels_cannot():
    """A generator realizing every label 0.1 J too warm meets the coldest requests only by labels below the range."""
    from latentopt.conditioned_generation import calibration_labels
    from latentopt.fidelity import fit_calibration, invert_calibration

    rng = np.random.default_rng(2)
    data = {"energy": rng.uniform(-2.0, -0.8, 2000)}

    def g(x):  # the generator's mean response, monotone; it answers labels beyond the training range too
        return x + 0.1

    targets = np.sort(data["energy"])[:200]  # the coldest decile of requests
    biases = {}
    for extend in (0.0, 0.5):
        labels = calibration_labels(data, 2000, 3, extend)
        table = fit_calibration(labels, g(labels) + rng.normal(0, 0.01, labels.size), n_knots=64)
        biases[extend] = float(np.mean(g(invert_calibration(table, targets)) - targets))
    # clipped at the coldest training label, which realizes -1.9: the decile's mean (-1.94) 0.04 J too warm
    assert biases[0.0] > 0.03
    assert abs(biases[0.5]) < 0.005


def test_profile_agreement_counts_the_shells_within_tolerance():
    from latentopt.heatbath_comparison import profile_agreement

    ref = np.array([9.0, 4.0, 2.0, 1.0, 0.5])
    same = profile_agreement(ref, ref)
    assert same == {"sq_shells_within": 1.0, "sq_max_deviation": 0.0, "sq_tolerance": 0.1}
    # shell 0 (|q| = 0, off by a factor 9) is not counted; shells 1-4 off by +5 %, -20 %, +8 %, +50 %
    got = profile_agreement(np.array([1.0, 4.2, 1.6, 1.08, 0.75]), ref)
    assert got["sq_shells_within"] == 0.5 and got["sq_max_deviation"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="s_reference"):
        profile_agreement(ref, np.array([1.0, 0.0, 1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="one length"):
        profile_agreement(ref, ref[:-1])


def test_zone_boundary_weight_sees_a_sublattice_pattern():
    L = 8
    checker = np.ones((3, L, L)) * np.array([0.0, 0.0, 1.0])[:, None, None]
    y, x = np.mgrid[0:L, 0:L]
    checker[2] = np.where((x + y) % 2, -1.0, 1.0)  # Neel antiferromagnet: all weight at (pi, pi)
    assert zone_boundary_weight(structure_factor(checker)) == pytest.approx(L * L / 3)
    assert zone_boundary_weight(structure_factor(ferromagnet(L))) == pytest.approx(0.0, abs=1e-12)
