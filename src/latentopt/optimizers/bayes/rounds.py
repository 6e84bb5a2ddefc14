"""BO rounds over the feasible points of a decoded latent grid, each round and evaluation its own job.

The zBO of Biswas et al. 2023 (Table 1) searches a grid of latent codes ``z`` of a trajectory
VAE whose decoded trajectories satisfy the constraints (``grid["feasible"]``,
:func:`latentopt.latent.make_grid`). Run as a workflow, a BO run is a chain of rounds: round
``r`` proposes a batch from the evaluations of rounds ``< r`` (:func:`propose_round`, a pure
function, so that more rounds reuse every earlier evaluation; :func:`~.batch.propose_batch`),
the points are evaluated by separate jobs, and the run is gathered at the end
(:func:`gather_run`: the evaluations in order, the random-search baseline over
:func:`random_pool_indices` at the same budget, the GP surface :func:`gp_surface`).

A grid is a mapping with ``z (G, d)`` latent codes, ``trajectories (G, N)`` their decoded
trajectories and ``feasible (G,)`` bool; indices here are *grid* indices (the candidates of
:mod:`.batch` are the feasible points only). The objective is maximized.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from .baselines import random_pool, random_search_pool
from .batch import BatchProposal, propose_batch, round_sizes
from .gp import gp_posterior, make_gp, unit_box

__all__ = ["feasible_candidates", "gather_run", "gp_surface", "propose_round", "random_pool_indices"]


def feasible_candidates(grid: Mapping) -> np.ndarray:
    """Grid indices of the feasible points, the candidates of every proposal.

    Parameters
    ----------
    grid : mapping
        ``feasible (G,)`` bool.

    Returns
    -------
    ndarray of int, shape (k,)
        Increasing.

    Raises
    ------
    ValueError
        If fewer than 2 points are feasible.
    """
    ok = np.flatnonzero(np.asarray(grid["feasible"], dtype=bool))
    if len(ok) < 2:
        raise ValueError(f"only {len(ok)} feasible grid points; widen the bounds or the latent grid")
    return ok


def propose_round(grid: Mapping, observed_index: np.ndarray, observed_y: np.ndarray, round: int,
                  bo: Mapping) -> dict[str, np.ndarray]:
    """The grid points of BO round ``round`` from the evaluations of rounds ``< round``.

    A pure function of its inputs (:func:`~.batch.propose_batch` over the feasible grid
    points), so rerunning with a larger ``bo["iterations"]`` reproduces the
    earlier rounds and only adds new ones. Round 0 proposes ``n_initial`` points, every later
    round ``q`` (``iterations`` is a multiple of ``q``; it is not needed here, and only checked
    when given).

    Parameters
    ----------
    grid : mapping
        ``z``, ``trajectories``, ``feasible`` (module docstring).
    observed_index : ndarray of int, shape (k,)
        *Grid* indices evaluated so far (all earlier rounds).
    observed_y : ndarray, shape (k,)
        Their objective values.
    round : int
    bo : mapping
        A BO run block: ``n_initial``, ``q``, optionally ``iterations`` and the settings of
        :func:`~.batch.propose_batch` (``acquisition``, ``xi``, ``kappa``, ``tol``,
        ``strategy``, ``liar``, ``n_restarts``, ``seed``).

    Returns
    -------
    dict
        ``index (m,)`` grid indices (empty when skipped), ``z (m, d)``, ``beta (m, N)`` (their
        decoded trajectories), ``skip ()`` bool, ``acquisition (m,)``, ``gain ()``, ``round ()``,
        ``kernel`` (str).

    Raises
    ------
    ValueError
        If ``round`` is past the last round of ``bo``, or an observed index is not feasible.
    """
    ok = feasible_candidates(grid)
    if int(round) < 0:
        raise ValueError(f"round: expected an int >= 0, got {round}")
    if "iterations" in bo:
        last = len(round_sizes(bo["n_initial"], bo["iterations"], bo["q"])) - 1
        if int(round) > last:
            raise ValueError(f"round: expected 0 .. {last} for these bo settings, got {round}")
    size = int(bo["n_initial"]) if int(round) == 0 else int(bo["q"])
    pos = np.full(len(grid["feasible"]), -1)
    pos[ok] = np.arange(len(ok))
    obs = np.asarray(observed_index, dtype=np.int64).reshape(-1)
    if (pos[obs] < 0).any():
        raise ValueError("observed_index: contains infeasible grid points")
    prop: BatchProposal = propose_batch(
        grid["z"][ok], pos[obs], observed_y, int(round), q=size, n_initial=bo["n_initial"],
        acquisition_function=bo.get("acquisition", "ei"), xi=bo.get("xi", 0.0), kappa=bo.get("kappa", 10.0),
        tol=bo.get("tol", 0.0), strategy=bo.get("strategy", "constant_liar"), liar=bo.get("liar", "min"),
        n_restarts=bo.get("n_restarts", 2), seed=bo.get("seed", 0))
    index = ok[prop.index]
    return {"index": index, "z": np.asarray(grid["z"])[index], "beta": np.asarray(grid["trajectories"])[index],
            "skip": np.bool_(prop.skip), "acquisition": prop.acquisition, "gain": np.float64(prop.gain),
            "round": np.int64(round), "kernel": prop.kernel}


def random_pool_indices(grid: Mapping, bo: Mapping, size: int | None = None) -> np.ndarray:
    """Grid indices of the random-search pool (:func:`~.baselines.random_pool`).

    The first ``n_initial`` are BO's round 0 (shared evaluations); the other
    ``size - n_initial`` need their own evaluations. ``size`` defaults to ``random_pool``,
    else the full budget ``n_initial + iterations``. A pool is a prefix of any larger one
    (same grid, ``n_initial`` and ``seed``), so growing it reuses every evaluated point.

    Returns
    -------
    ndarray of int64, shape (min(size, k),)
        ``k`` feasible points.
    """
    ok = feasible_candidates(grid)
    if size is None:
        size = int(bo.get("random_pool") or int(bo["n_initial"]) + int(bo["iterations"]))
    return ok[random_pool(len(ok), int(size), int(bo["n_initial"]), bo.get("seed", 0))]


def gp_surface(grid: Mapping, index: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """GP posterior mean and std on every grid point, fitted to the evaluations (the paper's Figs. 6, 8, 10 maps).

    Same surrogate and input scaling as the proposals (feasible points' bounding box);
    values at infeasible points are extrapolations (mask them with ``grid["feasible"]``).

    Parameters
    ----------
    grid : mapping
        ``z (G, d)``, ``feasible (G,)``.
    index : ndarray of int, shape (k,)
        Grid indices evaluated.
    y : ndarray, shape (k,)
        Their objective values.
    seed : int
        Seed of the GP's hyperparameter restarts (:func:`~.gp.make_gp`).

    Returns
    -------
    mean, std : ndarray, shape (G,)
    """
    ok = feasible_candidates(grid)
    scale = unit_box(np.asarray(grid["z"])[ok])
    gp = make_gp(np.shape(grid["z"])[1], seed)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(scale(np.asarray(grid["z"])[np.asarray(index)]), np.asarray(y, dtype=np.float64))
    return gp_posterior(gp, scale(grid["z"]))


def gather_run(grid: Mapping, rounds: Sequence[Mapping], evaluations: Sequence[Sequence[Mapping]],
               pool_index: np.ndarray, pool_y: np.ndarray, bo: Mapping) -> tuple[dict[str, np.ndarray], dict]:
    """The ``bo/<run>.h5`` arrays of a run.

    Parameters
    ----------
    grid : mapping
        ``z``, ``trajectories``, ``feasible`` (module docstring).
    rounds : sequence of mappings
        :func:`propose_round` outputs, in round order.
    evaluations : sequence of sequences of mappings
        ``evaluations[r][s]``: the evaluation of slot ``s`` of round ``r``, ``objective``,
        ``accuracy``, ``l1``, ``l2`` (the zBO objective and its parts,
        :func:`latentopt.schedule_objective.evaluate_schedule`); slots of skipped rounds
        are absent.
    pool_index, pool_y : ndarray, shape (P,)
        Random-search pool (:func:`random_pool_indices`) and its objective values.
    bo : mapping
        ``random_seeds`` (default 20) and ``seed`` (default 0).

    Returns
    -------
    datasets : dict
        ``z (k, 2)``, ``y (k,)``, ``beta (k, N)``, ``accuracy (k,)``, ``round (k,)``,
        ``best_index ()`` (position in the evaluation order), ``random_best (seeds, k)``;
        extras ``index (k,)`` grid indices, ``l1 (k,)``, ``l2 (k,)``, ``best_so_far (k,)``,
        ``gp_mean``, ``gp_std`` (G^2,), ``skipped_rounds (r,)``, ``gain (rounds,)``,
        ``pool_index (P,)``, ``pool_y (P,)``.
    info : dict
        ``evaluations``, ``best_y``, ``best_accuracy``, ``random_median`` (None without a
        pool), ``stopped_early``, ``random_pool``.

    Raises
    ------
    ValueError
        If a round has not as many evaluations as proposals, or there are fewer than 2.
    """
    idx, y, acc, rnd, l1, l2 = [], [], [], [], [], []
    skipped, gains = [], []
    for r, (prop, evs) in enumerate(zip(rounds, evaluations)):
        gains.append(float(prop["gain"]))
        if bool(prop["skip"]):
            skipped.append(r)
            continue
        if len(evs) != len(prop["index"]):
            raise ValueError(f"round {r}: {len(prop['index'])} proposals but {len(evs)} evaluations")
        for g, ev in zip(prop["index"], evs):
            idx.append(int(g)), y.append(float(ev["objective"])), acc.append(float(ev["accuracy"]))
            rnd.append(r), l1.append(float(ev["l1"])), l2.append(float(ev["l2"]))
    index, y = np.asarray(idx, dtype=np.int64), np.asarray(y)
    if len(index) < 2:
        raise ValueError("gather_run: fewer than 2 evaluations")
    best = int(np.argmax(y))
    budget = len(y)
    pool_y = np.asarray(pool_y, dtype=np.float64)
    rand = random_search_pool(pool_y, min(budget, len(pool_y)), int(bo.get("random_seeds", 20)), bo.get("seed", 0))
    gp_mean, gp_std = gp_surface(grid, index, y, bo.get("seed", 0))
    data = dict(z=np.asarray(grid["z"])[index], y=y, beta=np.asarray(grid["trajectories"])[index],
                accuracy=np.asarray(acc), round=np.asarray(rnd, dtype=np.int64), best_index=np.int64(best),
                random_best=rand, index=index, l1=np.asarray(l1), l2=np.asarray(l2),
                best_so_far=np.maximum.accumulate(y), gp_mean=gp_mean, gp_std=gp_std,
                skipped_rounds=np.asarray(skipped, dtype=np.int64), gain=np.asarray(gains),
                pool_index=np.asarray(pool_index, dtype=np.int64), pool_y=pool_y)
    info = {"evaluations": budget, "best_y": float(y[best]), "best_accuracy": float(acc[best]),
            "random_median": float(np.median(rand[:, -1])) if len(rand) else None,
            "stopped_early": bool(skipped), "random_pool": len(pool_y)}
    return data, info
