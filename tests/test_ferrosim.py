"""FerroSIM physics against closed forms and invariants (latentopt.physics.ferrosim)."""

import math

import numba
import numpy as np
import pytest

from latentopt.families import sample_training_set
from latentopt.physics.ferrosim import (FerroSim, coercive_field, curl, curl_objective, defect_fields,
                                        ferrosim_coercive_field, field_unit_value, force, free_energy,
                                        initial_polarization, neighbour_table, remanent_polarization, self_coupling,
                                        simulate)
from latentopt.studies.trajectories import FerroSimSetup, evaluate_fields


def test_coercive_field_is_the_turning_point_of_the_landau_curve():
    a1, a2 = -1.6, 12.2
    p = np.linspace(0, remanent_polarization(a1, a2), 200001)
    E_needed = -(2 * a1 * p + 4 * a2 * p ** 3)  # field holding p in equilibrium, sign flipped
    assert coercive_field(a1, a2) == pytest.approx(E_needed.max(), rel=1e-9)
    assert remanent_polarization(a1, a2) == pytest.approx(math.sqrt(1.6 / 24.4))
    with pytest.raises(ValueError, match="double well"):
        coercive_field(1.0, 1.0)


@pytest.mark.parametrize("N", [1, 4])
@pytest.mark.parametrize("field, switches", [(-0.97, False), (-1.03, True)])
def test_static_switching_at_the_landau_coercive_field(N, field, switches):
    """A uniform state poled along +x survives -0.97 E_c and switches at -1.03 E_c (no defects)."""
    model = FerroSim(N=N, field_direction=(1.0, 0.0), gamma=1.0, dt=0.01, K=1.0, alpha_dep=0.0)
    p0 = np.zeros((2, N, N))
    p0[0] = model.P_r
    p = simulate(model, np.full(20000, field), p0)
    assert np.all(p[0] < 0) == switches
    assert np.all(p[0] > 0) == (not switches)
    assert np.allclose(p[1], 0)


def test_slow_hysteresis_loop_switches_at_plus_minus_E_c():
    """A slow triangular field sweep 0 -> -1.5 -> +1.5 E_c switches within 3% of -E_c and +E_c."""
    model = FerroSim(N=1, field_direction=(1.0, 0.0), gamma=1.0, dt=0.01)
    down = np.linspace(0, -1.5, 60000)
    field = np.concatenate([down, np.linspace(-1.5, 1.5, 120000)])
    p0 = np.array([model.P_r, 0.0]).reshape(2, 1, 1)
    _, mean = simulate(model, field, p0, return_mean=True)
    px = mean[:, 0]
    first_down = np.argmax(px < 0)
    first_up = len(down) + np.argmax(px[len(down):] > 0)
    assert field[first_down] == pytest.approx(-1.0, abs=0.03)
    assert field[first_up] == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize("boundary", ["periodic", "open", "ferrosim"])
def test_force_is_minus_the_gradient_of_the_free_energy(boundary):
    model = FerroSim(N=5, boundary=boundary, K=1.3, alpha_dep=0.4, field_direction=(0.6, 0.8))
    rng = np.random.default_rng(0)
    p = 0.3 * rng.standard_normal((2, 5, 5))
    d = defect_fields(5, 0.4, 2.0, seed=1)
    f = force(model, p, field=0.7, defects=d)
    h = 1e-6
    for idx in [(0, 0, 0), (1, 0, 4), (0, 2, 2), (1, 4, 1), (0, 4, 4)]:
        e = np.zeros_like(p)
        e[idx] = h
        numeric = -(free_energy(model, p + e, 0.7, d) - free_energy(model, p - e, 0.7, d)) / (2 * h)
        assert f[idx] == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_periodic_coupling_is_K_times_deviation_from_neighbour_mean():
    """FerroSim's coupling force: -K (p_i - sum_j p_j / 4) on a periodic lattice."""
    model = FerroSim(N=4, K=2.0, alpha1=-1.0, alpha2=1.0, alpha3=0.0)
    p = np.zeros((2, 4, 4))
    p[0, 1, 2] = 0.1  # one displaced site; its neighbours feel K * 0.1 / 4
    f = force(model, p)
    landau = -(2 * model.alpha1 * 0.1 + 4 * model.alpha2 * 0.1 ** 3)
    assert f[0, 1, 2] == pytest.approx(landau - 2.0 * 0.1)
    for y, x in [(1, 3), (1, 1), (0, 2), (2, 2)]:
        assert f[0, y, x] == pytest.approx(2.0 * 0.1 / 4)


def test_neighbour_table_open_boundary_counts():
    nbr, w = neighbour_table(3, "open")
    counts = (nbr >= 0).sum(axis=1).reshape(3, 3)
    assert counts.tolist() == [[2, 3, 2], [3, 4, 3], [2, 3, 2]]
    corner, edge = 0, 1  # (0,0) and (0,1) are neighbours along +x
    k = list(nbr[corner]).index(edge)
    assert w[corner, k] == pytest.approx(0.5 * (1 / 2 + 1 / 3))
    nbr_p, w_p = neighbour_table(3, "periodic")
    assert (nbr_p >= 0).all() and np.allclose(w_p, 0.25)


def test_ferrosim_coercive_field_and_the_ratio_of_the_units():
    """FerroSim's Ec is the turning point of alpha1 p + alpha2 p^3; the tetragonal E_c is sqrt(2) times it."""
    a1, a2 = -1.6, 12.2
    p = np.linspace(0, math.sqrt(-a1 / a2), 200001)
    assert ferrosim_coercive_field(a1, a2) == pytest.approx(-(a1 * p + a2 * p ** 3).min(), rel=1e-9)
    assert ferrosim_coercive_field(a1, a2) == pytest.approx(0.223022239355, rel=1e-10)  # FerroSim's Ec, tetragonal
    for a1, a2 in [(-1.6, 12.2), (-0.3, 2.0), (-10.6, 10.2)]:
        assert coercive_field(a1, a2) / ferrosim_coercive_field(a1, a2) == pytest.approx(math.sqrt(2), rel=1e-14)
        assert field_unit_value("E_c", a1, a2) == coercive_field(a1, a2)
        assert field_unit_value("ferrosim_Ec", a1, a2) == ferrosim_coercive_field(a1, a2)
    assert FerroSim(N=2, field_unit="ferrosim_Ec").field_unit_value == ferrosim_coercive_field(-1.6, 12.2)
    assert FerroSim(N=2).field_unit_value == FerroSim(N=2).E_c
    with pytest.raises(ValueError, match="field_unit"):
        FerroSim(N=2, field_unit="kV/cm")
    with pytest.raises(ValueError, match="double well"):
        ferrosim_coercive_field(0.5, 1.0)


def test_static_switching_in_ferrosim_units():
    """In FerroSim's unit the same site switches between 0.97 sqrt(2) and 1.03 sqrt(2) Ec_fs."""
    model = FerroSim(N=1, field_direction=(1.0, 0.0), gamma=1.0, dt=0.01, field_unit="ferrosim_Ec")
    p0 = np.array([model.P_r, 0.0]).reshape(2, 1, 1)
    assert simulate(model, np.full(20000, -0.97 * math.sqrt(2)), p0)[0, 0, 0] > 0
    assert simulate(model, np.full(20000, -1.03 * math.sqrt(2)), p0)[0, 0, 0] < 0


def test_field_units_give_the_same_trajectories_when_the_ranges_are_scaled():
    """A study in FerroSim's unit with field ranges and defect strengths times sqrt(2) is the E_c study."""
    r2 = math.sqrt(2)
    lecture = {"A": [0.0, 0.75], "alpha": [-2.75, 2.75], "omega": [2 * math.pi, 8 * math.pi / 3], "B": [-0.5, 0.5]}
    scaled = {**lecture, "A": [0.0, 0.75 * r2], "B": [-0.5 * r2, 0.5 * r2]}
    maps = {}
    for unit, ranges, strength in [("E_c", lecture, 2.0), ("ferrosim_Ec", scaled, 2.0 * r2)]:
        system = {"model": "ferrosim", "N": 6, "gamma": 5.0, "dt": 1 / 1800, "substeps": 2, "field_unit": unit,
                  "defects": {"fraction": 0.3, "strength": strength}, "seed": 5}
        # float64 histories: train.h5 stores float32, whose rounding would differ by 1e-8 between the two
        fields = sample_training_set({"damped_sine": {"ranges": ranges}}, 6, 120, seed=3)["trajectories"]
        maps[unit] = evaluate_fields(FerroSimSetup.from_config(system), fields,
                                     {"name": "curl", "equilibration": 10, "eps": 1e-3}, return_states=True)
    a, b = maps["E_c"], maps["ferrosim_Ec"]
    assert np.abs(a["p"]).max() > 0.1 and np.ptp(a["y"]) > 0  # the histories did something different
    assert np.allclose(a["p"], b["p"], rtol=0, atol=1e-12)
    assert np.allclose(a["y"], b["y"], rtol=1e-10)


def test_ferrosim_lattice_force_by_hand_on_3x3():
    """FerroSim's open lattice: coupling -K (p_i - sum_{existing j} p_j / 4), as if missing neighbours were p = 0."""
    K, a1, a2 = 2.0, -1.0, 1.0
    model = FerroSim(N=3, K=K, alpha1=a1, alpha2=a2, alpha3=0.0, boundary="ferrosim")
    p = np.zeros((2, 3, 3))
    p[0] = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]]  # rows y, columns x
    p[1] = -0.5 * p[0]
    f = force(model, p)

    def landau(v):
        return -(2 * a1 * v + 4 * a2 * v ** 3)

    # corner (y, x) = (0, 0): neighbours (0, 1) = 0.2 and (1, 0) = 0.4 -> K (0.1 - 0.6 / 4) = -0.05 K
    assert f[0, 0, 0] == pytest.approx(landau(0.1) - K * (0.1 - 0.6 / 4), abs=1e-15)
    # edge (0, 1): neighbours 0.1, 0.3, 0.5 -> K (0.2 - 0.9 / 4)
    assert f[0, 0, 1] == pytest.approx(landau(0.2) - K * (0.2 - 0.9 / 4), abs=1e-15)
    # centre (1, 1): neighbours 0.4, 0.6, 0.2, 0.8 -> K (0.5 - 2.0 / 4) = 0
    assert f[0, 1, 1] == pytest.approx(landau(0.5), abs=1e-15)
    # corner (2, 2): neighbours 0.8, 0.6 -> K (0.9 - 1.4 / 4)
    assert f[0, 2, 2] == pytest.approx(landau(0.9) - K * (0.9 - 1.4 / 4), abs=1e-15)
    # the y channel is the same construction at -0.5 p
    assert f[1, 0, 0] == pytest.approx(landau(-0.05) + 0.5 * K * (0.1 - 0.6 / 4), abs=1e-15)
    # the same map on the other lattices differs at the edges only
    assert force(FerroSim(N=3, K=K, alpha1=a1, alpha2=a2, alpha3=0.0, boundary="open"), p)[0, 0, 0] == pytest.approx(
        landau(0.1) - K * (0.5 * (1 / 2 + 1 / 3) * (0.1 - 0.2) + 0.5 * (1 / 2 + 1 / 3) * (0.1 - 0.4)), abs=1e-15)


def test_ferrosim_lattice_tables_and_energy():
    nbr, w = neighbour_table(3, "ferrosim")
    assert np.array_equal(nbr, neighbour_table(3, "open")[0])
    assert np.array_equal(w, np.where(nbr >= 0, 0.25, 0.0))
    assert self_coupling(3, "ferrosim").reshape(3, 3).tolist() == [[0.5, 0.25, 0.5], [0.25, 0.0, 0.25],
                                                                    [0.5, 0.25, 0.5]]
    assert not self_coupling(3, "periodic").any() and not self_coupling(3, "open").any()
    # F_K = (K/2) sum |p_i|^2 - (K/4) sum_bonds p_i . p_j: a uniform map costs K/8 per missing neighbour
    model = FerroSim(N=4, K=3.0, boundary="ferrosim")
    p = np.zeros((2, 4, 4))
    p[0], p[1] = 0.3, -0.1
    no_coupling = free_energy(FerroSim(N=4, K=0.0, boundary="ferrosim"), p)
    assert free_energy(model, p) - no_coupling == pytest.approx(3.0 / 8 * 16 * (0.3 ** 2 + 0.1 ** 2))


@pytest.mark.parametrize("boundary", ["periodic", "open", "ferrosim"])
def test_stability_bound_covers_the_largest_curvature(boundary):
    """gamma dt lambda_max of the Hessian (from finite differences of the force) stays below the bound."""
    model = FerroSim(N=3, K=1000.0, boundary=boundary, alpha_dep=0.5)
    p = np.zeros((2, 3, 3))
    h = 1e-6
    H = np.empty((18, 18))
    for k in range(18):
        e = np.zeros(18)
        e[k] = h
        H[:, k] = -(force(model, p + e.reshape(2, 3, 3)) - force(model, p - e.reshape(2, 3, 3))).ravel() / (2 * h)
    lam = np.linalg.eigvalsh(0.5 * (H + H.T)).max()
    assert model.gamma * model.dt * lam <= model.stability(0.0)
    if boundary == "open":  # a site of an open lattice next to an edge couples more strongly than 2K in all
        assert lam > 2 * model.K + 2 * model.alpha1


@pytest.mark.parametrize("boundary", ["periodic", "open", "ferrosim"])
def test_free_energy_never_increases_at_constant_field(boundary):
    """Gradient flow: F decreases monotonically at zero applied field (defects and depolarization on)."""
    model = FerroSim(N=8, boundary=boundary, alpha_dep=0.5, K=1.0, gamma=5.0, dt=1 / 1800)
    d = defect_fields(8, 0.3, 2.0, seed=2)
    p = initial_polarization(model, "random", seed=3)
    energies = [free_energy(model, p, 0.0, d)]
    for _ in range(300):
        p = simulate(model, np.zeros(1), p, d)
        energies.append(free_energy(model, p, 0.0, d))
    steps = np.diff(energies)
    assert np.all(steps <= 1e-12 * abs(energies[0]))
    assert energies[-1] < energies[0] - 1e-3


def test_curl_of_uniform_field_is_zero_and_vortex_sign():
    N = 16
    uniform = np.zeros((2, N, N))
    uniform[0], uniform[1] = 0.3, -0.2
    for boundary in ("periodic", "open"):
        assert np.allclose(curl(uniform, boundary), 0)
    # counter-clockwise vortex p = (-(y - c), x - c): curl = +2 (open; exact for a linear field)
    y, x = np.mgrid[0:N, 0:N] - (N - 1) / 2
    vortex = np.stack([-y, x])
    assert np.allclose(curl(vortex, "open"), 2.0)
    assert np.allclose(curl(vortex[:, :, :], "open") * -1, curl(np.stack([y, -x]), "open"))
    # periodic: p = (-sin(k y), sin(k x)) has central-difference curl sin(k) (cos(k x) + cos(k y))
    k = 2 * np.pi / N
    yy, xx = np.mgrid[0:N, 0:N]
    p = np.stack([-np.sin(k * yy), np.sin(k * xx)])
    assert np.allclose(curl(p, "periodic"), np.sin(k) * (np.cos(k * xx) + np.cos(k * yy)))
    assert curl(p, "periodic")[0, 0] > 0


def test_ferrosim_curl_wraps_and_the_axis_relation_to_calc_curl():
    """FerroSim's calc_curl: VxF[i, j] = ((P_y[i+1, j] - P_y[i-1, j]) - (P_x[i, j+1] - P_x[i, j-1])) / 2, indices
    wrapping, axis -2 as x. It is latentopt's curl of the map with its lattice axes swapped, transposed."""
    P = np.random.default_rng(0).standard_normal((2, 7, 7))
    N = 7
    i, j = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    calc_curl = 0.5 * ((P[1][(i + 1) % N, j] - P[1][i - 1, j]) - (P[0][i, (j + 1) % N] - P[0][i, j - 1]))
    assert np.allclose(calc_curl, curl(P.swapaxes(-1, -2), "periodic").T, rtol=0, atol=1e-15)
    assert np.array_equal(curl(P, "ferrosim"), curl(P, "periodic"))
    assert np.abs(calc_curl).sum() == pytest.approx(curl_objective(P.swapaxes(-1, -2), "curl", "ferrosim"))
    assert np.abs(calc_curl).sum() == pytest.approx(35.8369, abs=1e-4)  # the numbers of curl's docstring
    assert curl_objective(P, "curl", "ferrosim") == pytest.approx(34.7447, abs=1e-4)


def test_curl_objectives():
    N = 8
    yy, xx = np.mgrid[0:N, 0:N]
    k = 2 * np.pi / N
    p = np.stack([-np.sin(k * yy), np.sin(k * xx)]) * 0.5 + np.array([0.2, 0.0])[:, None, None]
    total = np.abs(curl(p)).sum()
    assert curl_objective(p, "curl") == pytest.approx(total)
    assert curl_objective(p, "curl_normalized") == pytest.approx(total / 0.2)
    unit = p / np.hypot(p[0], p[1])
    assert curl_objective(p, "curl_unit") == pytest.approx(np.abs(curl(unit)).sum())
    batch = np.stack([p, 2 * p])
    assert np.allclose(curl_objective(batch, "curl"), [total, 2 * total])
    with pytest.raises(ValueError, match="objective"):
        curl_objective(p, "divergence")


def test_simulate_batch_equilibration_and_thread_independence():
    model = FerroSim(N=6)
    d = defect_fields(6, 0.2, 2.0, seed=4)
    p0 = initial_polarization(model, "poled", seed=4)
    t = np.linspace(0, 1, 50)
    fields = np.stack([2 * np.sin(6 * t), -np.cos(7 * t) + 0.3, 0.5 * t])
    batch = simulate(model, fields, p0, d, equilibration=7)
    for b in range(3):
        manual = simulate(model, np.concatenate([fields[b], np.full(7, fields[b, -1])]), p0, d)
        assert np.array_equal(batch[b], manual)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = simulate(model, fields, p0, d, equilibration=7)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, batch)


def test_simulate_input_errors_and_divergence():
    model = FerroSim(N=4)
    p0 = np.zeros((2, 4, 4))
    with pytest.raises(ValueError, match="NaN"):
        simulate(model, np.array([0.0, np.nan]), p0)
    with pytest.raises(ValueError, match="shape"):
        simulate(model, np.zeros(3), np.zeros((2, 5, 5)))
    unstable = FerroSim(N=4, dt=0.5, gamma=10.0)
    with pytest.raises(FloatingPointError, match="decrease dt"):
        simulate(unstable, np.full(200, 5.0), initial_polarization(unstable, "random", 0))
    with pytest.raises(ValueError, match="boundary"):
        FerroSim(N=4, boundary="twisted")


def test_defects_and_initial_state_come_from_the_seed():
    a, b = defect_fields(10, 0.2, 1.5, seed=9), defect_fields(10, 0.2, 1.5, seed=9)
    assert np.array_equal(a, b) and not np.array_equal(a, defect_fields(10, 0.2, 1.5, seed=10))
    mag = np.hypot(a[0], a[1])
    assert (mag > 0).sum() == 20 and mag.max() <= 1.5
    model = FerroSim(N=10)
    poled = initial_polarization(model, "poled", seed=1, noise=0.0)
    assert np.allclose(poled[1], -model.P_r) and np.allclose(poled[0], 0)
