"""Heat-bath simulated annealing of the chiral magnet (numba).

The heat-bath move of Miyatake et al., J. Phys. C 19, 2539 (1986) draws a spin directly
from its conditional Boltzmann distribution ``P(s) ~ exp(beta h.s)`` in the local field
``h`` (:func:`latentopt.physics.hamiltonian.local_field`): with ``x = beta |h|`` and
uniform ``r`` in [0, 1),

    cos(theta) = 1 + log1p(r * expm1(-2x)) / x        (2r - 1 when x is tiny)

and a uniform azimuth, rotated into the frame of ``h``. The anisotropy ``-K s_z^2`` is not
linear in ``s``; it is sampled exactly by an independence Metropolis-Hastings correction:
the heat-bath draw ``s'`` from the linear part is accepted with probability
``min(1, exp(beta K (s'_z^2 - s_z^2)))``, which leaves ``exp(beta (h.s + K s_z^2))``
invariant.

Sweeps update the two checkerboard sublattices in turn (a half-sweep touches no two
neighbours, so it is order-independent). Temperatures follow a geometric schedule
``T_k = T_start (T_end / T_start)^(k / (n_sweeps - 1))``.

Reproducibility: every sample owns a xoshiro256** random stream seeded from
``numpy.random.SeedSequence([seed, sample_index])``; the initial (random) state and all
moves of a sample are drawn from its stream alone, and samples are distributed over
threads with ``numba.prange``. Results therefore depend only on (seed, sample index),
not on the number of threads or shards.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .hamiltonian import ChiralMagnet, local_field

# --------------------------------------------------------------------------- xoshiro256**
_U = np.uint64


@numba.njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << _U(k)) | (x >> _U(64 - k))


@numba.njit(cache=True, inline="always")
def _next_uniform(st):
    """Advance the xoshiro256** state ``st (4,) uint64`` and return a double in [0, 1).

    Blackman & Vigna, "Scrambled linear pseudorandom number generators" (2021).
    """
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
    result = _rotl(s1 * _U(5), 7) * _U(9)
    t = s1 << _U(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3
    return float(result >> _U(11)) * (1.0 / 9007199254740992.0)


def sample_streams(seed: int, indices: np.ndarray) -> np.ndarray:
    """Initial xoshiro256** states for the given global sample indices.

    Parameters
    ----------
    seed : int
        The study's ``simulate.seed``.
    indices : ndarray of int, shape (n,)
        Global sample indices (0 .. n_samples - 1), independent of sharding.

    Returns
    -------
    ndarray, shape (n, 4), uint64
    """
    return np.stack([np.random.SeedSequence([int(seed), int(i)]).generate_state(4, dtype=np.uint64)
                     for i in np.asarray(indices)])


# --------------------------------------------------------------------------- the move
@numba.njit(cache=True, inline="always")
def heatbath_direction(hx, hy, hz, beta, r1, r2):
    """Draw a unit vector from ``P(s) ~ exp(beta h.s)`` given two uniforms ``r1, r2`` in [0, 1).

    Miyatake et al. (1986). Returns ``(s_x, s_y, s_z)``.
    """
    hn = math.sqrt(hx * hx + hy * hy + hz * hz)
    x = beta * hn
    if x < 1e-10:
        cos_t = 2.0 * r1 - 1.0
    else:
        cos_t = 1.0 + math.log1p(r1 * math.expm1(-2.0 * x)) / x
        cos_t = min(1.0, max(-1.0, cos_t))
    sin_t = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
    phi = 2.0 * math.pi * r2
    a = sin_t * math.cos(phi)
    b = sin_t * math.sin(phi)
    if hn == 0.0:
        return a, b, cos_t
    nx, ny, nz = hx / hn, hy / hn, hz / hn
    # orthonormal basis (e1, e2, n): Duff et al., J. Comput. Graph. Tech. 6, 1 (2017)
    sign = 1.0 if nz >= 0.0 else -1.0
    c = -1.0 / (sign + nz)
    d = nx * ny * c
    e1x, e1y, e1z = 1.0 + sign * nx * nx * c, sign * d, -sign * nx
    e2x, e2y, e2z = d, sign + ny * ny * c, -ny
    return (a * e1x + b * e2x + cos_t * nx,
            a * e1y + b * e2y + cos_t * ny,
            a * e1z + b * e2z + cos_t * nz)


@numba.njit(cache=True)
def _sweep(s, beta, st, J, Dx, Dy, K, B):
    """One checkerboard sweep (two half-sweeps) of heat-bath moves on state ``s (3, L, L)``."""
    L_y, L_x = s.shape[1], s.shape[2]
    for parity in range(2):
        for y in range(L_y):
            for x in range((y + parity) % 2, L_x, 2):
                hx, hy, hz = local_field(s, y, x, J, Dx, Dy, B)
                nx, ny, nz = heatbath_direction(hx, hy, hz, beta, _next_uniform(st), _next_uniform(st))
                if K != 0.0:
                    old_z = s[2, y, x]
                    # independence Metropolis-Hastings correction for -K s_z^2
                    log_acc = beta * K * (nz * nz - old_z * old_z)
                    if log_acc < 0.0 and _next_uniform(st) >= math.exp(log_acc):
                        continue
                s[0, y, x] = nx
                s[1, y, x] = ny
                s[2, y, x] = nz


@numba.njit(cache=True)
def _random_state(s, st):
    for y in range(s.shape[1]):
        for x in range(s.shape[2]):
            cos_t = 2.0 * _next_uniform(st) - 1.0
            phi = 2.0 * math.pi * _next_uniform(st)
            sin_t = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
            s[0, y, x] = sin_t * math.cos(phi)
            s[1, y, x] = sin_t * math.sin(phi)
            s[2, y, x] = cos_t


@numba.njit(cache=True, parallel=True)
def _anneal_batch(spins, streams, temperatures, init_random, J, Dx, Dy, K, B):
    for k in numba.prange(spins.shape[0]):
        st = streams[k]
        if init_random:
            _random_state(spins[k], st)
        for t in range(temperatures.shape[0]):
            _sweep(spins[k], 1.0 / temperatures[t], st, J, Dx, Dy, K, B)


def geometric_schedule(T_start: float, T_end: float, n_sweeps: int) -> np.ndarray:
    """Temperatures ``T_k = T_start (T_end / T_start)^(k / (n_sweeps - 1))``, k = 0 .. n_sweeps-1.

    Raises
    ------
    ValueError
        If a temperature is not positive or ``n_sweeps < 1``.
    """
    if T_start <= 0 or T_end <= 0:
        raise ValueError(f"simulate: temperatures must be positive, got T_start={T_start}, T_end={T_end}")
    if n_sweeps < 1:
        raise ValueError(f"simulate.n_sweeps: expected >= 1, got {n_sweeps}")
    if n_sweeps == 1:
        return np.array([float(T_end)])
    return T_start * (T_end / T_start) ** (np.arange(n_sweeps) / (n_sweeps - 1))


def anneal(model: ChiralMagnet, indices, seed: int, temperatures: np.ndarray,
           initial: np.ndarray | None = None) -> np.ndarray:
    """Simulated annealing by heat-bath Monte Carlo, one independent chain per sample.

    Parameters
    ----------
    model : ChiralMagnet
        Hamiltonian parameters; the lattice must have even ``L`` (checkerboard).
    indices : array_like of int, shape (n,)
        Global sample indices; with ``seed`` they fix each sample's random stream.
    seed : int
        Random seed of the study (``simulate.seed``).
    temperatures : ndarray, shape (n_sweeps,)
        Temperature of each sweep (e.g. :func:`geometric_schedule`), units of J.
    initial : ndarray, shape (n, 3, L, L), optional
        Starting states; random (infinite-temperature) states drawn from each sample's
        stream when omitted.

    Returns
    -------
    ndarray, shape (n, 3, L, L), float64
        Final states (unit vectors).

    Raises
    ------
    ValueError
        On odd ``L``, non-positive temperatures or a wrongly shaped ``initial``.
    """
    L = model.L
    if L % 2:
        raise ValueError(f"system.L: checkerboard updates need an even L, got {L}")
    temperatures = np.ascontiguousarray(temperatures, dtype=np.float64)
    if temperatures.ndim != 1 or not np.all(temperatures > 0):
        raise ValueError("temperatures: expected a 1-D array of positive temperatures")
    indices = np.asarray(indices, dtype=np.int64)
    streams = sample_streams(seed, indices)
    if initial is None:
        spins = np.empty((len(indices), 3, L, L))
    else:
        spins = np.array(initial, dtype=np.float64, order="C", copy=True)
        if spins.shape != (len(indices), 3, L, L):
            raise ValueError(f"initial: expected shape {(len(indices), 3, L, L)}, got {spins.shape}")
    _anneal_batch(spins, streams, temperatures, initial is None, *model.kernel_args())
    return spins
