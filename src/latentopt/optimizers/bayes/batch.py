"""Batch proposals for BO rounds run as separate jobs (KL-schedule studies).

Biswas et al. 2023 run zBO sequentially (Table 1: one EI maximizer per iteration). A workflow
that trains one model per job proposes a *batch* of q points per round instead
(:func:`propose_batch`), each round a pure function of the observations of the earlier rounds,
so that a rerun with more rounds reuses every earlier evaluation. Round 0 is the random
initial design of the sequential loop (:func:`~.bo.initial_indices`); the GP, the
acquisitions and the early-stop gain are those of :mod:`.gp` and :mod:`.acquisitions`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .acquisitions import acquisition, early_stop_gain
from .bo import checked_candidates, initial_indices
from .gp import _fit, fitted_theta, gp_posterior, make_gp, unit_box

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
        Early-stop gain (:func:`~.acquisitions.early_stop_gain`) of the first pick; NaN for the initial round.
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
      the gain of the first pick (:func:`~.acquisitions.early_stop_gain`, ``max EI / span(y)`` for EI) is
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
    candidates = checked_candidates(candidates, acquisition_function)
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
    """Round ``r >= 1`` of :func:`propose_batch` on checked inputs: the ML fit, then ``q`` picks with lies."""
    M = len(candidates)
    X_all = unit_box(candidates)(candidates)
    free = np.ones(M, dtype=bool)
    free[index] = False
    gp = make_gp(candidates.shape[1], _round_seed(seed, len(index)), n_restarts)
    _fit(gp, X_all[index], y, None, optimize=True)
    theta = fitted_theta(gp)
    kernel = str(gp.kernel_.clone_with_theta(theta))
    lie_const = {"min": y.min(), "mean": y.mean(), "max": y.max()}[liar]
    X_fit, y_fit = X_all[index], y.copy()
    picks, values, gain = [], [], float("nan")
    for j in range(min(int(q), int(free.sum()))):
        if j > 0:
            _fit(gp, X_fit, y_fit, theta, optimize=False)
        cand = np.flatnonzero(free)
        mean, std = gp_posterior(gp, X_all[cand])
        acq = acquisition(acquisition_function, mean, std, float(y.max()), kappa, xi)
        k = int(np.argmax(acq))
        if j == 0:
            gain = early_stop_gain(acquisition_function, float(acq[k]), y)
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
