"""Sequential Bayesian optimization over a finite set of feasible latent codes (zBO).

Biswas et al. 2023, Table 1 steps 5-10, and the lecture's "BO in the latent space": the
candidates are the feasible points of a decoded latent grid; ``n_initial`` of them are
drawn at random and evaluated (:func:`initial_indices`), then each iteration fits the GP
surrogate (:mod:`.gp`) to all observations, scores every unexplored candidate with an
acquisition function (:mod:`.acquisitions`) and evaluates the best one. The objective is
*maximized*; the run stops early when the gain of an iteration
(:func:`~.acquisitions.early_stop_gain`) falls below ``tol``.

Hyper-parameters of the kernel are refitted by maximum likelihood every ``refit_every``
iterations, starting from the previous values (with ``n_restarts`` random restarts on the
first fit); in between, the posterior over all candidates is kept incrementally
(:class:`~.gp._IncrementalPosterior`). It takes 8 bytes per (observation, candidate); beyond
``_INCREMENTAL_MAX_BYTES`` the per-iteration fixed-hyper-parameter refit and
:func:`~.gp.gp_posterior` (chunked) are used instead, with the same choices.

Interrupted runs resume from a checkpoint: the observations and the kernel
hyper-parameters after every iteration. The incremental posterior is rebuilt from them
exactly, so a resumed run makes the same choices as an uninterrupted one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from skopt.learning import GaussianProcessRegressor
from tqdm.auto import tqdm

from latentopt.errors import DivergedError
from latentopt.optimizers.checkpoint import Checkpointer

from .acquisitions import acquisition, check_acquisition, early_stop_gain
from .gp import _fit, _fixed_fit_theta, _IncrementalPosterior, fitted_theta, gp_posterior, make_gp, unit_box

#: ``evaluate(indices (m,)) -> y (m,)``: the objective at candidates (decode + simulate)
Evaluate = Callable[[np.ndarray], np.ndarray]

#: keep the GP posterior incrementally between refits (False: refit with fixed hyper-parameters and
#: call :func:`gp_posterior` every iteration, the reference path of the tests and the benchmark)
_INCREMENTAL_POSTERIOR = True
#: the incremental posterior holds (observations x candidates) float64; above this many bytes the
#: reference path (chunked, O(chunk x observations) memory) is used instead
_INCREMENTAL_MAX_BYTES = 2 * 1024**3


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


def initial_indices(n_candidates: int, n_initial: int, seed: int) -> np.ndarray:
    """``n_initial`` distinct random candidate indices from ``seed`` (Table 1 step 5)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xB0]))
    return rng.choice(n_candidates, size=min(n_initial, n_candidates), replace=False).astype(np.int64)


def checked_candidates(candidates: np.ndarray, acquisition_function: str) -> np.ndarray:
    """``candidates`` as float64 ``(M, d)`` after the checks every BO entry point makes.

    Raises
    ------
    ValueError
        If ``candidates`` is not 2D with ``M >= 2`` rows or the acquisition is unknown.
    """
    candidates = np.asarray(candidates, dtype=np.float64)
    if candidates.ndim != 2 or len(candidates) < 2:
        raise ValueError(f"candidates: expected shape (M >= 2, d), got {candidates.shape}")
    check_acquisition(acquisition_function)
    return candidates


class _Surrogate:
    """The GP of one BO run and its posterior over the candidates, refitted every ``refit_every`` iterations.

    Holds the current log hyper-parameters ``theta`` (None before the first fit) and, on the
    incremental path, the :class:`_IncrementalPosterior` between refits; the run's ``state``
    dict keeps ``theta_posterior``, the hyper-parameters of the last refit, for a resume.
    """

    def __init__(self, X_all: np.ndarray, gp: GaussianProcessRegressor, theta: np.ndarray | None, refit_every: int,
                 capacity: int):
        self.X_all, self.gp, self.theta, self.refit_every, self.capacity = X_all, gp, theta, refit_every, capacity
        self.incremental = _INCREMENTAL_POSTERIOR and 8 * capacity * len(X_all) <= _INCREMENTAL_MAX_BYTES
        self.post = None

    def posterior(self, state: dict, done: int, free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and std at candidates ``free`` given ``state``'s observations, after ``done`` iterations."""
        index, y, refit = state["index"], state["y"], done % self.refit_every == 0
        if not self.incremental:
            _fit(self.gp, self.X_all[index], y, self.theta, optimize=refit)
            self.theta = fitted_theta(self.gp)
            return gp_posterior(self.gp, self.X_all[free])
        if refit:
            _fit(self.gp, self.X_all[index], y, self.theta, optimize=True)
            self.theta = state["theta_posterior"] = fitted_theta(self.gp)
        else:  # the hyper-parameters a fixed-theta refit would report (so the next refit starts where it did)
            self.theta = _fixed_fit_theta(self.gp.kernel, self.theta)
        if refit or self.post is None:  # post is None: resumed between refits; rebuild it as it was built then
            base = state["initial"] + done - done % self.refit_every
            self.post = _IncrementalPosterior(self.gp.kernel, state.get("theta_posterior", self.theta), self.gp.alpha,
                                              self.X_all, index[:base], capacity=self.capacity)
            for i in index[base:]:
                self.post.add(int(i))
        return self.post.posterior(y, free)

    def observed(self, i: int, done: int, n_iter: int) -> None:
        """Condition the incremental posterior on candidate ``i``, unless the next iteration refits anyway."""
        if self.post is not None and done % self.refit_every != 0 and done < n_iter:
            self.post.add(i)


def _start(state: dict | None, evaluate: Evaluate, M: int, n_initial: int, seed: int) -> dict:
    """The loop state: the checkpointed one, else the random initial design, evaluated (Table 1 step 5).

    Raises
    ------
    DivergedError
        If an initial observation is not finite.
    """
    if state is None:
        index = initial_indices(M, n_initial, seed)
        y = np.asarray(evaluate(index), dtype=np.float64).reshape(-1)
        state = dict(index=index, y=y, initial=len(index), acquisition=[], gain=[], fit_seconds=[], theta=None,
                     stopped=False)
    state["index"], state["y"] = np.asarray(state["index"], np.int64), np.asarray(state["y"], np.float64)
    if not np.isfinite(state["y"]).all():
        raise DivergedError(f"the objective is not finite at {int((~np.isfinite(state['y'])).sum())} of the "
                            f"{len(state['y'])} initial points")
    return state


def _observe(state: dict, evaluate: Evaluate, i: int, iteration: int) -> None:
    """Evaluate candidate ``i`` and append it to ``state``'s observations.

    Raises
    ------
    DivergedError
        If the objective is not finite there.
    """
    new = np.array([i], dtype=np.int64)
    y_new = np.asarray(evaluate(new), dtype=np.float64).reshape(-1)
    if not np.isfinite(y_new).all():
        raise DivergedError(f"the objective is not finite at candidate {new[0]} (iteration {iteration})")
    state["index"], state["y"] = np.concatenate([state["index"], new]), np.concatenate([state["y"], y_new])


def _result(state: dict, surrogate: _Surrogate) -> BOResult:
    """The :class:`BOResult` of a finished loop, with the GP fitted to all observations."""
    index, y, theta, gp = state["index"], state["y"], surrogate.theta, surrogate.gp
    _fit(gp, surrogate.X_all[index], y, theta, optimize=theta is None)  # fit hyper-parameters if no iteration ran
    initial = np.zeros(len(index), dtype=bool)
    initial[: state["initial"]] = True
    return BOResult(index=index, y=y, initial=initial, acquisition=np.asarray(state["acquisition"]),
                    gain=np.asarray(state["gain"]), fit_seconds=np.asarray(state["fit_seconds"]),
                    stopped_early=bool(state["stopped"]), kernel=str(gp.kernel_.clone_with_theta(fitted_theta(gp))),
                    gp=gp)


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
        See :func:`~.acquisitions.acquisition`.
    tol : float
        Stop when the gain (:func:`~.acquisitions.early_stop_gain`) falls below ``tol``; 0 never stops early.
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
    candidates = checked_candidates(candidates, acquisition_function)
    if n_initial < 2 or iterations < 0 or refit_every < 1:
        raise ValueError(f"n_initial >= 2, iterations >= 0, refit_every >= 1 expected, got {n_initial}, "
                         f"{iterations}, {refit_every}")
    M = len(candidates)
    settings = dict(n_initial=n_initial, iterations=iterations, acquisition=acquisition_function, kappa=kappa, xi=xi,
                    tol=tol, refit_every=refit_every, n_restarts=n_restarts, seed=seed, M=M,
                    candidates=float(candidates.sum()), context=context or {})
    ckpt = Checkpointer(checkpoint, settings, every=checkpoint_every)
    state = _start(ckpt.load(), evaluate, M, n_initial, seed)
    n_iter = min(iterations, M - state["initial"])
    surrogate = _Surrogate(unit_box(candidates)(candidates), make_gp(candidates.shape[1], seed, n_restarts),
                           state["theta"], refit_every, capacity=state["initial"] + n_iter)
    explored = np.zeros(M, dtype=bool)
    explored[state["index"]] = True
    done = len(state["index"]) - state["initial"]
    bar = tqdm(total=n_iter, initial=done, disable=not progress, desc=f"BO ({acquisition_function})", unit="it")
    while done < n_iter and not state["stopped"]:
        t0 = time.perf_counter()
        free = np.flatnonzero(~explored)
        mean, std = surrogate.posterior(state, done, free)
        acq = acquisition(acquisition_function, mean, std, float(state["y"].max()), kappa, xi)
        k = int(np.argmax(acq))
        gain = early_stop_gain(acquisition_function, float(acq[k]), state["y"])
        state["fit_seconds"].append(time.perf_counter() - t0)
        state["acquisition"].append(float(acq[k]))
        state["gain"].append(gain)
        if tol > 0 and gain < tol:
            state["stopped"] = True
        else:
            _observe(state, evaluate, int(free[k]), done + 1)
            explored[free[k]] = True
            done += 1
            surrogate.observed(int(free[k]), done, n_iter)
            bar.update(1)
            bar.set_postfix(best=f"{state['y'].max():.4g}")
        state["theta"] = surrogate.theta
        ckpt.maybe_save(done - 1, lambda: dict(state), force=state["stopped"] or done == n_iter)
    bar.close()
    return _result(state, surrogate)
