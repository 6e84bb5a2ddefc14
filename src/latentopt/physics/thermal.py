"""Thermal states over a grid of final temperatures: each sample annealed to its own temperature.

Sample ``i`` of a set ends at temperature ``T_k``, ``k = i mod n_temperatures``
(:func:`sample_temperature_index`; balanced and independent of how the set is split into
shards), after a geometric anneal from ``T_start`` to ``T_k`` and a hold at ``T_k``
(:func:`thermal_schedule`), run by the heat bath of :mod:`latentopt.physics.heatbath`
(Miyatake et al. 1986; docs/design.md, "Physics conventions": temperatures in units of J,
``k_B = 1``). Each sample's random stream depends only on ``(seed, index)``, so a state does
not depend on the other samples, the grouping or the thread count.

This is how the upscaling study makes its training states and its heat-bath reference at a
larger size (Mills, Casert & Tamblyn, NeurIPS 2019 ML4PS workshop, label the states by
energy; the temperature spreads the energies).
"""

from __future__ import annotations

import numpy as np

from .hamiltonian import ChiralMagnet
from .heatbath import anneal, geometric_schedule

__all__ = ["sample_temperature_index", "temperature_grid", "thermal_schedule", "thermal_states"]


def temperature_grid(simulate: dict) -> np.ndarray:
    """Final temperatures of the study: ``n_temperatures`` values in ``[T_min, T_max]``.

    Parameters
    ----------
    simulate : dict
        ``T_min``, ``T_max`` (> 0, units of J), ``n_temperatures`` (>= 1; one value
        means ``T_min``) and optionally ``spacing``: ``"linear"`` (default; for the chiral
        magnet the energy per spin is roughly linear in T between 0.1 and 1.2 J, so the
        labels spread about evenly) or ``"geometric"`` (denser at low T).

    Returns
    -------
    ndarray, shape (n_temperatures,)
        Increasing temperatures.

    Raises
    ------
    ValueError
        Naming the key, on non-positive or inverted temperatures or ``n_temperatures < 1``.
    """
    t_min, t_max, k = float(simulate["T_min"]), float(simulate["T_max"]), int(simulate["n_temperatures"])
    if not 0 < t_min <= t_max:
        raise ValueError(f"simulate.T_min, simulate.T_max: expected 0 < T_min <= T_max, got {t_min}, {t_max}")
    if k < 1:
        raise ValueError(f"simulate.n_temperatures: expected an int >= 1, got {k}")
    spacing = simulate.get("spacing", "linear")
    if spacing not in ("linear", "geometric"):
        raise ValueError(f"simulate.spacing: expected 'linear' or 'geometric', got {spacing!r}")
    if k == 1:
        return np.array([t_min])
    return np.linspace(t_min, t_max, k) if spacing == "linear" else np.geomspace(t_min, t_max, k)


def sample_temperature_index(indices: np.ndarray, n_temperatures: int) -> np.ndarray:
    """Temperature of each global sample index: ``index mod n_temperatures`` (balanced, shard-independent).

    Parameters
    ----------
    indices : ndarray of int, shape (m,)
    n_temperatures : int

    Returns
    -------
    ndarray of int64, shape (m,)
        Index into :func:`temperature_grid` of each sample.
    """
    return np.asarray(indices, dtype=np.int64) % int(n_temperatures)


def thermal_schedule(T_start: float, T: float, n_anneal: int, n_hold: int) -> np.ndarray:
    """Sweep temperatures: a geometric anneal from ``T_start`` to ``T`` over ``n_anneal`` sweeps, then ``n_hold`` at ``T``.

    Returns
    -------
    ndarray, shape (n_anneal + n_hold,)
        Temperature of each sweep (units of J).

    Raises
    ------
    ValueError
        If ``n_anneal < 1`` or ``n_hold < 0`` (see also :func:`geometric_schedule`).
    """
    if n_hold < 0:
        raise ValueError(f"simulate.n_hold: expected an int >= 0, got {n_hold}")
    return np.concatenate([geometric_schedule(T_start, T, n_anneal), np.full(int(n_hold), float(T))])


def thermal_states(model: ChiralMagnet, indices: np.ndarray, seed: int, temperatures: np.ndarray,
                   t_index: np.ndarray, T_start: float, n_anneal: int, n_hold: int) -> np.ndarray:
    """Heat-bath states of the given samples, each annealed to its own final temperature.

    A thin wrapper around :func:`latentopt.physics.heatbath.anneal`: samples are grouped
    by final temperature and each group is annealed with one call (schedule
    :func:`thermal_schedule`). Each sample's random stream depends only on
    ``(seed, index)``, so a sample's state does not depend on the grouping, the other
    samples or the thread count.

    Parameters
    ----------
    model : ChiralMagnet
    indices : ndarray of int, shape (m,)
        Global sample indices.
    seed : int
    temperatures : ndarray, shape (k,)
        Final temperatures (units of J).
    t_index : ndarray of int, shape (m,)
        Index into ``temperatures`` of each sample.
    T_start, n_anneal, n_hold
        Schedule, see :func:`thermal_schedule`.

    Returns
    -------
    ndarray, shape (m, 3, L, L), float64

    Raises
    ------
    ValueError
        If ``t_index`` and ``indices`` differ in shape.
    """
    indices = np.asarray(indices, dtype=np.int64)
    t_index = np.asarray(t_index, dtype=np.int64)
    if t_index.shape != indices.shape:
        raise ValueError(f"t_index: expected shape {indices.shape}, got {t_index.shape}")
    out = np.empty((len(indices), 3, model.L, model.L))
    for k in np.unique(t_index):
        sel = np.flatnonzero(t_index == k)
        out[sel] = anneal(model, indices[sel], seed, thermal_schedule(T_start, temperatures[k], n_anneal, n_hold))
    return out
