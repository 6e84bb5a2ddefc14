"""The FerroSIM lattice: neighbours and coupling weights of the three boundaries.

The coupling energy of :mod:`latentopt.physics.ferrosim` is

    F_K = (K / 4) sum_i sum_{j in nn(i)} w_ij |p_i - p_j|^2 + (K / 2) sum_i s_i |p_i|^2

with bond weights ``w_ij = w_ji`` (:func:`neighbour_table`) and self weights ``s_i``
(:func:`self_coupling`) set by the lattice's ``boundary`` (``n_i`` is the number of
actual neighbours of site ``i``):

- ``"periodic"``: ``w_ij = 1/4``, ``s_i = 0``; ``F_K = (K/8) sum_bonds |p_i - p_j|^2``.
- ``"open"``: no bonds across the edges; ``w_ij = (1/n_i + 1/n_j) / 2``, ``s_i = 0``:
  each site's coupling energy ``K/(4 n_i) sum_j |p_i - p_j|^2`` is averaged over the
  neighbours it has.
- ``"ferrosim"``: FerroSim's native lattice (its neighbour search does not wrap, yet the
  coupling divides by 4): no bonds across the edges, ``w_ij = 1/4``,
  ``s_i = (4 - n_i)/4``. Then ``F_K = (K/2) sum_i |p_i|^2 - (K/4) sum_bonds p_i . p_j``
  ``= (K/8) [sum_bonds |p_i - p_j|^2 + sum_i (4 - n_i) |p_i|^2]``: every missing
  neighbour is a phantom site held at ``p = 0``.

Sites are numbered ``y * N + x`` (axis -1 of a map is x; docs/design.md, "Physics conventions").
"""

from __future__ import annotations

import numpy as np

BOUNDARIES = ("periodic", "open", "ferrosim")


def neighbour_table(N: int, boundary: str) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours and coupling weights of every site of an ``N x N`` lattice.

    Parameters
    ----------
    N : int
    boundary : {"periodic", "open", "ferrosim"}

    Returns
    -------
    nbr : ndarray of int64, shape (N*N, 4)
        Flat indices (``y * N + x``) of the +x, -x, +y, -y neighbours; -1 where a site of
        an open or ``"ferrosim"`` lattice has none. On a periodic lattice with N = 1 or 2 a
        site may list the same neighbour twice, as the periodic images do.
    weight : ndarray of float64, shape (N*N, 4)
        Bond weights ``w_ij`` (module docstring; 0 where there is no neighbour), so that the
        coupling force is ``-K [s_i p_i + sum_j w_ij (p_i - p_j)]``: ``1/4`` (periodic,
        ``"ferrosim"``) or ``(1/n_i + 1/n_j) / 2`` (open).
    """
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary: expected one of {BOUNDARIES}, got {boundary!r}")
    y, x = np.divmod(np.arange(N * N), N)
    cand = [(y, x + 1), (y, x - 1), (y + 1, x), (y - 1, x)]
    nbr = np.empty((N * N, 4), dtype=np.int64)
    for k, (yy, xx) in enumerate(cand):
        if boundary == "periodic":
            nbr[:, k] = (yy % N) * N + xx % N
        else:
            inside = (yy >= 0) & (yy < N) & (xx >= 0) & (xx < N)
            nbr[:, k] = np.where(inside, yy * N + xx, -1)
    if boundary == "ferrosim":
        return nbr, np.where(nbr >= 0, 0.25, 0.0)
    count = (nbr >= 0).sum(axis=1).astype(float)
    inv = np.divide(1.0, count, out=np.zeros_like(count), where=count > 0)
    weight = np.where(nbr >= 0, 0.5 * (inv[:, None] + inv[np.maximum(nbr, 0)]), 0.0)
    return nbr, weight


def self_coupling(N: int, boundary: str) -> np.ndarray:
    """Self weights ``s_i`` of the coupling (module docstring): ``(4 - n_i) / 4`` on a ``"ferrosim"`` lattice.

    A missing neighbour of FerroSim's lattice acts as a phantom site with ``p = 0``: the
    coupling force ``-K (p_i - sum_{j existing} p_j / 4)`` is
    ``-K [(4 - n_i)/4 p_i + sum_j (p_i - p_j) / 4]``. Zero for ``"periodic"`` and ``"open"``.

    Parameters
    ----------
    N : int
    boundary : {"periodic", "open", "ferrosim"}

    Returns
    -------
    ndarray of float64, shape (N*N,)
    """
    nbr, _ = neighbour_table(N, boundary)
    if boundary != "ferrosim":
        return np.zeros(N * N)
    return (4 - (nbr >= 0).sum(axis=1)) / 4.0
