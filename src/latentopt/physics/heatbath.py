"""Heat-bath simulated annealing of the chiral magnet (numba, vectorized across samples).

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

Vectorization across samples. :func:`anneal` lays the states of ``_LANES`` = 16
independent samples out with the sample index innermost, ``(L, L, 3, 16)``, and updates
the same site of all of them together: every arithmetic step is one AVX-512 instruction
on 8 samples (two such vectors per loop iteration for instruction-level parallelism;
4-wide AVX2 on older CPUs). Each lane keeps its own xoshiro256** stream, advanced in the
vector registers (:mod:`latentopt.physics.xoshiro`). The transcendental functions of the
move (``expm1``, ``log1p``, ``exp``, ``cos``/``sin`` of the azimuth) are evaluated by the
polynomial kernels of :mod:`latentopt.physics.simd` instead of the scalar C library, the
azimuth is ``2 pi (r - 1/2)`` (no rejection loop, so no lane waits for another) and the
Metropolis-Hastings uniform is drawn on every move when ``K != 0``. LLVM is asked for
512-bit vectors in these kernels only (its default tuning for AVX-512 cores prefers
256-bit ones). A move consumes exactly two uniforms (three with anisotropy) in the order
polar, azimuth, acceptance; the random initial state two per site, row by row.

Reproducibility: every sample owns a xoshiro256** stream seeded from
``numpy.random.SeedSequence([seed, sample_index])``; the initial state and all moves of a
sample are drawn from its stream alone, and the lanes never mix: every lane executes the
same IEEE-754 operations (add, multiply, fused multiply-add, divide, square root, floor,
exact conversions; no fast-math), so a sample's result does not depend on its lane, its
block, the shard, the number of threads, or the vector width the CPU offers. The
pre-vectorization kernel (scalar ``libm`` calls, rejection-sampled azimuth) is kept as the
reference of the tests and benchmarks (``tests/heatbath_reference.py``); it samples the
same distribution but not the same numbers.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba import types

from .hamiltonian import ChiralMagnet
from .simd import INLINE, cos_sin_turn, exp, expm1, fma, log1p, prefer_wide_vectors, sqrt, stack_buffer
from .xoshiro import next_uniform, sample_streams

__all__ = ["anneal", "geometric_schedule", "sample_streams"]

#: samples per block (lanes); the loop over lanes runs over two halves of ``_HALF`` at once
_LANES = 16
_HALF = _LANES // 2
_state_buffer = stack_buffer(types.uint64, llvm_ir.IntType(64), 4 * _LANES)
_spin_buffer = stack_buffer(types.float64, llvm_ir.DoubleType(), 3 * _LANES)


@numba.njit(**INLINE)
def _heatbath_lane(hx, hy, hz, beta, T, r1, r2):
    """One heat-bath draw from ``P(s) ~ exp(beta h.s)`` (Miyatake et al. 1986) with branch-free arithmetic.

    Polar cosine by the inverse CDF of the module docstring from ``r1``, azimuth
    ``2 pi (r2 - 1/2)``, rotated into the frame of Duff et al., J. Comput. Graph. Tech.
    6, 1 (2017) about ``n = h / |h|``; for ``x = beta |h| < 1e-10`` the draw is uniform in
    the lab frame. One division serves both ``1 / |h|`` and the frame's
    ``1 / (1 + |n_z|)``. Returns ``(s_x, s_y, s_z)``.
    """
    hn = sqrt(hx * hx + hy * hy + hz * hz)
    x = beta * hn
    flat = (x < 1e-10) | (hn < 1e-150)
    hn = 1.0 if flat else hn
    hx = 0.0 if flat else hx
    hy = 0.0 if flat else hy
    hz = 1.0 if flat else hz
    hza = abs(hz)
    q = 1.0 / (hn * (hn + hza))
    inv = (hn + hza) * q            # 1 / |h|
    g = hn * hn * q                 # 1 / (1 + |n_z|)
    em1 = -1.0 if x > 20.0 else expm1(-2.0 * min(x, 20.0))
    ct = fma(log1p(r1 * em1), inv * T, 1.0)
    ct = fma(2.0, r1, -1.0) if flat else ct
    ct = 1.0 if ct > 1.0 else (-1.0 if ct < -1.0 else ct)
    st = sqrt(fma(-ct, ct, 1.0))
    cp, sp = cos_sin_turn(r2)
    a = st * cp
    b = st * sp
    nx, ny, nz = hx * inv, hy * inv, hz * inv
    sign = 1.0 if hz >= 0.0 else -1.0
    gxy = nx * ny * g
    # e1 = (1 - g nx^2, -g nx ny, -sign nx), e2 = (-sign g nx ny, sign (1 - g ny^2), -ny)
    return (fma(a, fma(-g * nx, nx, 1.0), fma(ct, nx, -sign * b * gxy)),
            fma(b, sign * fma(-g * ny, ny, 1.0), fma(ct, ny, -a * gxy)),
            fma(ct, nz, -(a * sign * nx + b * ny)))


@numba.njit(**INLINE)
def _lane_move(sb, y, x, yp, ym, xp, xm, j, s0, s1, s2, s3, J, Dx, Dy, B, beta, T):
    """Heat-bath move of lane ``j`` at site ``(y, x)`` of ``sb (L, L, 3, lanes)`` (read only).

    The field is :func:`latentopt.physics.hamiltonian.local_field`'s ``J sum_j s_j +
    (s_{x+1} - s_{x-1}) x D_x + (s_{y+1} - s_{y-1}) x D_y + B``. Returns the new spin and
    the advanced xoshiro state ``(s_x, s_y, s_z, s0, s1, s2, s3)``; the caller stores them
    (stores inside inlined helpers keep LLVM from vectorizing the lane loop).
    """
    ax, ay, az = sb[y, xp, 0, j], sb[y, xp, 1, j], sb[y, xp, 2, j]
    bx, by, bz = sb[y, xm, 0, j], sb[y, xm, 1, j], sb[y, xm, 2, j]
    cx, cy, cz = sb[yp, x, 0, j], sb[yp, x, 1, j], sb[yp, x, 2, j]
    dx, dy, dz = sb[ym, x, 0, j], sb[ym, x, 1, j], sb[ym, x, 2, j]
    ux, uy, uz = ax - bx, ay - by, az - bz
    vx, vy, vz = cx - dx, cy - dy, cz - dz
    hx = J * (ax + bx + cx + dx) + (uy * Dx[2] - uz * Dx[1]) + (vy * Dy[2] - vz * Dy[1]) + B[0]
    hy = J * (ay + by + cy + dy) + (uz * Dx[0] - ux * Dx[2]) + (vz * Dy[0] - vx * Dy[2]) + B[1]
    hz = J * (az + bz + cz + dz) + (ux * Dx[1] - uy * Dx[0]) + (vx * Dy[1] - vy * Dy[0]) + B[2]
    r1, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
    r2, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
    sx, sy, sz = _heatbath_lane(hx, hy, hz, beta, T, r1, r2)
    return sx, sy, sz, s0, s1, s2, s3


@numba.njit(**INLINE)
def _metropolis_lane(sb, y, x, j, sx, sy, sz, bK, s0, s1, s2, s3):
    """Independence Metropolis-Hastings correction for ``-K s_z^2`` of lane ``j`` at ``(y, x)``.

    Keeps the heat-bath draw ``s`` with probability ``min(1, exp(beta K (s_z^2 - o_z^2)))``,
    else the old spin ``o = sb[y, x, :, j]``; draws one uniform on every call.
    """
    ox, oy, oz = sb[y, x, 0, j], sb[y, x, 1, j], sb[y, x, 2, j]
    r3, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
    keep = r3 < exp(min(bK * (sz * sz - oz * oz), 0.0))
    return (sx if keep else ox), (sy if keep else oy), (sz if keep else oz), s0, s1, s2, s3


@numba.njit(**INLINE)
def _site_lanes(sb, st, new, y, x, yp, ym, xp, xm, J, Dx, Dy, B, beta, T, bK, anisotropy):
    """Heat-bath moves at site ``(y, x)`` of all ``_LANES`` samples of ``sb (L, L, 3, _LANES)`` (read only).

    The lane loop: lane ``j`` draws its move (:func:`_lane_move`) and, if ``anisotropy``,
    the Metropolis-Hastings correction (:func:`_metropolis_lane`) from its stream
    ``st[:, j]`` (advanced in place) and writes the new spin to ``new[:, j]``. Each
    iteration updates two independent halves of the lanes (twice the instruction-level
    parallelism). Callers pass ``anisotropy`` as a compile-time constant (a literal, see
    :func:`_anneal_lanes`): the function is inlined, the branch folds away, and ``K = 0``
    pays nothing for the correction.
    """
    for j in range(_HALF):
        k = j + _HALF
        sx, sy, sz, s0, s1, s2, s3 = _lane_move(sb, y, x, yp, ym, xp, xm, j, st[0, j], st[1, j], st[2, j], st[3, j],
                                                J, Dx, Dy, B, beta, T)
        tx, ty, tz, t0, t1, t2, t3 = _lane_move(sb, y, x, yp, ym, xp, xm, k, st[0, k], st[1, k], st[2, k], st[3, k],
                                                J, Dx, Dy, B, beta, T)
        if anisotropy:
            sx, sy, sz, s0, s1, s2, s3 = _metropolis_lane(sb, y, x, j, sx, sy, sz, bK, s0, s1, s2, s3)
            tx, ty, tz, t0, t1, t2, t3 = _metropolis_lane(sb, y, x, k, tx, ty, tz, bK, t0, t1, t2, t3)
        st[0, j], st[1, j], st[2, j], st[3, j] = s0, s1, s2, s3
        st[0, k], st[1, k], st[2, k], st[3, k] = t0, t1, t2, t3
        new[0, j], new[1, j], new[2, j] = sx, sy, sz
        new[0, k], new[1, k], new[2, k] = tx, ty, tz


@numba.njit(cache=True, error_model="numpy")
def _sweeps_lanes(sb, streams, temperatures, J, Dx, Dy, K, B, anisotropic):
    """Checkerboard heat-bath sweeps of ``_LANES`` samples at once.

    ``sb (L, L, 3, _LANES)``: the samples' states, sample index innermost; ``streams (4,
    _LANES)``: their xoshiro256** states (advanced in place); ``anisotropic``: ``K != 0``,
    a literal from :func:`_anneal_lanes`, so only the lane loop in use is compiled. The lane loop
    (:func:`_site_lanes`) reads ``sb`` and writes only stack buffers, which are copied
    back to the site afterwards.
    """
    prefer_wide_vectors()
    L = sb.shape[0]
    st = numba.carray(_state_buffer(), (4, _LANES))
    new = numba.carray(_spin_buffer(), (3, _LANES))
    for k in range(4):
        for j in range(_LANES):
            st[k, j] = streams[k, j]
    Dx = (Dx[0], Dx[1], Dx[2])
    Dy = (Dy[0], Dy[1], Dy[2])
    B = (B[0], B[1], B[2])
    for it in range(temperatures.shape[0]):
        T = temperatures[it]
        beta = 1.0 / T
        bK = beta * K
        for parity in range(2):
            for y in range(L):
                yp = y + 1 if y + 1 < L else 0
                ym = y - 1 if y > 0 else L - 1
                for x in range((y + parity) & 1, L, 2):
                    xp = x + 1 if x + 1 < L else 0
                    xm = x - 1 if x > 0 else L - 1
                    _site_lanes(sb, st, new, y, x, yp, ym, xp, xm, J, Dx, Dy, B, beta, T, bK, anisotropic)
                    for c in range(3):
                        for j in range(_LANES):
                            sb[y, x, c, j] = new[c, j]
    for k in range(4):
        for j in range(_LANES):
            streams[k, j] = st[k, j]


@numba.njit(cache=True, error_model="numpy")
def _random_lanes(sb, streams):
    """Uniformly random (infinite-temperature) states of ``_LANES`` samples, two draws per site in row order."""
    prefer_wide_vectors()
    L = sb.shape[0]
    st = numba.carray(_state_buffer(), (4, _LANES))
    new = numba.carray(_spin_buffer(), (3, _LANES))
    for k in range(4):
        for j in range(_LANES):
            st[k, j] = streams[k, j]
    for y in range(L):
        for x in range(L):
            for j in range(_LANES):
                r1, s0, s1, s2, s3 = next_uniform(st[0, j], st[1, j], st[2, j], st[3, j])
                r2, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
                st[0, j], st[1, j], st[2, j], st[3, j] = s0, s1, s2, s3
                ct = fma(2.0, r1, -1.0)
                sin_t = sqrt(fma(-ct, ct, 1.0))
                cp, sp = cos_sin_turn(r2)
                new[0, j], new[1, j], new[2, j] = sin_t * cp, sin_t * sp, ct
            for c in range(3):
                for j in range(_LANES):
                    sb[y, x, c, j] = new[c, j]
    for k in range(4):
        for j in range(_LANES):
            streams[k, j] = st[k, j]


@numba.njit(cache=True, parallel=True)
def _anneal_lanes(spins, streams, temperatures, init_random, J, Dx, Dy, K, B, anisotropic):
    """Anneal ``spins (n, 3, L, L)`` in place, blocks of ``_LANES`` samples in parallel.

    The last block is padded with copies of its last sample (computed and discarded).
    ``anisotropic`` (``K != 0``) is compiled as a literal (``numba.literally``): a job
    compiles, and caches, only the variant it runs, with or without the anisotropy
    correction, which halves the first compile (15.8 s -> 8.4 s with AVX2; before, one
    function held both lane loops behind a run-time branch).
    """
    numba.literally(anisotropic)
    n, L = spins.shape[0], spins.shape[2]
    for b in numba.prange((n + _LANES - 1) // _LANES):
        sb = np.empty((L, L, 3, _LANES))
        st = np.empty((4, _LANES), dtype=np.uint64)
        lane = np.empty(_LANES, dtype=np.int64)  # sample of each lane (the last one repeated as padding)
        for j in range(_LANES):
            lane[j] = min(b * _LANES + j, n - 1)
            for k in range(4):
                st[k, j] = streams[lane[j], k]
        if init_random:
            _random_lanes(sb, st)
        else:
            for y in range(L):
                for x in range(L):
                    for c in range(3):
                        for j in range(_LANES):
                            sb[y, x, c, j] = spins[lane[j], c, y, x]
        _sweeps_lanes(sb, st, temperatures, J, Dx, Dy, K, B, anisotropic)
        real = min(_LANES, n - b * _LANES)
        for y in range(L):
            for x in range(L):
                for c in range(3):
                    for j in range(real):
                        spins[b * _LANES + j, c, y, x] = sb[y, x, c, j]


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

    Samples are annealed in blocks of 16 with the sample index innermost (vectorized
    across samples, blocks in parallel over numba threads; module docstring). A sample's
    result depends only on ``(seed, index)`` and the temperatures (and ``initial``), not
    on the other indices, the shard, the thread count or the CPU's vector width.

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
    spins, streams = _prepare(model, indices, seed, temperatures, initial)
    if len(spins):
        _anneal_lanes(spins, streams, np.ascontiguousarray(temperatures, dtype=np.float64), initial is None,
                      *model.kernel_args(), model.K != 0.0)
    return spins


def _prepare(model, indices, seed, temperatures, initial):
    """Validate :func:`anneal`'s arguments; return the state buffer ``(n, 3, L, L)`` and the streams ``(n, 4)``.

    The buffer is a float64 copy of ``initial``, or uninitialized when ``initial`` is None.
    Shared with the reference kernel of the tests (``tests/heatbath_reference.py``).

    Raises
    ------
    ValueError
        On odd ``L``, non-positive temperatures or a wrongly shaped ``initial``.
    """
    L = model.L
    if L % 2:
        raise ValueError(f"system.L: checkerboard updates need an even L, got {L}")
    temperatures = np.asarray(temperatures, dtype=np.float64)
    if temperatures.ndim != 1 or not np.all(temperatures > 0):
        raise ValueError("temperatures: expected a 1-D array of positive temperatures")
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    streams = sample_streams(seed, indices) if len(indices) else np.zeros((0, 4), np.uint64)
    if initial is None:
        spins = np.empty((len(indices), 3, L, L))
    else:
        spins = np.array(initial, dtype=np.float64, order="C", copy=True)
        if spins.shape != (len(indices), 3, L, L):
            raise ValueError(f"initial: expected shape {(len(indices), 3, L, L)}, got {spins.shape}")
    return spins, streams

