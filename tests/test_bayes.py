"""Bayesian optimization over a finite candidate set (latentopt.optimizers.bayes)."""

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm
from skopt.learning import GaussianProcessRegressor
from skopt.learning.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from latentopt.optimizers.bayes import (acquisition, bayesian_optimization, gp_posterior, initial_indices, make_gp,
                                        propose_batch, random_search, unit_box)
from latentopt.optimizers.bayes.batch import _round_seed
from latentopt.optimizers.bayes.gp import _fit


def _surface(n=30):
    """A smooth 2D test surface on an n x n grid with one global maximum at (0.7, 0.3) and a lesser one."""
    a = np.linspace(0, 1, n)
    z = np.stack(np.meshgrid(a, a), -1).reshape(-1, 2)
    y = 2.0 * np.exp(-((z[:, 0] - 0.7) ** 2 + (z[:, 1] - 0.3) ** 2) / 0.02) \
        + 1.5 * np.exp(-((z[:, 0] - 0.2) ** 2 + (z[:, 1] - 0.8) ** 2) / 0.05)
    return z, y


def test_gp_posterior_matches_scikit_optimize_predict():
    """Same numbers as skopt's predict on a well-conditioned GP (with a 1e-2 nugget; at tiny nuggets skopt's
    explicit inverse loses the variance to round-off, which is why gp_posterior uses the Cholesky factor)."""
    rng = np.random.default_rng(0)
    X = rng.random((40, 2))
    y = np.sin(5 * X[:, 0]) + X[:, 1]
    kernel = ConstantKernel(1.3) * Matern([0.3, 0.5], nu=2.5) + WhiteKernel(1e-2, "fixed")
    gp = GaussianProcessRegressor(kernel, normalize_y=True, optimizer=None).fit(X, y)
    Xq = rng.random((300, 2))
    mean, std = gp_posterior(gp, Xq, chunk=128)
    m2, s2 = gp.predict(Xq, return_std=True)
    assert np.allclose(mean, m2, atol=1e-8)
    assert np.allclose(std, s2, atol=1e-5)
    # a kernel without the numba fast path goes through the kernel object
    other = GaussianProcessRegressor(ConstantKernel(1.0) * Matern(0.3, nu=1.5), normalize_y=True, noise=1e-4)
    other.fit(X, y)
    m3, s3 = gp_posterior(other, Xq)
    m4, s4 = other.predict(Xq, return_std=True)
    assert np.allclose(m3, m4, atol=1e-8) and np.allclose(s3, s4, atol=1e-5)


@pytest.mark.parametrize("mu, sigma, best, xi", [(1.0, 0.5, 0.8, 0.0), (0.0, 2.0, 1.0, 0.1), (3.0, 0.1, 0.0, 0.0)])
def test_acquisitions_against_their_definitions(mu, sigma, best, xi):
    """EI = E[max(Y - y* - xi, 0)], PI = P(Y > y* + xi), UCB = mu + kappa sigma for Y ~ N(mu, sigma^2)."""
    ei = integrate.quad(lambda v: max(v - best - xi, 0.0) * norm.pdf(v, mu, sigma), mu - 12 * sigma,
                        mu + 12 * sigma, points=[best + xi], limit=200)[0]
    m, s = np.array([mu]), np.array([sigma])
    assert acquisition("ei", m, s, best, xi=xi)[0] == pytest.approx(ei, rel=1e-6, abs=1e-12)
    assert acquisition("pi", m, s, best, xi=xi)[0] == pytest.approx(norm.sf(best + xi, mu, sigma))
    assert acquisition("ucb", m, s, best, kappa=10)[0] == pytest.approx(mu + 10 * sigma)
    assert acquisition("ei", np.array([2.0]), np.array([0.0]), 1.0)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="acquisition"):
        acquisition("thompson", m, s, best)


@pytest.mark.parametrize("kind", ["ucb", "ei", "pi"])
def test_bo_finds_the_global_maximum_and_beats_random_search(kind):
    z, y = _surface()
    calls = []

    def evaluate(idx):
        calls.append(len(idx))
        return y[idx]

    res = bayesian_optimization(z, evaluate, n_initial=15, iterations=45, acquisition_function=kind,
                                kappa=3.0, xi=0.01, seed=4, progress=False)
    assert len(res.y) == 60 and res.initial.sum() == 15 and calls[0] == 15 and set(calls[1:]) == {1}
    assert len(np.unique(res.index)) == len(res.index)
    assert np.allclose(res.y, y[res.index])
    assert res.y.max() >= 0.98 * y.max()
    rand = random_search(y, 60, seeds=20, seed=0)
    assert res.y.max() > np.median(rand[:, -1])


def test_bo_resumes_after_an_interruption(tmp_path):
    z, y = _surface(20)
    kw = dict(n_initial=8, iterations=12, acquisition_function="ucb", kappa=2.0, seed=1, progress=False,
              checkpoint_every=1, refit_every=3)
    full = bayesian_optimization(z, lambda i: y[i], **kw)
    count = {"n": 0}

    def flaky(idx):
        count["n"] += 1
        if count["n"] == 7:
            raise KeyboardInterrupt
        return y[idx]

    ckpt = tmp_path / "bo.pt"
    with pytest.raises(KeyboardInterrupt):
        bayesian_optimization(z, flaky, checkpoint=ckpt, **kw)
    resumed = bayesian_optimization(z, lambda i: y[i], checkpoint=ckpt, **kw)
    assert np.array_equal(resumed.index, full.index) and np.array_equal(resumed.y, full.y)
    with pytest.warns(UserWarning, match="checkpoint from other settings ignored"):
        other = bayesian_optimization(z, lambda i: y[i], checkpoint=ckpt, **{**kw, "seed": 2})
    assert not np.array_equal(other.index[:8], full.index[:8])


def _first_gain(kind, z, y, first, kappa, xi, gp):
    """The early-stop gain of the first BO step, by hand from ``gp`` fitted to the initial design ``first``:
    the best acquisition over the unexplored candidates as ``max EI / span(y)``, ``max PI`` or
    ``(max UCB - y*) / span(y)``, with ``span`` and ``y*`` the range and maximum of the initial observations."""
    X = unit_box(z)(z)
    free = np.setdiff1d(np.arange(len(z)), first)
    mean, std = gp_posterior(gp, X[free])
    y0 = y[first]
    best = acquisition(kind, mean, std, y0.max(), kappa=kappa, xi=xi).max()
    span = y0.max() - y0.min()
    return {"ei": best / span, "pi": best, "ucb": (best - y0.max()) / span}[kind]


@pytest.mark.parametrize("kind", ["ei", "pi", "ucb"])
def test_early_stop_at_the_hand_computed_gain(kind):
    """The loop stops before its first BO evaluation when tol is just above the gain of the first step, computed
    here from a GP fitted to the initial design, and goes on when tol is just below it. The objective is scaled
    and shifted (span and y* far from 1 and 0) so that a gain without the span, with it for PI, or without y* for
    UCB falls far outside the 1e-6 window."""
    z, y = _surface(15)
    y = 7.0 * y + 5.0
    kw = dict(n_initial=10, iterations=3, acquisition_function=kind, kappa=3.0, xi=0.01, seed=0, progress=False)
    first = initial_indices(len(z), 10, seed=0)
    gp = _fit(make_gp(2, seed=0), unit_box(z)(z)[first], y[first], None, optimize=True)
    gain = _first_gain(kind, z, y, first, 3.0, 0.01, gp)
    assert gain > 1e-3
    res = bayesian_optimization(z, lambda i: y[i], tol=gain * (1 + 1e-6), **kw)
    assert res.stopped_early and len(res.y) == 10 and res.gain.tolist() == pytest.approx([gain], rel=1e-8)
    res = bayesian_optimization(z, lambda i: y[i], tol=gain * (1 - 1e-6), **kw)
    assert len(res.y) > 10 and res.gain[0] == pytest.approx(gain, rel=1e-8)
    res = bayesian_optimization(z, lambda i: y[i], tol=0.0, **kw)  # tol = 0 never stops
    assert not res.stopped_early and len(res.y) == 13


@pytest.mark.parametrize("kind", ["ei", "pi", "ucb"])
def test_batch_round_is_skipped_at_the_hand_computed_gain(kind):
    """The batch proposal skips its round when tol is just above the gain of its first pick (the same gain as the
    sequential loop, computed here from the GP fitted to the observations) and proposes q points just below it."""
    z, y = _surface(15)
    y = 7.0 * y + 5.0
    first = initial_indices(len(z), 10, seed=0)
    kw = dict(q=3, n_initial=10, acquisition_function=kind, kappa=3.0, xi=0.01, n_restarts=1, seed=0)
    fitted = propose_batch(z, first, y[first], 1, **kw)
    gp = _fit(make_gp(2, _round_seed(0, 10), n_restarts=1), unit_box(z)(z)[first], y[first], None, optimize=True)
    gain = _first_gain(kind, z, y, first, 3.0, 0.01, gp)
    assert gain > 1e-3 and fitted.gain == pytest.approx(gain, rel=1e-8)
    above = propose_batch(z, first, y[first], 1, tol=gain * (1 + 1e-6), **kw)
    below = propose_batch(z, first, y[first], 1, tol=gain * (1 - 1e-6), **kw)
    assert above.skip and len(above.index) == 0
    assert not below.skip and np.array_equal(below.index, fitted.index)


def test_initial_points_and_random_search_are_seeded():
    a = initial_indices(100, 10, seed=3)
    assert len(set(a)) == 10 and np.array_equal(a, initial_indices(100, 10, seed=3))
    y = np.arange(50.0)
    r = random_search(y, 20, seeds=4, seed=1)
    assert r.shape == (4, 20) and np.all(np.diff(r, axis=1) >= 0)
    assert np.array_equal(r, random_search(y, 20, seeds=4, seed=1))
    assert random_search(y, 80, seeds=2)[:, -1].tolist() == [49.0, 49.0]  # budget capped at M
    with pytest.raises(ValueError, match="candidates"):
        bayesian_optimization(np.zeros((1, 2)), lambda i: i, progress=False)


# --------------------------------------------------------------------------- incremental posterior
@pytest.mark.parametrize("noise, tol", [(0.01, 1e-10), (0.0, 1e-8)])
def test_incremental_posterior_equals_a_fresh_fit(noise, tol):
    """Bordering the Cholesky factor and the whitened cross-covariance by one row per observation gives the
    posterior of a fresh fit with the same hyper-parameters to rounding: 1e-10 (relative to the data's spread)
    for noisy data; without noise the fitted noise level sits at its 1e-6 bound, cond(K) ~ 1e9, and two full
    factorizations of the same covariance already differ by ~1e-10, hence 1e-8."""
    from latentopt.optimizers.bayes.gp import _IncrementalPosterior, fitted_theta

    rng = np.random.default_rng(1)
    X = rng.random((500, 3))
    f = np.sin(4 * X[:, 0]) * np.cos(3 * X[:, 1]) + X[:, 2] ** 2 + noise * rng.normal(size=500)
    order = rng.permutation(500)[:90]
    gp = _fit(make_gp(3, seed=0), X[order[:50]], f[order[:50]], None, optimize=True)
    theta = fitted_theta(gp)
    post = _IncrementalPosterior(gp.kernel, theta, gp.alpha, X, order[:50], capacity=90)
    for i in order[50:]:
        post.add(int(i))
    fresh = _fit(make_gp(3, seed=0), X[order], f[order], theta, optimize=False)
    free = np.setdiff1d(np.arange(500), order)
    m_ref, s_ref = gp_posterior(fresh, X[free])
    m, s = post.posterior(f[order], free)
    scale = f.std()
    assert np.abs(m - m_ref).max() < tol * scale and np.abs(s - s_ref).max() < tol * scale
    assert np.all(s > 0)
    # at observed points the latent posterior mean reproduces the data up to the fitted noise
    m_obs, s_obs = post.posterior(f[order], order)
    assert np.abs(m_obs - f[order]).max() < 3 * noise + 1e-3 * scale and s_obs.max() < s.mean()
    with pytest.raises(ValueError, match="capacity"):
        post.add(int(free[0]))


@pytest.mark.parametrize("kind", ["ucb", "ei", "pi"])
def test_incremental_posterior_makes_the_same_choices(kind, monkeypatch):
    """A whole run with the incremental posterior chooses exactly the candidates of the reference path
    (fixed-hyper-parameter refit + gp_posterior every iteration), refits included."""
    from latentopt.optimizers.bayes import bo

    z, y = _surface(20)
    kw = dict(n_initial=10, iterations=30, acquisition_function=kind, kappa=3.0, xi=0.01, refit_every=6, seed=5,
              progress=False)
    monkeypatch.setattr(bo, "_INCREMENTAL_POSTERIOR", False)
    ref = bayesian_optimization(z, lambda i: y[i], **kw)
    monkeypatch.setattr(bo, "_INCREMENTAL_POSTERIOR", True)
    inc = bayesian_optimization(z, lambda i: y[i], **kw)
    assert np.array_equal(inc.index, ref.index)
    assert np.allclose(inc.acquisition, ref.acquisition, rtol=1e-8, atol=1e-12)
    assert inc.kernel == ref.kernel


def test_bo_resumes_exactly_between_refits(tmp_path):
    """Interrupted between two kernel refits, the resumed run rebuilds the incremental posterior as it was
    built: same choices and bit-identical acquisition values."""
    z, y = _surface(20)
    kw = dict(n_initial=8, iterations=14, acquisition_function="ei", xi=0.01, seed=2, progress=False,
              checkpoint_every=1, refit_every=4)
    full = bayesian_optimization(z, lambda i: y[i], **kw)
    count = {"n": 0}

    def flaky(idx):
        count["n"] += 1
        if count["n"] == 8:  # initial call + 6 iterations done: resume at iteration 6 (6 % 4 != 0)
            raise KeyboardInterrupt
        return y[idx]

    ckpt = tmp_path / "bo.pt"
    with pytest.raises(KeyboardInterrupt):
        bayesian_optimization(z, flaky, checkpoint=ckpt, **kw)
    resumed = bayesian_optimization(z, lambda i: y[i], checkpoint=ckpt, **kw)
    assert np.array_equal(resumed.index, full.index)
    assert np.array_equal(resumed.acquisition, full.acquisition) and np.array_equal(resumed.gain, full.gain)


def test_memory_bound_falls_back_to_the_reference_path(monkeypatch):
    from latentopt.optimizers.bayes import bo

    z, y = _surface(12)
    kw = dict(n_initial=6, iterations=6, acquisition_function="ucb", kappa=2.0, refit_every=4, seed=1, progress=False)
    monkeypatch.setattr(bo, "_INCREMENTAL_POSTERIOR", False)
    ref = bayesian_optimization(z, lambda i: y[i], **kw)
    monkeypatch.setattr(bo, "_INCREMENTAL_POSTERIOR", True)
    monkeypatch.setattr(bo, "_INCREMENTAL_MAX_BYTES", 0)
    low_memory = bayesian_optimization(z, lambda i: y[i], **kw)
    assert np.array_equal(low_memory.index, ref.index) and np.array_equal(low_memory.acquisition, ref.acquisition)
