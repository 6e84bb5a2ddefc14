"""Heat-bath sampling against the Langevin law, exact anisotropy sampling, annealing, reproducibility."""

import numba
import numpy as np
import pytest
from scipy.integrate import quad

from latentopt.dataset import shard_indices
from latentopt.studies.spins import simulate_shard
from latentopt.physics.hamiltonian import ChiralMagnet, energy_per_spin
from latentopt.physics import simd
from latentopt.physics.heatbath import anneal, geometric_schedule


def equilibrium_spins(B, T, K=0.0, n=8, L=32, sweeps=3, seed=0):
    """Independent spins (J = D = 0) in field B at temperature T: every sweep is an exact draw."""
    model = ChiralMagnet(L=L, J=0.0, D=0.0, K=K, B=B)
    return anneal(model, np.arange(n), seed, np.full(sweeps, T))


def langevin(x):
    return 1.0 / np.tanh(x) - 1.0 / x


@pytest.mark.parametrize("B,T", [((0, 0, 1.0), 1.0), ((0, 0, 0.2), 1.0), ((0.3, -0.5, 0.8), 0.3),
                                 ((0, 2.0, 0), 0.1), ((0.01, 0, 0), 2.0)])
def test_single_spin_langevin(B, T):
    s = equilibrium_spins(B, T)
    b = np.asarray(B, float)
    proj = np.einsum("a,nayx->nyx", b / np.linalg.norm(b), s).ravel()
    x = np.linalg.norm(b) / T
    stderr = proj.std() / np.sqrt(proj.size)
    assert abs(proj.mean() - langevin(x)) < 5 * stderr + 1e-12
    # transverse components average to zero
    perp = s.mean(axis=(0, 2, 3)) - proj.mean() * b / np.linalg.norm(b)
    assert np.all(np.abs(perp) < 5 * s.std() / np.sqrt(proj.size))


@pytest.mark.parametrize("K,Bz,T", [(1.0, 0.0, 0.5), (0.5, 0.3, 0.4), (-0.8, 0.2, 0.5)])
def test_anisotropy_sampled_exactly(K, Bz, T):
    """<s_z> and <s_z^2> match quadrature of exp((Bz cos t + K cos^2 t) / T).

    The Metropolis correction rejects moves, so the chain needs a few tens of sweeps to
    forget its random start (acceptance down to exp(-2) at K/T = 2).
    """
    s = equilibrium_spins((0, 0, Bz), T, K=K, sweeps=40, seed=3)
    sz = s[:, 2].ravel()
    w = lambda c, p: c**p * np.exp((Bz * c + K * c * c) / T)  # noqa: E731
    Z = quad(w, -1, 1, args=(0,))[0]
    m1, m2 = quad(w, -1, 1, args=(1,))[0] / Z, quad(w, -1, 1, args=(2,))[0] / Z
    n = sz.size
    assert abs(sz.mean() - m1) < 5 * sz.std() / np.sqrt(n)
    assert abs((sz**2).mean() - m2) < 5 * (sz**2).std() / np.sqrt(n)


def test_annealing_lowers_energy_below_ferromagnet():
    model = ChiralMagnet(L=32, J=1.0, D=0.3)
    spins = anneal(model, np.arange(2), 7, geometric_schedule(2.0, 0.01, 300))
    e = energy_per_spin(spins, model)
    assert np.all(e < -2.0), e
    assert np.allclose(np.linalg.norm(spins, axis=1), 1.0, atol=1e-12)


def test_geometric_schedule():
    T = geometric_schedule(2.0, 0.01, 5)
    assert T[0] == pytest.approx(2.0) and T[-1] == pytest.approx(0.01)
    assert np.allclose(T[1:] / T[:-1], (0.01 / 2.0) ** 0.25)
    with pytest.raises(ValueError):
        geometric_schedule(-1.0, 0.1, 10)


def test_results_independent_of_shards_and_threads():
    system = dict(L=16, J=1.0, D=0.3, dmi="interfacial", K=0.1, B=[0, 0, 0.05])
    base = dict(n_samples=6, n_sweeps=20, T_start=2.0, T_end=0.1, seed=11)
    one = simulate_shard(system, {**base, "shards": 1}, 0)
    three = [simulate_shard(system, {**base, "shards": 3}, k) for k in range(3)]
    merged = np.concatenate([p["spins"] for p in three])
    assert np.array_equal(one["spins"], merged)
    assert np.array_equal(np.concatenate([p["index"] for p in three]), np.arange(6))
    before = numba.get_num_threads()
    runs = {}
    try:
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(threads)
            runs[threads] = simulate_shard(system, {**base, "shards": 1}, 0)["spins"]
    finally:
        numba.set_num_threads(before)
    assert all(np.array_equal(one["spins"], s) for s in runs.values())
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("only one numba thread available: thread-count independence not exercised")
    # and a different seed gives different states
    other = simulate_shard(system, {**base, "shards": 1, "seed": 12}, 0)
    assert not np.array_equal(one["spins"], other["spins"])


def test_shard_indices_cover_range():
    parts = [shard_indices(10, 3, k) for k in range(3)]
    assert np.array_equal(np.concatenate(parts), np.arange(10))
    with pytest.raises(ValueError):
        shard_indices(10, 3, 3)


def test_odd_lattice_rejected():
    with pytest.raises(ValueError, match="even"):
        anneal(ChiralMagnet(L=15), [0], 0, np.array([1.0]))


# --------------------------------------------------------------------------- the vectorized kernel
@numba.njit(error_model="numpy")
def _apply_kernels(y, a, r, out):
    for i in range(y.size):
        out[0, i] = simd.expm1(max(y[i], -40.0))
        out[1, i] = simd.exp(y[i])
        out[2, i] = simd.log1p(a[i])
        out[3, i], out[4, i] = simd.cos_sin_turn(r[i])


def test_polynomial_kernels_match_libm():
    """expm1, exp, log1p within 4 ulp of numpy's libm over the argument ranges the move uses; sin/cos to 1e-15."""
    rng = np.random.default_rng(0)
    n = 200_000
    y = np.concatenate([-rng.random(n // 2) * 700, -10.0 ** rng.uniform(-14, 1.6, n // 2 - 3), [0.0, -40.0, -708.0]])
    a = np.concatenate([-rng.random(n // 4), -10.0 ** rng.uniform(-17, 0, n // 4),
                        -(1 - 2.0**-53 * rng.integers(1, 2**20, n // 4)), -rng.random(n - 3 * (n // 4) - 2) * 0.3,
                        [0.0, -0.5]])
    r = np.concatenate([rng.random(n - 4), [0.0, 0.125, 0.5, 1 - 2.0**-53]])
    out = np.empty((5, n))
    _apply_kernels(y, a, r, out)

    def ulps(got, ref):
        return np.max(np.abs(got - ref) / np.spacing(np.abs(ref)))

    ym = np.maximum(y, -40.0)
    assert ulps(out[0], np.expm1(ym)) <= 4
    assert ulps(out[1], np.exp(y)) <= 4
    assert ulps(out[2], np.log1p(a)) <= 4
    phi = 2 * np.pi * (r - 0.5)
    assert np.abs(out[3] - np.cos(phi)).max() < 1e-15 and np.abs(out[4] - np.sin(phi)).max() < 1e-15
    assert np.abs(out[3] ** 2 + out[4] ** 2 - 1).max() < 1e-15


def test_sample_does_not_depend_on_its_lane_or_block():
    """A sample's state depends on (seed, index) only, not on which lane/block of a batch it lands in."""
    model = ChiralMagnet(L=8, J=1.0, D=0.4, dmi="bulk", K=0.3, B=(0.1, -0.2, 0.2))
    temps = geometric_schedule(2.0, 0.2, 15)
    every = anneal(model, np.arange(37), 5, temps)          # 3 blocks, the last one padded
    assert np.array_equal(anneal(model, [30, 2, 17], 5, temps), every[[30, 2, 17]])
    assert np.array_equal(anneal(model, [36], 5, temps), every[[36]])
    init = every[:20]
    cont = anneal(model, np.arange(20), 6, temps, initial=init)
    assert np.array_equal(anneal(model, [19, 0], 6, temps, initial=init[[19, 0]]), cont[[19, 0]])
    assert np.allclose(np.linalg.norm(every, axis=1), 1.0, atol=1e-14)
    assert anneal(model, [], 5, temps).shape == (0, 3, 8, 8)


def test_heatbath_direction_law_in_a_tilted_field():
    """Independent spins in a field: the polar cosine about B follows the exact CDF
    ``(exp(x c) - exp(-x)) / (exp(x) - exp(-x))``, the azimuth about B is uniform (KS tests)."""
    from scipy import stats

    B, T = np.array([0.4, -0.9, 0.6]), 0.7
    s = equilibrium_spins(tuple(B), T, n=32, L=32, sweeps=2)
    b = B / np.linalg.norm(B)
    c = np.einsum("a,nayx->nyx", b, s).ravel()
    x = np.linalg.norm(B) / T
    cdf = lambda v: np.expm1(x * (v + 1)) / np.expm1(2 * x)  # noqa: E731
    assert stats.kstest(c, cdf).pvalue > 1e-4
    e1 = np.cross(b, [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(b, e1)
    phi = np.arctan2(np.einsum("a,nayx->nyx", e2, s), np.einsum("a,nayx->nyx", e1, s)).ravel()
    assert stats.kstest(phi, stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 1e-4


def test_vectorized_kernel_samples_the_scalar_kernels_distribution():
    """Interacting magnet (DMI, anisotropy, tilted field) at fixed T: energy and M_z means and variances
    of the vectorized kernel agree with the pre-vectorization kernel's within 5 errors over 128 chains."""
    from heatbath_reference import anneal_scalar
    from mc_stats import assert_same_distribution, chain_records

    model = ChiralMagnet(L=8, J=1.0, D=0.5, K=0.4, B=(0.2, 0.0, 0.3))
    T = 0.9

    def runner(kernel, seed):
        def run(initial, segment, n_sweeps):
            return kernel(model, np.arange(128), seed * 1000 + segment, np.full(n_sweeps, T), initial=initial)
        return run

    simd = chain_records(runner(anneal, 1), model, burn_in=100, records=40, spacing=4)
    scalar = chain_records(runner(anneal_scalar, 2), model, burn_in=100, records=40, spacing=4)
    stats = assert_same_distribution(simd, scalar)
    assert stats["Mz"][0] > 0.05  # the field and the easy axis polarize: a non-trivial M_z is compared
