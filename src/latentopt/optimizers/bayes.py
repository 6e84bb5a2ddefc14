"""Bayesian optimization over a finite set of feasible latent codes (zBO).

Biswas et al. 2023, Table 1 steps 5-10, and the lecture's "BO in the latent space": the
candidates are the feasible points of a decoded latent grid; ``n_initial`` of them are
drawn at random and evaluated, then each iteration fits a Gaussian process (scikit-optimize's
:class:`skopt.learning.GaussianProcessRegressor`, Matern-5/2 ARD kernel times a constant,
plus a white-noise term, ``normalize_y``) to all observations, scores every unexplored
candidate with an acquisition function and evaluates the best one. The objective is
*maximized*. Acquisitions, with ``mu, sigma`` the GP posterior and ``y*`` the best
observation:

- ``ei``:  ``E[max(y - y* - xi, 0)] = (mu - y* - xi) Phi(u) + sigma phi(u)``, ``u = (mu - y* - xi) / sigma``
- ``pi``:  ``P(y > y* + xi) = Phi(u)``
- ``ucb``: ``mu + kappa sigma`` (the lecture: ``kappa = 10``)

Early stop (Biswas et al.: "the acquisition function value goes to negligible"): after
each fit the best acquisition value is turned into a *gain* -- ``max EI / span`` for EI,
``max PI`` for PI and ``(max UCB - y*) / span`` for UCB, with ``span`` the range of the
observations -- and the run stops when the gain falls below ``tol``.

Hyper-parameters of the kernel are refitted by maximum likelihood every ``refit_every``
iterations, starting from the previous values (with ``n_restarts`` random restarts on
the first fit). The posterior over all candidates is then kept incrementally
(:class:`_IncrementalPosterior`): after a refit the Cholesky factor ``L`` of the training
covariance and the whitened cross-covariance ``V = L^-1 K(X, X_cand)`` are computed once;
every new observation borders ``L`` by one row and ``V`` by one row (O(n M) instead of
the O(n^2 M) triangular solve of :func:`gp_posterior`), and the posterior variance is
``k(x, x) - sum_rows V^2``, kept as a running sum. The result equals a fresh fit with the
same hyper-parameters to rounding (tested to 1e-10) and makes the same choices. ``V`` takes
8 bytes per (observation, candidate); beyond 2 GiB the per-iteration fixed-hyper-parameter
refit and :func:`gp_posterior` (chunked) are used instead.

Interrupted runs resume from a checkpoint: the observations and the kernel
hyper-parameters after every iteration. The incremental posterior is a function of the
hyper-parameters, the observations at the last refit and the observations added since,
so a resumed run rebuilds it exactly and makes the same choices as an uninterrupted one.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numba
import numpy as np
from scipy.linalg import cholesky, solve_triangular
from scipy.stats import norm
from skopt.learning import GaussianProcessRegressor
from skopt.learning.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from sklearn.exceptions import ConvergenceWarning
from tqdm.auto import tqdm

from latentopt.errors import DivergedError
from latentopt.optimizers.common import Checkpointer

ACQUISITIONS = ("ei", "pi", "ucb")

#: ``evaluate(indices (m,)) -> y (m,)``: the objective at candidates (decode + simulate)
Evaluate = Callable[[np.ndarray], np.ndarray]


@dataclass
class BOResult:
    """Outcome of :func:`bayesian_optimization`.

    Attributes
    ----------
    index : ndarray of int64, shape (k,)
        Evaluated candidates, in order (``k = n_initial + iterations`` unless stopped early).
    y : ndarray, shape (k,)
        Objective values.
    initial : ndarray of bool, shape (k,)
        True for the random initial points.
    acquisition, gain : ndarray, shape (k - n_initial,), one more if stopped early
        Best acquisition value and the early-stop gain of every iteration (the last entry
        of an early-stopped run is the iteration that stopped it, without an evaluation).
    fit_seconds : ndarray, same shape
        Wall time of the GP fit + acquisition of every iteration (the BO overhead).
    stopped_early : bool
    kernel : str
        The final fitted kernel.
    gp : GaussianProcessRegressor
        The GP fitted to all observations.
    """

    index: np.ndarray
    y: np.ndarray
    initial: np.ndarray
    acquisition: np.ndarray
    gain: np.ndarray
    fit_seconds: np.ndarray
    stopped_early: bool
    kernel: str
    gp: GaussianProcessRegressor = field(repr=False)

    @property
    def best(self) -> int:
        """Position (in evaluation order) of the best observation (first one on ties)."""
        return int(np.argmax(self.y))

    @property
    def best_so_far(self) -> np.ndarray:
        """Running maximum of ``y``, shape (k,)."""
        return np.maximum.accumulate(self.y)


def make_gp(n_dims: int, seed: int, n_restarts: int = 2) -> GaussianProcessRegressor:
    """The surrogate: ``C * Matern(nu=2.5, ARD) + White`` on inputs scaled to the unit box."""
    kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(n_dims, 0.2), (1e-3, 1e2), nu=2.5)
              + WhiteKernel(1e-4, (1e-6, 1e-1)))
    # noise="gaussian" makes scikit-optimize keep the fitted white-noise level in ``noise_`` and zero it in
    # ``kernel_`` (noise-free predictions); the WhiteKernel above is reused, not duplicated
    return GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=n_restarts,
                                    random_state=seed, noise="gaussian")


def gp_posterior(gp: GaussianProcessRegressor, X: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation of a fitted GP at ``X (m, d)``.

    Equal to ``gp.predict(X, return_std=True)`` (tested) but faster and numerically
    stabler: the variance is ``k(x, x) - |L^-1 k_*|^2`` with the Cholesky factor ``L`` of
    the training covariance (scikit-optimize multiplies by an explicit inverse in a
    three-operand ``einsum``), and the cross-covariance of the :func:`make_gp` kernel is a
    parallel numba kernel. Rows are processed in chunks of ``chunk``. The noise term is
    excluded (scikit-optimize zeroes the white kernel after fitting), so ``std`` is the
    uncertainty of the latent function.

    Returns
    -------
    mean, std : ndarray, shape (m,)
    """
    X = np.asarray(X, dtype=np.float64)
    mean, std = np.empty(len(X)), np.empty(len(X))
    for a in range(0, len(X), chunk):
        x = X[a:a + chunk]
        K_trans = _cross_covariance(gp.kernel_, x, gp.X_train_)
        mean[a:a + chunk] = K_trans @ gp.alpha_
        v = solve_triangular(gp.L_, K_trans.T, lower=True, check_finite=False)
        var = gp.kernel_.diag(x) - np.einsum("ij,ij->j", v, v)
        std[a:a + chunk] = np.sqrt(np.clip(var, 0.0, None))
    return gp.y_train_std_ * mean + gp.y_train_mean_, std * gp.y_train_std_


def _cross_covariance(kernel, x: np.ndarray, X_train: np.ndarray) -> np.ndarray:
    """``kernel(x, X_train)``; the numba path for ``C * Matern(nu=2.5) + White``, else the kernel itself."""
    try:
        const, matern = kernel.k1.k1, kernel.k1.k2
        ok = isinstance(kernel.k2, WhiteKernel) and isinstance(const, ConstantKernel) and matern.nu == 2.5
    except AttributeError:
        ok = False
    if not ok:
        return kernel(x, X_train)
    ls = np.broadcast_to(np.asarray(matern.length_scale, dtype=np.float64), (x.shape[1],)).copy()
    out = np.empty((len(x), len(X_train)))
    _matern52(np.ascontiguousarray(x), np.ascontiguousarray(X_train), ls, float(const.constant_value), out)
    return out


@numba.njit(cache=True, parallel=True)
def _matern52(x, X, ls, c, out):
    """``out[i, j] = c (1 + r + r^2 / 3) exp(-r)``, ``r = sqrt(5) |(x_i - X_j) / ls|`` (Rasmussen & Williams Eq. 4.17)."""
    for i in numba.prange(x.shape[0]):
        for j in range(X.shape[0]):
            s = 0.0
            for k in range(x.shape[1]):
                t = (x[i, k] - X[j, k]) / ls[k]
                s += t * t
            r = math.sqrt(5.0 * s)
            out[i, j] = c * (1.0 + r + r * r / 3.0) * math.exp(-r)


class _IncrementalPosterior:
    """GP posterior over a fixed candidate set, extended one observation at a time.

    The model is :func:`make_gp`'s ``C * Matern(nu=2.5) + White(noise)`` with the nugget
    ``alpha`` of the regressor, at fixed log hyper-parameters ``theta`` (as
    :func:`fitted_theta` returns them). With the training covariance
    ``K = C M(X, X) + (noise + alpha) I = L L^T`` and ``V = L^-1 C M(X, X_cand)``
    (rows: observations, columns: candidates), a new observation at candidate ``i``
    borders the factor (Rasmussen & Williams 2006, App. A.4; Golub & Van Loan, Sec. 4.2):

        l = V[:, i],  d = sqrt(C + noise + alpha - l.l),  L <- [[L, 0], [l^T, d]]
        V <- [[V], [(C M(x_i, X_cand) - l^T V) / d]]

    The posterior of the normalized targets (``normalize_y`` as scikit-learn: mean and
    population standard deviation of ``y``) is ``mean = V^T L^-1 y_n`` and ``var = C -
    sum_rows V^2``, the noise-free latent function as in :func:`gp_posterior`.

    Parameters
    ----------
    kernel : sklearn kernel
        A :func:`make_gp` kernel (its structure; the values come from ``theta``).
    theta : ndarray
        Log hyper-parameters ``(log C, log length_scales..., log noise)``.
    alpha : float
        The regressor's diagonal nugget.
    X : ndarray, shape (M, d)
        All candidates (GP inputs).
    observed : ndarray of int, shape (n0,)
        Candidates observed so far, in order; ``n0 >= 1``.
    capacity : int
        Maximum number of observations (rows preallocated).
    """

    def __init__(self, kernel, theta: np.ndarray, alpha: float, X: np.ndarray, observed: np.ndarray, capacity: int):
        k = kernel.clone_with_theta(theta)
        const, matern, white = k.k1.k1, k.k1.k2, k.k2
        if not (isinstance(const, ConstantKernel) and isinstance(white, WhiteKernel) and matern.nu == 2.5):
            raise ValueError("_IncrementalPosterior: expected a C * Matern(nu=2.5) + White kernel (make_gp)")
        self.c = float(const.constant_value)
        self.ls = np.broadcast_to(np.asarray(matern.length_scale, dtype=np.float64), (X.shape[1],)).copy()
        self.diag = self.c + float(white.noise_level) + float(alpha)
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        observed = np.asarray(observed, dtype=np.int64)
        n0, M = len(observed), len(self.X)
        capacity = max(int(capacity), n0)
        Xo = self.X[observed]
        K = self._cov(Xo, Xo)
        K[np.diag_indices_from(K)] += self.diag - self.c
        self.L = np.zeros((capacity, capacity))
        self.L[:n0, :n0] = cholesky(K, lower=True, check_finite=False)
        self.V = np.empty((capacity, M))
        self.V[:n0] = solve_triangular(self.L[:n0, :n0], self._cov(Xo, self.X), lower=True, check_finite=False)
        self.colsq = np.einsum("ij,ij->j", self.V[:n0], self.V[:n0])
        self.n = n0

    def _cov(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.empty((len(a), len(b)))
        _matern52(np.ascontiguousarray(a), np.ascontiguousarray(b), self.ls, self.c, out)
        return out

    def add(self, i: int) -> None:
        """Condition on one more observation, at candidate ``i``."""
        n = self.n
        if n == len(self.L):
            raise ValueError("_IncrementalPosterior: capacity exhausted")
        l = self.V[:n, i].copy()  # noqa: E741
        d = math.sqrt(self.diag - float(l @ l))
        v = (self._cov(self.X[i:i + 1], self.X)[0] - l @ self.V[:n]) / d
        self.L[n, :n], self.L[n, n] = l, d
        self.V[n] = v
        self.colsq += v * v
        self.n = n + 1

    def posterior(self, y: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation at candidates ``columns`` given targets ``y (n,)`` (original units)."""
        y = np.asarray(y, dtype=np.float64)
        mu = float(np.mean(y))
        sd = float(np.std(y))
        sd = 1.0 if sd < 10 * np.finfo(np.float64).eps else sd
        w = solve_triangular(self.L[:self.n, :self.n], (y - mu) / sd, lower=True, check_finite=False)
        mean = (w @ self.V[:self.n])[columns]
        var = self.c - self.colsq[columns]
        return sd * mean + mu, np.sqrt(np.clip(var, 0.0, None)) * sd


#: keep the GP posterior incrementally between refits (False: refit with fixed hyper-parameters and
#: call :func:`gp_posterior` every iteration, the reference path of the tests and the benchmark)
_INCREMENTAL_POSTERIOR = True
#: the incremental posterior holds (observations x candidates) float64; above this many bytes the
#: reference path (chunked, O(chunk x observations) memory) is used instead
_INCREMENTAL_MAX_BYTES = 2 * 1024**3


def acquisition(kind: str, mean: np.ndarray, std: np.ndarray, y_best: float, kappa: float = 10.0,
                xi: float = 0.0) -> np.ndarray:
    """Acquisition values for maximization (module docstring); ``std = 0`` gives ``EI = max(mu - y* - xi, 0)``.

    Parameters
    ----------
    kind : {"ei", "pi", "ucb"}
    mean, std : ndarray, shape (m,)
        GP posterior.
    y_best : float
        Best observation so far.
    kappa : float
        UCB exploration weight.
    xi : float
        EI / PI improvement margin.

    Returns
    -------
    ndarray, shape (m,)
    """
    if kind == "ucb":
        return mean + kappa * std
    improvement = mean - y_best - xi
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(std > 0, improvement / std, np.where(improvement > 0, np.inf, -np.inf))
    if kind == "pi":
        return norm.cdf(u)
    if kind == "ei":
        return np.where(std > 0, improvement * norm.cdf(u) + std * norm.pdf(u), np.maximum(improvement, 0.0))
    raise ValueError(f"acquisition: expected one of {ACQUISITIONS}, got {kind!r}")


def _gain(kind: str, best_acq: float, y: np.ndarray) -> float:
    span = float(np.ptp(y)) or 1.0
    if kind == "ei":
        return best_acq / span
    if kind == "pi":
        return best_acq
    return (best_acq - float(y.max())) / span


def unit_box(candidates: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Affine map of the candidates' bounding box onto ``[0, 1]^d`` (GP inputs)."""
    lo, hi = candidates.min(axis=0), candidates.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return lambda z: (np.asarray(z, dtype=np.float64) - lo) / span


def _fit(gp: GaussianProcessRegressor, X: np.ndarray, y: np.ndarray, theta: np.ndarray | None,
         optimize: bool) -> GaussianProcessRegressor:
    if theta is not None:
        gp.kernel = gp.kernel.clone_with_theta(theta)
        gp.n_restarts_optimizer = 0
    gp.optimizer = "fmin_l_bfgs_b" if optimize else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gp.fit(X, y)


def fitted_theta(gp: GaussianProcessRegressor) -> np.ndarray:
    """Log hyper-parameters of a fitted :func:`make_gp` model, noise level included.

    scikit-optimize zeroes the white-noise level in ``kernel_`` after fitting (so that
    predictions are noise-free) and keeps the fitted value in ``noise_``; it is put back
    here so the hyper-parameters can seed the next fit.
    """
    with np.errstate(divide="ignore"):  # the zeroed noise level is log(0) in kernel_.theta
        theta = gp.kernel_.theta.copy()
    theta[-1] = np.log(max(gp.noise_ or 1e-10, 1e-10))
    return theta


def _fixed_fit_theta(kernel, theta: np.ndarray) -> np.ndarray:
    """What :func:`fitted_theta` returns after ``_fit(gp, X, y, theta, optimize=False)``, without fitting.

    The kernel stores ``exp(theta)`` and reports ``log`` of it (and the noise level at least
    1e-10), so the round trip may move ``theta`` by an ulp; repeating it keeps the
    hyper-parameters of the next refit's starting point identical to a refit-every-iteration run.
    """
    k = kernel.clone_with_theta(theta)
    with np.errstate(divide="ignore"):
        out = k.theta.copy()
    out[-1] = np.log(max(float(k.k2.noise_level) or 1e-10, 1e-10))
    return out


def initial_indices(n_candidates: int, n_initial: int, seed: int) -> np.ndarray:
    """``n_initial`` distinct random candidate indices from ``seed`` (Table 1 step 5)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xB0]))
    return rng.choice(n_candidates, size=min(n_initial, n_candidates), replace=False).astype(np.int64)


def bayesian_optimization(candidates: np.ndarray, evaluate: Evaluate, *, n_initial: int = 100,
                          iterations: int = 500, acquisition_function: str = "ucb", kappa: float = 10.0,
                          xi: float = 0.0, tol: float = 0.0, refit_every: int = 10, n_restarts: int = 2,
                          seed: int = 0, checkpoint: str | Path | None = None, checkpoint_every: int = 10,
                          context: dict | None = None, progress: bool = True) -> BOResult:
    """Maximize an expensive objective over a finite candidate set with a GP surrogate.

    Parameters
    ----------
    candidates : ndarray, shape (M, d)
        Feasible latent codes; every evaluated point is one of them, each at most once.
    evaluate : callable
        ``evaluate(indices (m,)) -> y (m,)`` for candidate indices (vectorized: the
        initial points are evaluated in one call).
    n_initial : int
        Random initial points, ``>= 1`` (at least 2 for a GP fit).
    iterations : int
        BO iterations after the initial points, ``>= 0``; capped by the candidates left.
    acquisition_function : {"ei", "pi", "ucb"}
    kappa, xi : float
        See :func:`acquisition`.
    tol : float
        Stop when the gain (module docstring) falls below ``tol``; 0 never stops early.
    refit_every : int
        Maximum-likelihood refit of the kernel hyper-parameters every that many iterations.
    n_restarts : int
        Random restarts of the first hyper-parameter fit.
    seed : int
        Seed of the initial points and the restarts.
    checkpoint : path, optional
        Resume from / save to this file every ``checkpoint_every`` iterations.
    context : dict, optional
        Identifies the inputs (e.g. file digests) in the checkpoint fingerprint.
    progress : bool

    Returns
    -------
    BOResult

    Raises
    ------
    ValueError
        On bad settings or fewer than 2 candidates.
    DivergedError
        If ``evaluate`` returns a non-finite value.
    """
    candidates = np.asarray(candidates, dtype=np.float64)
    if candidates.ndim != 2 or len(candidates) < 2:
        raise ValueError(f"candidates: expected shape (M >= 2, d), got {candidates.shape}")
    if acquisition_function not in ACQUISITIONS:
        raise ValueError(f"acquisition: expected one of {ACQUISITIONS}, got {acquisition_function!r}")
    if n_initial < 2 or iterations < 0 or refit_every < 1:
        raise ValueError(f"n_initial >= 2, iterations >= 0, refit_every >= 1 expected, got {n_initial}, "
                         f"{iterations}, {refit_every}")
    M = len(candidates)
    X_all = unit_box(candidates)(candidates)
    settings = dict(n_initial=n_initial, iterations=iterations, acquisition=acquisition_function, kappa=kappa, xi=xi,
                    tol=tol, refit_every=refit_every, n_restarts=n_restarts, seed=seed, M=M,
                    candidates=float(candidates.sum()), context=context or {})
    ckpt = Checkpointer(checkpoint, settings, every=checkpoint_every)
    state = ckpt.load()
    if state is None:
        index = initial_indices(M, n_initial, seed)
        y = np.asarray(evaluate(index), dtype=np.float64).reshape(-1)
        state = dict(index=index, y=y, initial=len(index), acquisition=[], gain=[], fit_seconds=[], theta=None,
                     stopped=False)
    index, y = np.asarray(state["index"], np.int64), np.asarray(state["y"], np.float64)
    if not np.isfinite(y).all():
        raise DivergedError(f"the objective is not finite at {int((~np.isfinite(y)).sum())} of the {len(y)} initial "
                            "points")
    n_iter = min(iterations, M - state["initial"])
    explored = np.zeros(M, dtype=bool)
    explored[index] = True
    gp = make_gp(candidates.shape[1], seed, n_restarts)
    theta = state["theta"]

    done = len(index) - state["initial"]
    post = None
    incremental = _INCREMENTAL_POSTERIOR and 8 * (state["initial"] + n_iter) * M <= _INCREMENTAL_MAX_BYTES
    bar = tqdm(total=n_iter, initial=done, disable=not progress, desc=f"BO ({acquisition_function})", unit="it")
    while done < n_iter and not state["stopped"]:
        t0 = time.perf_counter()
        refit = done % refit_every == 0
        free = np.flatnonzero(~explored)
        if not incremental:
            _fit(gp, X_all[index], y, theta, optimize=refit)
            theta = fitted_theta(gp)
            mean, std = gp_posterior(gp, X_all[free])
        else:
            if refit:
                _fit(gp, X_all[index], y, theta, optimize=True)
                theta = state["theta_posterior"] = fitted_theta(gp)
            else:  # the hyper-parameters a fixed-theta refit would report (so the next refit starts where it did)
                theta = _fixed_fit_theta(gp.kernel, theta)
            if refit or post is None:  # post is None: resumed between refits; rebuild it as it was built then
                base = state["initial"] + done - done % refit_every
                post = _IncrementalPosterior(gp.kernel, state.get("theta_posterior", theta), gp.alpha, X_all,
                                             index[:base], capacity=state["initial"] + n_iter)
                for i in index[base:]:
                    post.add(int(i))
            mean, std = post.posterior(y, free)
        acq = acquisition(acquisition_function, mean, std, float(y.max()), kappa, xi)
        k = int(np.argmax(acq))
        gain = _gain(acquisition_function, float(acq[k]), y)
        state["fit_seconds"].append(time.perf_counter() - t0)
        state["acquisition"].append(float(acq[k]))
        state["gain"].append(gain)
        if tol > 0 and gain < tol:
            state["stopped"] = True
        else:
            new = np.array([free[k]], dtype=np.int64)
            y_new = np.asarray(evaluate(new), dtype=np.float64).reshape(-1)
            if not np.isfinite(y_new).all():
                raise DivergedError(f"the objective is not finite at candidate {new[0]} (iteration {done + 1})")
            index, y = np.concatenate([index, new]), np.concatenate([y, y_new])
            explored[new] = True
            done += 1
            if post is not None and done % refit_every != 0 and done < n_iter:
                post.add(int(new[0]))
            bar.update(1)
            bar.set_postfix(best=f"{y.max():.4g}")
        state.update(index=index, y=y, theta=theta)
        ckpt.maybe_save(done - 1, lambda: dict(state), force=state["stopped"] or done == n_iter)
    bar.close()
    _fit(gp, X_all[index], y, theta, optimize=theta is None)  # fit hyper-parameters if no iteration ran
    initial = np.zeros(len(index), dtype=bool)
    initial[: state["initial"]] = True
    return BOResult(index=index, y=y, initial=initial, acquisition=np.asarray(state["acquisition"]),
                    gain=np.asarray(state["gain"]), fit_seconds=np.asarray(state["fit_seconds"]),
                    stopped_early=bool(state["stopped"]), kernel=str(gp.kernel_.clone_with_theta(fitted_theta(gp))),
                    gp=gp)


def random_search(y: np.ndarray, budget: int, seeds: int, seed: int = 0) -> np.ndarray:
    """Best-so-far curves of random search without replacement over known values.

    Parameters
    ----------
    y : ndarray, shape (M,)
        Objective at every candidate (the ground truth).
    budget : int
        Evaluations per search (capped at M).
    seeds : int
        Number of independent searches.
    seed : int

    Returns
    -------
    ndarray, shape (seeds, budget)
    """
    return np.maximum.accumulate(y[random_search_indices(len(y), budget, seeds, seed)], axis=1)


def random_search_indices(M: int, budget: int, seeds: int, seed: int = 0) -> np.ndarray:
    """The candidates visited by :func:`random_search`, shape ``(seeds, min(budget, M))``."""
    budget = min(int(budget), M)
    return np.stack([np.random.default_rng(np.random.SeedSequence([seed, 0x5EA, s])).permutation(M)[:budget]
                     for s in range(int(seeds))]) if seeds else np.zeros((0, budget), np.int64)


# --- Batch proposals for BO rounds run as separate jobs (KL-schedule studies) ---------------------------------------
# Biswas et al. 2023 run zBO sequentially (Table 1: one EI maximizer per iteration). A workflow that trains one
# model per job proposes a *batch* of q points per round instead, each round a pure function of the observations
# of the earlier rounds, so that a rerun with more rounds reuses every earlier evaluation.

from threadpoolctl import threadpool_limits  # noqa: E402 -- kept with the appended section (additive change)

BATCH_STRATEGIES = ("constant_liar", "kriging_believer")
LIARS = ("min", "mean", "max")


@dataclass
class BatchProposal:
    """The points of one BO round (:func:`propose_batch`).

    Attributes
    ----------
    index : ndarray of int64, shape (m,)
        Candidate indices to evaluate, in pick order; empty when ``skip``.
    skip : bool
        True when the early-stop gain fell below ``tol`` (nothing to evaluate this round).
    acquisition : ndarray, shape (m,)
        Acquisition value of each pick when it was chosen (under the GP with the earlier
        picks' lies); for a skipped round the best value that was rejected.
    gain : float
        Early-stop gain (module docstring) of the first pick; NaN for the initial round.
    kernel : str
        The kernel fitted to the observations ('' for the initial round).
    initial : bool
        True for round 0 (random initial design).
    """

    index: np.ndarray
    skip: bool
    acquisition: np.ndarray
    gain: float
    kernel: str
    initial: bool


def round_sizes(n_initial: int, iterations: int, q: int) -> list[int]:
    """Evaluations per round: ``[n_initial, q, q, ..., r]`` with ``iterations`` BO evaluations after round 0.

    There are ``ceil(iterations / q)`` BO rounds; the last has ``r = iterations - q (rounds - 1)``
    points. With ``iterations`` a multiple of ``q``, raising ``iterations`` only appends rounds.

    Raises
    ------
    ValueError
        Unless ``n_initial >= 2``, ``iterations >= 0`` and ``q >= 1``.
    """
    if int(n_initial) < 2 or int(iterations) < 0 or int(q) < 1:
        raise ValueError(f"n_initial >= 2, iterations >= 0 and q >= 1 expected, got {n_initial}, {iterations}, {q}")
    full, rest = divmod(int(iterations), int(q))
    return [int(n_initial)] + [int(q)] * full + ([rest] if rest else [])


def _round_seed(seed: int, n_observed: int) -> int:
    return int(np.random.SeedSequence([int(seed), 0xBA7C, int(n_observed)]).generate_state(1)[0])


def _fit_gp(gp: GaussianProcessRegressor, X: np.ndarray, y: np.ndarray, theta: np.ndarray | None
            ) -> GaussianProcessRegressor:
    """Fit ``gp``: maximum likelihood if ``theta`` is None, else with the hyper-parameters ``theta`` fixed."""
    if theta is not None:
        gp.kernel = gp.kernel.clone_with_theta(theta)
        gp.optimizer = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gp.fit(X, y)


def propose_batch(candidates: np.ndarray, observed_index: np.ndarray, observed_y: np.ndarray, round: int, *,
                  q: int, n_initial: int, acquisition_function: str = "ei", xi: float = 0.0, kappa: float = 10.0,
                  tol: float = 0.0, strategy: str = "constant_liar", liar: str = "min", n_restarts: int = 2,
                  seed: int = 0) -> BatchProposal:
    """The candidates to evaluate in BO round ``round``: a pure, deterministic function of its arguments.

    - Round 0: ``n_initial`` distinct random candidates (:func:`initial_indices` with
      ``seed``; Table 1 step 5); the observations are ignored.
    - Round ``r >= 1``: the :func:`make_gp` surrogate is fitted by maximum likelihood to the
      observations (inputs scaled by :func:`unit_box`; ``n_restarts`` restarts seeded by
      ``(seed, r)``), then ``q`` points are picked one after the other, each the maximizer
      of the acquisition over the candidates neither observed nor picked (first index on
      ties). After each pick the GP is refitted, hyper-parameters fixed, with a *fantasy*
      observation at the pick (Ginsbourger et al. 2010, "Kriging is well-suited to
      parallelize optimization"):

      * ``constant_liar``: the lie is the ``liar`` statistic (``min``, ``mean``, ``max``) of
        the observed values; ``min`` is the pessimistic lie for maximization and spreads
        the batch most;
      * ``kriging_believer``: the lie is the GP posterior mean at the pick.

      With ``q = 1`` this is the paper's sequential EI step. Early stop: if ``tol > 0`` and
      the gain of the first pick (``max EI / span(y)`` for EI, see the module docstring) is
      below ``tol``, the round is skipped; later rounds see the same observations and
      skip too.

    Parameters
    ----------
    candidates : ndarray, shape (M, d)
        Feasible latent codes, in a fixed order.
    observed_index : ndarray of int, shape (k,)
        Candidate indices evaluated in the earlier rounds (distinct).
    observed_y : ndarray, shape (k,)
        Their objective values (maximized), finite.
    round : int
        Round number, ``>= 0``.
    q : int
        Points per BO round (``>= 1``; fewer when fewer candidates are left).
    n_initial : int
        Size of the random initial design (``>= 2``).
    acquisition_function, xi, kappa, tol
        As :func:`bayesian_optimization` (the paper: EI).
    strategy : {"constant_liar", "kriging_believer"}
    liar : {"min", "mean", "max"}
        Lie of ``constant_liar``.
    n_restarts : int
        Random restarts of the hyper-parameter fit.
    seed : int

    Returns
    -------
    BatchProposal

    Raises
    ------
    ValueError
        On bad settings, fewer than 2 observations in a BO round, repeated or
        out-of-range observed indices, or non-finite values.
    """
    candidates = np.asarray(candidates, dtype=np.float64)
    if candidates.ndim != 2 or len(candidates) < 2:
        raise ValueError(f"candidates: expected shape (M >= 2, d), got {candidates.shape}")
    if acquisition_function not in ACQUISITIONS:
        raise ValueError(f"acquisition: expected one of {ACQUISITIONS}, got {acquisition_function!r}")
    if strategy not in BATCH_STRATEGIES:
        raise ValueError(f"strategy: expected one of {BATCH_STRATEGIES}, got {strategy!r}")
    if liar not in LIARS:
        raise ValueError(f"liar: expected one of {LIARS}, got {liar!r}")
    if int(round) < 0 or int(q) < 1 or int(n_initial) < 2:
        raise ValueError(f"round >= 0, q >= 1 and n_initial >= 2 expected, got {round}, {q}, {n_initial}")
    M = len(candidates)
    if int(round) == 0:
        return BatchProposal(index=initial_indices(M, int(n_initial), seed), skip=False, acquisition=np.zeros(0),
                             gain=float("nan"), kernel="", initial=True)
    index = np.asarray(observed_index, dtype=np.int64).reshape(-1)
    y = np.asarray(observed_y, dtype=np.float64).reshape(-1)
    if len(index) != len(y) or len(index) < 2:
        raise ValueError(f"observed_index, observed_y: expected equal lengths >= 2, got {len(index)}, {len(y)}")
    if len(np.unique(index)) != len(index) or index.min() < 0 or index.max() >= M:
        raise ValueError(f"observed_index: expected distinct indices in [0, {M}), got {index.tolist()}")
    if not np.isfinite(y).all():
        raise ValueError("observed_y: non-finite objective values")
    # single-threaded BLAS: small matrices (faster than threads on a busy machine) and proposals that do not
    # depend on the job's thread count
    with threadpool_limits(limits=1):
        return _propose_gp(candidates, index, y, q, acquisition_function, xi, kappa, tol, strategy, liar,
                           n_restarts, seed)


def _propose_gp(candidates, index, y, q, acquisition_function, xi, kappa, tol, strategy, liar, n_restarts,
                seed) -> BatchProposal:
    M = len(candidates)
    X_all = unit_box(candidates)(candidates)
    free = np.ones(M, dtype=bool)
    free[index] = False
    gp = make_gp(candidates.shape[1], _round_seed(seed, len(index)), n_restarts)
    _fit_gp(gp, X_all[index], y, None)
    theta = fitted_theta(gp)
    kernel = str(gp.kernel_.clone_with_theta(theta))
    lie_const = {"min": y.min(), "mean": y.mean(), "max": y.max()}[liar]
    X_fit, y_fit = X_all[index], y.copy()
    picks, values, gain = [], [], float("nan")
    for j in range(min(int(q), int(free.sum()))):
        if j > 0:
            _fit_gp(gp, X_fit, y_fit, theta)
        cand = np.flatnonzero(free)
        mean, std = gp_posterior(gp, X_all[cand])
        acq = acquisition(acquisition_function, mean, std, float(y.max()), kappa, xi)
        k = int(np.argmax(acq))
        if j == 0:
            gain = _batch_gain(acquisition_function, float(acq[k]), y)
            if tol > 0 and gain < tol:
                return BatchProposal(index=np.zeros(0, np.int64), skip=True, acquisition=np.array([float(acq[k])]),
                                     gain=gain, kernel=kernel, initial=False)
        pick = int(cand[k])
        picks.append(pick)
        values.append(float(acq[k]))
        free[pick] = False
        lie = lie_const if strategy == "constant_liar" else float(mean[k])
        X_fit = np.vstack([X_fit, X_all[pick]])
        y_fit = np.append(y_fit, lie)
    return BatchProposal(index=np.asarray(picks, dtype=np.int64), skip=False, acquisition=np.asarray(values),
                         gain=gain, kernel=kernel, initial=False)


def _batch_gain(kind: str, best_acq: float, y: np.ndarray) -> float:
    """Early-stop gain as in :func:`bayesian_optimization` (``max EI / span``, ``max PI``, ``(max UCB - y*) / span``)."""
    span = float(np.ptp(y)) or 1.0
    if kind == "ei":
        return best_acq / span
    if kind == "pi":
        return best_acq
    return (best_acq - float(y.max())) / span


def random_pool(n_candidates: int, size: int, n_initial: int, seed: int = 0) -> np.ndarray:
    """A uniform random subset of candidates for the random-search baseline that starts with BO's initial design.

    The first ``n_initial`` entries are :func:`initial_indices` ``(n_candidates,
    n_initial, seed)`` -- exactly round 0 of :func:`propose_batch`, so those evaluations
    are shared -- and the rest are drawn uniformly without replacement from the other
    candidates. Both steps are uniform, so the pool is a uniform random ``size``-subset of
    the candidates. The draw is a prefix of one seeded permutation, so a pool is the prefix
    of any larger pool with the same ``n_initial`` and ``seed``.

    Returns
    -------
    ndarray of int64, shape (min(size, n_candidates),)

    Raises
    ------
    ValueError
        If ``size < n_initial``.
    """
    M = int(n_candidates)
    if int(size) < int(n_initial):
        raise ValueError(f"size: the random pool must hold the {n_initial} initial points, got {size}")
    first = initial_indices(M, int(n_initial), seed)
    rest = np.setdiff1d(np.arange(M), first)
    order = np.random.default_rng(np.random.SeedSequence([int(seed), 0x9001])).permutation(rest)
    return np.concatenate([first, order[:min(int(size), M) - len(first)]]).astype(np.int64)


def random_search_pool(pool_y: np.ndarray, budget: int, seeds: int, seed: int = 0) -> np.ndarray:
    """Best-so-far curves of random search replayed from the evaluated :func:`random_pool`.

    Search ``s`` visits a seeded random permutation of the pool, cut at ``budget``. A
    uniformly random ordered ``budget``-subset of a uniform random pool is a uniformly
    random ordered ``budget``-subset of all candidates, so every curve is distributed
    exactly as a random search without replacement over the feasible grid (the objective
    of a candidate is a deterministic function of it, so no evaluation is repeated). The
    curves share the pool, so they are *not* independent: with ``pool size == budget``
    all of them end at the pool's maximum and the median over seeds at the full budget
    is one random-search realization. A pool several times larger than the budget makes
    the median over seeds a useful estimate of the median random-search outcome.

    Parameters
    ----------
    pool_y : ndarray, shape (P,)
        Objective at the pool's candidates (finite).
    budget : int
        Evaluations per search, ``1 <= budget <= P``.
    seeds : int
        Number of searches.
    seed : int

    Returns
    -------
    ndarray, shape (seeds, budget)

    Raises
    ------
    ValueError
        If the pool is smaller than the budget or holds non-finite values.
    """
    pool_y = np.asarray(pool_y, dtype=np.float64).reshape(-1)
    if not 1 <= int(budget) <= len(pool_y):
        raise ValueError(f"budget: expected 1 <= budget <= pool size {len(pool_y)}, got {budget}")
    if not np.isfinite(pool_y).all():
        raise ValueError("pool_y: non-finite objective values")
    order = [np.random.default_rng(np.random.SeedSequence([int(seed), 0x5EB, s])).permutation(len(pool_y))[:budget]
             for s in range(int(seeds))]
    if not order:
        return np.zeros((0, int(budget)))
    return np.maximum.accumulate(pool_y[np.stack(order)], axis=1)
