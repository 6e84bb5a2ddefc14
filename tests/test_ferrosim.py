"""FerroSIM physics against closed forms and invariants (latentopt.physics.ferrosim)."""

import math

import numba
import numpy as np
import pytest

from latentopt.physics.ferrosim import (FerroSim, coercive_field, curl, curl_objective, defect_fields, force,
                                        free_energy, initial_polarization, neighbour_table, remanent_polarization,
                                        simulate)


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


@pytest.mark.parametrize("boundary", ["periodic", "open"])
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


@pytest.mark.parametrize("boundary", ["periodic", "open"])
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
