"""Random-search baselines for zBO: search without replacement over the candidates.

:func:`random_search` replays searches over a known objective (the ground truth of a
trajectories study); :func:`random_pool` and :func:`random_search_pool` give the baseline of
a study whose evaluations are jobs (schedules): one evaluated random pool that starts with
BO's initial design (:func:`~.bo.initial_indices`), replayed by many seeded searches.
"""

from __future__ import annotations

import numpy as np

from .bo import initial_indices


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


def random_pool(n_candidates: int, size: int, n_initial: int, seed: int = 0) -> np.ndarray:
    """A uniform random subset of candidates for the random-search baseline that starts with BO's initial design.

    The first ``n_initial`` entries are :func:`initial_indices` ``(n_candidates,
    n_initial, seed)`` -- exactly round 0 of :func:`~.batch.propose_batch`, so those evaluations
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
