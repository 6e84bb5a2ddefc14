"""Spin structure factor ``S(q)``, its radial profile and peak, its stars and zone-boundary weight (numpy FFT).

``S(q) = (1/N) sum_a |sum_r s_a(r) exp(-i q.r)|^2`` over the three spin components
``a``, with ``N = L_y L_x`` sites and ``q = 2 pi (k_x / L_x, k_y / L_y)`` on the
reciprocal lattice of the periodic ``L_y x L_x`` lattice (components in ``[-pi, pi)``).
For unit spins ``sum_q S(q) = N`` (Parseval), so the mean of ``S`` over ``q`` is 1; a
uniform state has ``S(0) = N``; a single-q spiral ``cos(q.r) e1 + sin(q.r) e2`` has
``S(+-q) = N / 2`` and zero elsewhere. The peak of the (radially averaged) structure
factor of a chiral magnet sits near the spiral wavenumber ``q* = atan(D / J)``
(Bak & Jensen, J. Phys. C 13, L881 (1980); :func:`latentopt.physics.hamiltonian.spiral_ground_state`).
"""

from __future__ import annotations

import numpy as np

from .hamiltonian import as_batch


def structure_factor(spins: np.ndarray, average: bool = False, batch_size: int = 256) -> np.ndarray:
    """Spin structure factor ``S(q)`` of states (definition in the module docstring).

    Parameters
    ----------
    spins : ndarray, shape (3, L_y, L_x) or (n, 3, L_y, L_x)
        Unit-vector states.
    average : bool
        Return the mean over the ``n`` states instead of one map per state.
    batch_size : int
        States per FFT batch (memory bound).

    Returns
    -------
    ndarray, float64
        ``(L_y, L_x)`` for a single state or with ``average``, else ``(n, L_y, L_x)``;
        ``S[k_y, k_x]`` in :func:`numpy.fft.fft2` order (``q = 0`` at ``[0, 0]``; use
        :func:`wavevectors` for the matching ``q``).

    Raises
    ------
    ValueError
        If ``spins`` is not ``(3, L, L)`` or ``(n, 3, L, L)`` or is empty.
    """
    arr = np.asarray(spins)
    single = arr.ndim == 3
    if single:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[1] != 3 or arr.shape[0] == 0:
        raise ValueError(f"spins: expected shape (3, L, L) or (n, 3, L, L) with n >= 1, got {np.shape(spins)}")
    n_sites = arr.shape[-2] * arr.shape[-1]
    parts = []
    for start in range(0, arr.shape[0], batch_size):
        s, _ = as_batch(arr[start:start + batch_size])
        f = np.fft.fft2(s, axes=(-2, -1))
        sq = (f.real ** 2 + f.imag ** 2).sum(axis=1) / n_sites
        parts.append(sq.sum(axis=0, keepdims=True) if average else sq)
    out = np.concatenate(parts)
    if average:
        return out.sum(axis=0) / arr.shape[0]
    return out[0] if single else out


def wavevectors(L_y: int, L_x: int) -> tuple[np.ndarray, np.ndarray]:
    """Wave-vector components ``(q_y, q_x)``, each ``(L_y, L_x)``, in radians per lattice constant, FFT order."""
    qy = 2.0 * np.pi * np.fft.fftfreq(L_y)
    qx = 2.0 * np.pi * np.fft.fftfreq(L_x)
    return np.meshgrid(qy, qx, indexing="ij")


def radial_profile(sq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shell average of ``S(q)`` over ``|q|``, shells of width ``dq = 2 pi / min(L_y, L_x)``.

    Shell ``k`` holds the wave vectors with ``round(|q| / dq) = k``.

    Parameters
    ----------
    sq : ndarray, shape (L_y, L_x) or (n, L_y, L_x)
        Structure factor in FFT order (:func:`structure_factor`).

    Returns
    -------
    q : ndarray, shape (k,)
        Mean ``|q|`` of the wave vectors of each non-empty shell (radians per lattice constant).
    s : ndarray, shape (k,) or (n, k)
        Mean ``S`` over each shell.
    """
    sq = np.asarray(sq, dtype=np.float64)
    if sq.ndim not in (2, 3):
        raise ValueError(f"sq: expected shape (L_y, L_x) or (n, L_y, L_x), got {sq.shape}")
    L_y, L_x = sq.shape[-2:]
    qabs, shell = _shells(L_y, L_x)
    qabs, shell = qabs.ravel(), shell.ravel()
    counts = np.bincount(shell)
    keep = counts > 0
    q = (np.bincount(shell, weights=qabs) / np.maximum(counts, 1))[keep]
    flat = sq.reshape(-1, L_y * L_x)
    s = np.stack([(np.bincount(shell, weights=row, minlength=len(counts)) / np.maximum(counts, 1))[keep]
                  for row in flat])
    return q, (s[0] if sq.ndim == 2 else s)


def _shells(L_y: int, L_x: int) -> tuple[np.ndarray, np.ndarray]:
    """``|q|`` of every wave vector and its shell index ``round(|q| / dq)``, ``dq = 2 pi / min(L_y, L_x)``."""
    qy, qx = wavevectors(L_y, L_x)
    qabs = np.hypot(qy, qx)
    return qabs, np.rint(qabs / (2.0 * np.pi / min(L_y, L_x))).astype(np.int64)


def peak_wavenumber(sq: np.ndarray) -> float:
    """Position ``|q|`` of the peak of the radially averaged structure factor (radians per lattice constant).

    The shell (:func:`radial_profile`) of largest mean ``S``, excluding the ``q = 0``
    shell (a net magnetization), is located; the result is the ``S``-weighted mean ``|q|``
    of the wave vectors in that shell, so a single-q spiral of wave vector ``q0`` gives
    exactly ``|q0|``.

    Parameters
    ----------
    sq : ndarray, shape (L_y, L_x)
        Structure factor in FFT order (e.g. ``structure_factor(spins, average=True)``).

    Returns
    -------
    float
        NaN if ``S`` vanishes on the peak shell or the lattice has no ``q != 0`` shell.
    """
    sq = np.asarray(sq, dtype=np.float64)
    if sq.ndim != 2:
        raise ValueError(f"sq: expected shape (L_y, L_x), got {sq.shape}")
    qabs, shell = _shells(*sq.shape)
    counts = np.bincount(shell.ravel())
    if len(counts) < 2:
        return float("nan")
    mean_s = np.bincount(shell.ravel(), weights=sq.ravel()) / np.maximum(counts, 1)
    mean_s[0] = -np.inf
    mean_s[counts == 0] = -np.inf
    k = int(np.argmax(mean_s))
    sel = shell == k
    w = sq[sel].sum()
    return float((qabs[sel] * sq[sel]).sum() / w) if w > 0 else float("nan")


def star_shares(sq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shares of ``S(q != 0)`` on each star of wave vectors of a square lattice, largest first.

    The star of ``q = 2 pi (n_x, n_y) / L`` is the set of the up to eight wave vectors
    ``(+-n_x, +-n_y)``, ``(+-n_y, +-n_x)`` that the square lattice's point group maps onto
    one another, labelled ``(n_1, n_2) = (max(|n_x|, |n_y|), min(|n_x|, |n_y|))``; on it a
    single-q spiral has one energy whatever the direction
    (:func:`latentopt.physics.hamiltonian.commensurate_spiral_energy`). A single-q spiral
    puts all of ``S(q != 0)`` on its star (share 1); a state of domains of different
    spirals spreads it over their stars and the domain walls' wave vectors.

    Parameters
    ----------
    sq : ndarray, shape (L, L)
        Structure factor of one state or a mean, in FFT order (:func:`structure_factor`).

    Returns
    -------
    stars : ndarray, shape (m, 2), int
        ``(n_1, n_2)`` of every star with weight, ``n_1 >= n_2 >= 0``.
    shares : ndarray, shape (m,)
        ``sum_star S(q) / sum_{q != 0} S(q)``, in decreasing order (summing to 1).

    Raises
    ------
    ValueError
        If ``sq`` is not square or has no weight at ``q != 0`` (a uniform state; below
        ``1e-12`` of the total, round-off).
    """
    sq = np.array(sq, dtype=np.float64)
    if sq.ndim != 2 or sq.shape[0] != sq.shape[1]:
        raise ValueError(f"sq: expected a square (L, L) structure factor, got shape {sq.shape}")
    L = sq.shape[0]
    k = np.abs(np.rint(np.fft.fftfreq(L) * L).astype(np.int64))
    ky, kx = np.meshgrid(k, k, indexing="ij")
    star = np.maximum(ky, kx) * (L + 1) + np.minimum(ky, kx)
    full = sq.sum()
    sq[0, 0] = 0.0
    total = sq.sum()
    if not total > 1e-12 * abs(full):  # round-off of a uniform state's FFT is not a wave vector
        raise ValueError("sq: no weight at q != 0 (a uniform state has no wave vector)")
    weight = np.bincount(star.ravel(), weights=sq.ravel())
    order = np.argsort(weight, kind="stable")[::-1]
    order = order[weight[order] > 0]
    return np.stack(np.divmod(order, L + 1), axis=1), weight[order] / total


def zone_boundary_weight(sq: np.ndarray) -> float:
    """Mean ``S(q)`` at the zone-boundary points ``(pi, 0)``, ``(0, pi)``, ``(pi, pi)`` of an even lattice.

    A period-2 (sub-lattice) pattern, e.g. left by a 2x upsampling layer, puts weight
    there; thermal states of the chiral magnet have ``S`` of order 0.1-0.3 there. A Neel
    antiferromagnet along z gives ``N / 3`` (all its weight at ``(pi, pi)``), a uniform
    state 0.

    Parameters
    ----------
    sq : ndarray, shape (L_y, L_x)
        Structure factor in FFT order (:func:`structure_factor`), ``L_y`` and ``L_x`` even.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If a side of the lattice is odd.
    """
    L_y, L_x = sq.shape
    if L_y % 2 or L_x % 2:
        raise ValueError(f"sq: expected even lattice sides, got {sq.shape}")
    return float((sq[0, L_x // 2] + sq[L_y // 2, 0] + sq[L_y // 2, L_x // 2]) / 3.0)
