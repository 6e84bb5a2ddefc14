"""Torch heat bath: single-site law, exact anisotropy, same equilibrium as the numba kernel, seeding, errors."""

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.integrate import quad

from latentopt.physics import torch_heatbath as th
from latentopt.physics.hamiltonian import ChiralMagnet, energy_per_spin
from latentopt.physics.heatbath import anneal as anneal_numba
from latentopt.physics.heatbath import geometric_schedule


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The tensors here are tiny: with the machine's cores busy, intra-op thread barriers would dominate."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def independent_spins(B, T, K=0.0, n=16, L=32, sweeps=2, seed=0):
    """J = D = 0: every sweep draws each spin exactly from its single-site Boltzmann law."""
    model = ChiralMagnet(L=L, J=0.0, D=0.0, K=K, B=B)
    return th.anneal(model, np.arange(n), seed, np.full(sweeps, T))


@pytest.mark.parametrize("B,T", [((0, 0, 1.0), 1.0), ((0.3, -0.5, 0.8), 0.3), ((0, 2.0, 0), 0.1), ((0.01, 0, 0), 2.0)])
def test_single_spin_langevin_law(B, T):
    """<s.B_hat> = coth(|B|/T) - T/|B|; the polar cosine follows its exact CDF (KS); no transverse moment."""
    s = independent_spins(B, T)
    b = np.asarray(B, float)
    bhat = b / np.linalg.norm(b)
    c = np.einsum("a,nayx->nyx", bhat, s).ravel()
    x = np.linalg.norm(b) / T
    assert abs(c.mean() - (1 / np.tanh(x) - 1 / x)) < 5 * c.std() / np.sqrt(c.size)
    cdf = lambda v: np.expm1(x * (v + 1)) / np.expm1(2 * x)  # noqa: E731
    assert stats.kstest(c, cdf).pvalue > 1e-4
    perp = s.mean(axis=(0, 2, 3)) - c.mean() * bhat
    assert np.all(np.abs(perp) < 5 * s.std() / np.sqrt(c.size))
    assert np.allclose(np.linalg.norm(s, axis=1), 1.0, atol=1e-12)


def test_zero_field_is_uniform_on_the_sphere():
    s = independent_spins((0, 0, 0), 1.0, n=8)
    for comp in s.transpose(1, 0, 2, 3).reshape(3, -1):
        assert stats.kstest(comp, stats.uniform(-1, 2).cdf).pvalue > 1e-4  # Archimedes: each component uniform


@pytest.mark.parametrize("K,Bz,T", [(1.0, 0.0, 0.5), (0.5, 0.3, 0.4), (-0.8, 0.2, 0.5)])
def test_anisotropy_sampled_exactly(K, Bz, T):
    """<s_z>, <s_z^2> against quadrature of exp((Bz cos t + K cos^2 t) / T) (Metropolis-Hastings correction)."""
    s = independent_spins((0, 0, Bz), T, K=K, n=8, sweeps=40, seed=3)
    sz = s[:, 2].ravel()
    w = lambda c, p: c**p * np.exp((Bz * c + K * c * c) / T)  # noqa: E731
    Z = quad(w, -1, 1, args=(0,))[0]
    m1, m2 = quad(w, -1, 1, args=(1,))[0] / Z, quad(w, -1, 1, args=(2,))[0] / Z
    assert abs(sz.mean() - m1) < 5 * sz.std() / np.sqrt(sz.size)
    assert abs((sz**2).mean() - m2) < 5 * (sz**2).std() / np.sqrt(sz.size)


def test_same_equilibrium_as_the_numba_kernel():
    """Interacting magnet at fixed T: energy and M_z means and variances of the torch and numba kernels agree
    within 5 errors over 128 independent chains (chain-level errors include the autocorrelation)."""
    from mc_stats import assert_same_distribution, chain_records

    model = ChiralMagnet(L=8, J=1.0, D=0.5, K=0.4, B=(0.2, 0.0, 0.3))
    T = 0.9

    def runner(kernel, seed):
        def run(initial, segment, n_sweeps):
            return kernel(model, np.arange(128), seed * 1000 + segment, np.full(n_sweeps, T), initial=initial)
        return run

    ours = chain_records(runner(th.anneal, 1), model, burn_in=100, records=40, spacing=4)
    ref = chain_records(runner(anneal_numba, 2), model, burn_in=100, records=40, spacing=4)
    assert_same_distribution(ours, ref)


def test_annealing_orders_and_float32_works():
    model = ChiralMagnet(L=16, J=1.0, D=0.3)
    temps = geometric_schedule(2.0, 0.01, 200)
    spins = th.anneal(model, np.arange(2), 7, temps)
    assert np.all(energy_per_spin(spins, model) < -1.95)
    s32 = th.anneal(model, np.arange(2), 7, temps[:20], dtype=torch.float32)
    assert s32.dtype == np.float64 and np.allclose(np.linalg.norm(s32, axis=1), 1.0, atol=1e-5)


def test_seeding_and_continuation():
    model = ChiralMagnet(L=8, K=0.2, B=(0, 0, 0.1))
    temps = np.full(5, 0.7)
    a = th.anneal(model, np.arange(3), 4, temps)
    assert np.array_equal(a, th.anneal(model, np.arange(3), 4, temps))
    assert not np.array_equal(a, th.anneal(model, np.arange(3), 5, temps))
    b = th.anneal(model, np.arange(3), 4, temps, initial=a)
    assert not np.array_equal(a, b) and np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-12)
    # sweeps() leaves its input untouched and advances the streams
    streams = th.SampleStreams(0, [0, 1, 2])
    x = torch.as_tensor(a)
    y = th.sweeps(x, model, temps, streams)
    assert torch.equal(x, torch.as_tensor(a)) and not torch.equal(x, y)
    assert streams.drawn == len(temps) * 2 * 3 * (8 * 8 // 2)  # two sublattices, three uniforms per move (K != 0)


def test_a_sample_does_not_depend_on_its_batch():
    """Per-sample streams: annealing samples 0..5 together or 3..4 alone gives the same 3 and 4 (shard invariance)."""
    model = ChiralMagnet(L=8, D=0.3, K=0.1, B=(0, 0, 0.05))
    temps = geometric_schedule(2.0, 0.2, 6)
    together = th.anneal(model, np.arange(6), 9, temps)
    alone = th.anneal(model, [3, 4], 9, temps)
    assert np.array_equal(together[3:5], alone)


def test_streams_are_splitmix64_of_a_per_sample_key():
    """The k-th uniform of sample i is splitmix64(key_i + k * golden) >> 11, as a uint64 reference computes it."""
    def reference(key, k):
        with np.errstate(over="ignore"):
            x = np.uint64(key) + np.uint64(k) * np.uint64(0x9E3779B97F4A7C15)
            x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            return (x ^ (x >> np.uint64(31))) >> np.uint64(11)

    streams = th.SampleStreams(5, [2, 11])
    first, second = streams.uniform((2, 3)), streams.uniform((4,))
    key = np.random.SeedSequence([5, 0x70C4, 11]).generate_state(1, np.uint64)[0]
    expected = np.array([reference(key, k) for k in range(1, 11)], dtype=np.float64) * 2.0 ** -53
    got = np.concatenate([first[:, 1].reshape(-1).numpy(), second[:, 1].numpy()])
    assert np.array_equal(got, expected)
    u = th.SampleStreams(1, np.arange(64)).uniform((1000,)).numpy()
    assert stats.kstest(u.ravel(), "uniform").pvalue > 1e-3 and 0.0 <= u.min() and u.max() < 1.0


def test_bad_input():
    with pytest.raises(ValueError, match="even"):
        th.anneal(ChiralMagnet(L=7), [0], 0, np.ones(2))
    with pytest.raises(ValueError, match="temperatures"):
        th.anneal(ChiralMagnet(L=8), [0], 0, np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="initial"):
        th.anneal(ChiralMagnet(L=8), [0, 1], 0, np.ones(2), initial=np.zeros((1, 3, 8, 8)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_runs_and_orders():
    model = ChiralMagnet(L=16, J=1.0, D=0.3)
    spins = th.anneal(model, np.arange(4), 7, geometric_schedule(2.0, 0.01, 200), device="cuda")
    assert np.all(energy_per_spin(spins, model) < -1.95)
    assert np.allclose(np.linalg.norm(spins, axis=1), 1.0, atol=1e-12)
