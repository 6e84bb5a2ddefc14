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
vector registers. The transcendental functions of the move (``expm1``, ``log1p``,
``exp``, ``cos``/``sin`` of the azimuth) are evaluated by the polynomial kernels below
instead of the scalar C library, the azimuth is ``2 pi (r - 1/2)`` (no rejection loop, so
no lane waits for another) and the Metropolis-Hastings uniform is drawn on every move when
``K != 0``. LLVM is asked for 512-bit vectors in these kernels only (its default tuning
for AVX-512 cores prefers 256-bit ones). A move consumes exactly two uniforms (three with anisotropy) in the order
polar, azimuth, acceptance; the random initial state two per site, row by row.

Reproducibility: every sample owns a xoshiro256** stream seeded from
``numpy.random.SeedSequence([seed, sample_index])``; the initial state and all moves of a
sample are drawn from its stream alone, and the lanes never mix: every lane executes the
same IEEE-754 operations (add, multiply, fused multiply-add, divide, square root, floor,
exact conversions; no fast-math), so a sample's result does not depend on its lane, its
block, the shard, the number of threads, or the vector width the CPU offers. The
pre-vectorization kernel (scalar ``libm`` calls, rejection-sampled azimuth) is kept as
:func:`_anneal_scalar` for tests and benchmarks; it samples the same distribution but not
the same numbers.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .hamiltonian import ChiralMagnet, local_field

# --------------------------------------------------------------------------- xoshiro256**
_U = np.uint64


@numba.njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << _U(k)) | (x >> _U(64 - k))


@numba.njit(cache=True, inline="always")
def _xoshiro(s0, s1, s2, s3):
    """One xoshiro256** step on a state held in registers: ``(u in [0, 1), s0, s1, s2, s3)``.

    Blackman & Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 47 (2021).
    """
    result = _rotl(s1 * _U(5), 7) * _U(9)
    t = s1 << _U(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return float(result >> _U(11)) * (1.0 / 9007199254740992.0), s0, s1, s2, s3


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
def heatbath_cos_theta(x, r):
    """Polar cosine along the field from ``P(cos t) ~ exp(x cos t)``, ``x = beta |h|``, uniform ``r`` in [0, 1).

    Miyatake et al. (1986): ``cos t = 1 + log1p(r expm1(-2x)) / x``; ``2r - 1`` for tiny x;
    for ``x > 20``, ``expm1(-2x) = -1`` to double precision and ``cos t = 1 + log1p(-r) / x``.
    """
    if x < 1e-10:
        return 2.0 * r - 1.0
    if x > 20.0:
        c = 1.0 + math.log1p(-r) / x
    else:
        c = 1.0 + math.log1p(r * math.expm1(-2.0 * x)) / x
    return min(1.0, max(-1.0, c))


@numba.njit(cache=True, inline="always")
def rotate_to_field(hx, hy, hz, cos_t, cos_p, sin_p):
    """Unit vector with polar cosine ``cos_t`` about ``h`` and azimuth (cos_p, sin_p) in a frame of ``h``.

    Orthonormal frame from Duff et al., J. Comput. Graph. Tech. 6, 1 (2017); for ``h = 0``
    the frame is the lab frame. Returns ``(s_x, s_y, s_z)``.
    """
    sin_t = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
    a = sin_t * cos_p
    b = sin_t * sin_p
    hn = math.sqrt(hx * hx + hy * hy + hz * hz)
    if hn == 0.0:
        return a, b, cos_t
    nx, ny, nz = hx / hn, hy / hn, hz / hn
    sign = 1.0 if nz >= 0.0 else -1.0
    c = -1.0 / (sign + nz)
    d = nx * ny * c
    e1x, e1y, e1z = 1.0 + sign * nx * nx * c, sign * d, -sign * nx
    e2x, e2y, e2z = d, sign + ny * ny * c, -ny
    return (a * e1x + b * e2x + cos_t * nx,
            a * e1y + b * e2y + cos_t * ny,
            a * e1z + b * e2z + cos_t * nz)


@numba.njit(cache=True, inline="always")
def heatbath_direction(hx, hy, hz, beta, r1, r2):
    """Draw a unit vector from ``P(s) ~ exp(beta h.s)`` given two uniforms ``r1, r2`` in [0, 1).

    Miyatake et al. (1986); azimuth ``2 pi r2``. Returns ``(s_x, s_y, s_z)``.
    """
    x = beta * math.sqrt(hx * hx + hy * hy + hz * hz)
    phi = 2.0 * math.pi * r2
    return rotate_to_field(hx, hy, hz, heatbath_cos_theta(x, r1), math.cos(phi), math.sin(phi))


@numba.njit(cache=True)
def _sweep(s, beta, st, J, Dx, Dy, K, B, nxt, prv):
    """One checkerboard sweep (two half-sweeps) of heat-bath moves on state ``s (3, L, L)``.

    ``st (4,)`` is the sample's xoshiro state (kept in registers during the sweep);
    ``nxt``/``prv`` are the periodic neighbour tables ``(i + 1) % L`` and ``(i - 1) % L``.
    """
    L = s.shape[1]
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
    for parity in range(2):
        for y in range(L):
            yp, ym = nxt[y], prv[y]
            for x in range((y + parity) & 1, L, 2):
                hx, hy, hz = local_field(s, y, x, yp, ym, nxt[x], prv[x], J, Dx, Dy, B)
                r1, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                cos_t = heatbath_cos_theta(beta * math.sqrt(hx * hx + hy * hy + hz * hz), r1)
                # uniform azimuth without trig: a uniform point (u, v) of the unit disk has a
                # uniform angle phi/2, so (u^2 - v^2, 2uv) / (u^2 + v^2) = (cos phi, sin phi)
                while True:
                    u, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                    v, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                    u, v = 2.0 * u - 1.0, 2.0 * v - 1.0
                    rr = u * u + v * v
                    if 0.0 < rr <= 1.0:
                        break
                nx, ny, nz = rotate_to_field(hx, hy, hz, cos_t, (u * u - v * v) / rr, 2.0 * u * v / rr)
                if K != 0.0:
                    old_z = s[2, y, x]
                    # independence Metropolis-Hastings correction for -K s_z^2
                    log_acc = beta * K * (nz * nz - old_z * old_z)
                    if log_acc < 0.0:
                        r3, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                        if r3 >= math.exp(log_acc):
                            continue
                s[0, y, x] = nx
                s[1, y, x] = ny
                s[2, y, x] = nz
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3


@numba.njit(cache=True)
def _random_state(s, st):
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
    for y in range(s.shape[1]):
        for x in range(s.shape[2]):
            r1, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
            r2, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
            cos_t = 2.0 * r1 - 1.0
            phi = 2.0 * math.pi * r2
            sin_t = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
            s[0, y, x] = sin_t * math.cos(phi)
            s[1, y, x] = sin_t * math.sin(phi)
            s[2, y, x] = cos_t
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3


@numba.njit(cache=True, parallel=True)
def _anneal_batch(spins, streams, temperatures, init_random, J, Dx, Dy, K, B):
    L = spins.shape[2]
    nxt = (np.arange(L) + 1) % L
    prv = (np.arange(L) - 1) % L
    for k in numba.prange(spins.shape[0]):
        st = streams[k]
        if init_random:
            _random_state(spins[k], st)
        for t in range(temperatures.shape[0]):
            _sweep(spins[k], 1.0 / temperatures[t], st, J, Dx, Dy, K, B, nxt, prv)


# --------------------------------------------------------------------------- SIMD building blocks
#: samples per block (lanes); the loop over lanes runs over two halves of ``_HALF`` at once
_LANES = 16
_HALF = _LANES // 2
_FAST = dict(cache=True, inline="always", error_model="numpy")


@intrinsic
def _prefer_wide_vectors(typingctx):
    """Let LLVM vectorize the calling function with 512-bit registers.

    LLVM's default tuning for Intel AVX-512 cores prefers 256-bit vectors; the attribute
    ``"prefer-vector-width"="512"`` lifts that for this one function (it has no effect on
    CPUs without AVX-512). llvmlite validates attribute names against a fixed list, so the
    string attribute is added to the underlying set directly; if that ever fails the
    kernel simply compiles with the default width (same results, slower).
    """
    def codegen(context, builder, sig, args):
        try:
            set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        except Exception:  # pragma: no cover - llvmlite internals changed
            pass
        return context.get_dummy_value()
    return types.none(), codegen


def _stack_buffer(nbtype, lltype, size):
    """Intrinsic returning a pointer to ``size`` elements of stack memory (64-byte aligned).

    The lane loop stores only to such buffers: LLVM knows they cannot alias the spin
    array it reads, which it needs to vectorize the loop without run-time checks.
    """
    @intrinsic
    def buffer(typingctx):
        def codegen(context, builder, sig, args):
            ptr = cgutils.alloca_once(builder, lltype, size=size)
            ptr.align = 64
            return ptr
        return types.CPointer(nbtype)(), codegen
    return buffer


_state_buffer = _stack_buffer(types.uint64, llvm_ir.IntType(64), 4 * _LANES)
_spin_buffer = _stack_buffer(types.float64, llvm_ir.DoubleType(), 3 * _LANES)


@intrinsic
def _fma(typingctx, a, b, c):
    """``a * b + c`` with a single rounding (``llvm.fma``; IEEE 754 fusedMultiplyAdd)."""
    if all(isinstance(v, types.Float) and v.bitwidth == 64 for v in (a, b, c)):
        def codegen(context, builder, sig, args):
            fnty = llvm_ir.FunctionType(llvm_ir.DoubleType(), [llvm_ir.DoubleType()] * 3)
            return builder.call(cgutils.get_or_insert_function(builder.module, fnty, "llvm.fma.f64"), args)
        return types.float64(a, b, c), codegen


@intrinsic
def _sqrt(typingctx, x):
    """Correctly rounded square root (``llvm.sqrt``; no libm call, so it vectorizes)."""
    if isinstance(x, types.Float) and x.bitwidth == 64:
        def codegen(context, builder, sig, args):
            fnty = llvm_ir.FunctionType(llvm_ir.DoubleType(), [llvm_ir.DoubleType()])
            return builder.call(cgutils.get_or_insert_function(builder.module, fnty, "llvm.sqrt.f64"), args)
        return types.float64(x), codegen


@intrinsic
def _as_float(typingctx, i):
    """Reinterpret the bits of an int64 as a float64."""
    if isinstance(i, types.Integer) and i.bitwidth == 64:
        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], llvm_ir.DoubleType())
        return types.float64(i), codegen


@intrinsic
def _as_int(typingctx, x):
    """Reinterpret the bits of a float64 as an int64."""
    if isinstance(x, types.Float) and x.bitwidth == 64:
        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], llvm_ir.IntType(64))
        return types.int64(x), codegen


# Cody & Waite split of log 2 (the high part has 32 significant bits, so k * _LN2_HI is exact)
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_SQRT2 = 1.4142135623730951


@numba.njit(**_FAST)
def _pow2(k):
    """``2^k`` for an integral float ``k`` in [-1022, 1023], built from its exponent bits."""
    return _as_float(np.int64(k + 1023.0) << np.int64(52))


@numba.njit(**_FAST)
def _expm1_reduced(t):
    """``expm1(t)`` for ``|t| <= log(2) / 2``: Taylor series to ``t^13`` (truncation < 1e-17), Estrin scheme."""
    t2 = t * t
    t4 = t2 * t2
    p0 = _fma(1.0 / 6.0, t, 1.0 / 2.0)
    p1 = _fma(1.0 / 120.0, t, 1.0 / 24.0)
    p2 = _fma(1.0 / 5040.0, t, 1.0 / 720.0)
    p3 = _fma(1.0 / 362880.0, t, 1.0 / 40320.0)
    p4 = _fma(1.0 / 39916800.0, t, 1.0 / 3628800.0)
    p5 = _fma(1.0 / 6227020800.0, t, 1.0 / 479001600.0)
    q0 = _fma(p1, t2, p0)
    q1 = _fma(p3, t2, p2)
    q2 = _fma(p5, t2, p4)
    return _fma(t2, _fma(q2, t4 * t4, _fma(q1, t4, q0)), t)


@numba.njit(**_FAST)
def _expm1(y):
    """``exp(y) - 1`` for ``-40 <= y <= 0``, within 2 ulp: ``y = k log 2 + t``, ``2^k expm1(t) + (2^k - 1)``."""
    k = math.floor(_fma(y, _INV_LN2, 0.5))
    t = (y - k * _LN2_HI) - k * _LN2_LO
    s = _pow2(k)
    return _fma(s, _expm1_reduced(t), s - 1.0)


@numba.njit(**_FAST)
def _exp(y):
    """``exp(y)`` for ``y <= 0`` (arguments below -708 are taken as -708), within 2 ulp."""
    y = max(y, -708.0)
    k = math.floor(_fma(y, _INV_LN2, 0.5))
    t = (y - k * _LN2_HI) - k * _LN2_LO
    s = _pow2(k)
    return _fma(s, _expm1_reduced(t), s)


@numba.njit(**_FAST)
def _log1p(a):
    """``log(1 + a)`` for ``-1 < a <= 0``, within 4 ulp.

    ``1 + a = 2^e m`` with ``m`` in [sqrt(1/2), sqrt(2)); ``log m = 2 atanh(s)``,
    ``s = f / (2 + f)``, ``f = m - 1`` (exact; ``f = a`` itself when ``e = 0``, so small
    arguments keep full relative precision); series in ``s^2`` to ``s^23``.
    """
    u = 1.0 + a
    bits = _as_int(u)
    m = _as_float((bits & np.int64(0x000FFFFFFFFFFFFF)) | np.int64(0x3FF0000000000000))
    e = float((bits >> np.int64(52)) - np.int64(1023))
    big = m > _SQRT2
    m = 0.5 * m if big else m
    e = e + 1.0 if big else e
    f = a if e == 0.0 else m - 1.0
    s = f / (2.0 + f)
    z = s * s
    z2 = z * z
    z4 = z2 * z2
    p0 = _fma(1.0 / 5.0, z, 1.0 / 3.0)
    p1 = _fma(1.0 / 9.0, z, 1.0 / 7.0)
    p2 = _fma(1.0 / 13.0, z, 1.0 / 11.0)
    p3 = _fma(1.0 / 17.0, z, 1.0 / 15.0)
    p4 = _fma(1.0 / 21.0, z, 1.0 / 19.0)
    q0 = _fma(p1, z2, p0)
    q1 = _fma(p3, z2, p2)
    q2 = _fma(1.0 / 23.0, z2, p4)
    poly = _fma(q2, z4 * z4, _fma(q1, z4, q0))
    two_s = 2.0 * s
    return e * _LN2_HI + (two_s + _fma(two_s * z, poly, e * _LN2_LO))


@numba.njit(**_FAST)
def _cos_sin_turn(r):
    """``(cos phi, sin phi)`` of ``phi = 2 pi (r - 1/2)`` for ``r`` in [0, 1), absolute error < 1e-15.

    Quadrant reduction ``phi = q pi / 2 + t`` (exact in ``r``), Taylor series of sin and
    cos on ``|t| <= pi / 4`` to ``t^15`` and ``t^16``, then the quadrant's sign/swap.
    """
    u = r - 0.5
    q = math.floor(_fma(4.0, u, 0.5))
    t = 6.283185307179586 * (u - 0.25 * q)
    z = t * t
    z2 = z * z
    a0 = _fma(1.0 / 120.0, z, -1.0 / 6.0)
    a1 = _fma(1.0 / 362880.0, z, -1.0 / 5040.0)
    a2 = _fma(1.0 / 6227020800.0, z, -1.0 / 39916800.0)
    sn = _fma(t * z, _fma(_fma(-1.0 / 1307674368000.0, z2, a2), z2 * z2, _fma(a1, z2, a0)), t)
    b0 = _fma(-1.0 / 720.0, z, 1.0 / 24.0)
    b1 = _fma(-1.0 / 3628800.0, z, 1.0 / 40320.0)
    b2 = _fma(-1.0 / 87178291200.0, z, 1.0 / 479001600.0)
    cs = _fma(z2, _fma(_fma(1.0 / 20922789888000.0, z2, b2), z2 * z2, _fma(b1, z2, b0)), _fma(-0.5, z, 1.0))
    odd = abs(q) == 1.0
    c = sn if odd else cs
    s = cs if odd else sn
    c = -c if (q == 1.0) | (abs(q) == 2.0) else c
    s = -s if (q < 0.0) | (q == 2.0) else s
    return c, s


@numba.njit(**_FAST)
def _heatbath_lane(hx, hy, hz, beta, T, r1, r2):
    """One heat-bath draw from ``P(s) ~ exp(beta h.s)`` (Miyatake et al. 1986) with branch-free arithmetic.

    Polar cosine by the inverse CDF of the module docstring from ``r1``, azimuth
    ``2 pi (r2 - 1/2)``, rotated into the frame of Duff et al., J. Comput. Graph. Tech.
    6, 1 (2017) about ``n = h / |h|``; for ``x = beta |h| < 1e-10`` the draw is uniform in
    the lab frame. One division serves both ``1 / |h|`` and the frame's
    ``1 / (1 + |n_z|)``. Returns ``(s_x, s_y, s_z)``.
    """
    hn = _sqrt(hx * hx + hy * hy + hz * hz)
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
    em1 = -1.0 if x > 20.0 else _expm1(-2.0 * min(x, 20.0))
    ct = _fma(_log1p(r1 * em1), inv * T, 1.0)
    ct = _fma(2.0, r1, -1.0) if flat else ct
    ct = 1.0 if ct > 1.0 else (-1.0 if ct < -1.0 else ct)
    st = _sqrt(_fma(-ct, ct, 1.0))
    cp, sp = _cos_sin_turn(r2)
    a = st * cp
    b = st * sp
    nx, ny, nz = hx * inv, hy * inv, hz * inv
    sign = 1.0 if hz >= 0.0 else -1.0
    gxy = nx * ny * g
    # e1 = (1 - g nx^2, -g nx ny, -sign nx), e2 = (-sign g nx ny, sign (1 - g ny^2), -ny)
    return (_fma(a, _fma(-g * nx, nx, 1.0), _fma(ct, nx, -sign * b * gxy)),
            _fma(b, sign * _fma(-g * ny, ny, 1.0), _fma(ct, ny, -a * gxy)),
            _fma(ct, nz, -(a * sign * nx + b * ny)))


@numba.njit(**_FAST)
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
    r1, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
    r2, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
    sx, sy, sz = _heatbath_lane(hx, hy, hz, beta, T, r1, r2)
    return sx, sy, sz, s0, s1, s2, s3


@numba.njit(**_FAST)
def _metropolis_lane(sb, y, x, j, sx, sy, sz, bK, s0, s1, s2, s3):
    """Independence Metropolis-Hastings correction for ``-K s_z^2`` of lane ``j`` at ``(y, x)``.

    Keeps the heat-bath draw ``s`` with probability ``min(1, exp(beta K (s_z^2 - o_z^2)))``,
    else the old spin ``o = sb[y, x, :, j]``; draws one uniform on every call.
    """
    ox, oy, oz = sb[y, x, 0, j], sb[y, x, 1, j], sb[y, x, 2, j]
    r3, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
    keep = r3 < _exp(min(bK * (sz * sz - oz * oz), 0.0))
    return (sx if keep else ox), (sy if keep else oy), (sz if keep else oz), s0, s1, s2, s3


@numba.njit(cache=True, error_model="numpy")
def _sweeps_lanes(sb, streams, temperatures, J, Dx, Dy, K, B):
    """Checkerboard heat-bath sweeps of ``_LANES`` samples at once.

    ``sb (L, L, 3, _LANES)``: the samples' states, sample index innermost; ``streams (4,
    _LANES)``: their xoshiro256** states (advanced in place). The lane loop reads ``sb``
    and writes only stack buffers, which are copied back to the site afterwards.
    """
    _prefer_wide_vectors()
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
                    # two independent halves per iteration (twice the instruction-level parallelism);
                    # the anisotropy branch is outside the lane loop so that K = 0 pays nothing for it
                    if K != 0.0:
                        for j in range(_HALF):
                            k = j + _HALF
                            sx, sy, sz, s0, s1, s2, s3 = _lane_move(sb, y, x, yp, ym, xp, xm, j, st[0, j], st[1, j],
                                                                    st[2, j], st[3, j], J, Dx, Dy, B, beta, T)
                            tx, ty, tz, t0, t1, t2, t3 = _lane_move(sb, y, x, yp, ym, xp, xm, k, st[0, k], st[1, k],
                                                                    st[2, k], st[3, k], J, Dx, Dy, B, beta, T)
                            sx, sy, sz, s0, s1, s2, s3 = _metropolis_lane(sb, y, x, j, sx, sy, sz, bK, s0, s1, s2, s3)
                            tx, ty, tz, t0, t1, t2, t3 = _metropolis_lane(sb, y, x, k, tx, ty, tz, bK, t0, t1, t2, t3)
                            st[0, j], st[1, j], st[2, j], st[3, j] = s0, s1, s2, s3
                            st[0, k], st[1, k], st[2, k], st[3, k] = t0, t1, t2, t3
                            new[0, j], new[1, j], new[2, j] = sx, sy, sz
                            new[0, k], new[1, k], new[2, k] = tx, ty, tz
                    else:
                        for j in range(_HALF):
                            k = j + _HALF
                            sx, sy, sz, s0, s1, s2, s3 = _lane_move(sb, y, x, yp, ym, xp, xm, j, st[0, j], st[1, j],
                                                                    st[2, j], st[3, j], J, Dx, Dy, B, beta, T)
                            tx, ty, tz, t0, t1, t2, t3 = _lane_move(sb, y, x, yp, ym, xp, xm, k, st[0, k], st[1, k],
                                                                    st[2, k], st[3, k], J, Dx, Dy, B, beta, T)
                            st[0, j], st[1, j], st[2, j], st[3, j] = s0, s1, s2, s3
                            st[0, k], st[1, k], st[2, k], st[3, k] = t0, t1, t2, t3
                            new[0, j], new[1, j], new[2, j] = sx, sy, sz
                            new[0, k], new[1, k], new[2, k] = tx, ty, tz
                    for c in range(3):
                        for j in range(_LANES):
                            sb[y, x, c, j] = new[c, j]
    for k in range(4):
        for j in range(_LANES):
            streams[k, j] = st[k, j]


@numba.njit(cache=True, error_model="numpy")
def _random_lanes(sb, streams):
    """Uniformly random (infinite-temperature) states of ``_LANES`` samples, two draws per site in row order."""
    _prefer_wide_vectors()
    L = sb.shape[0]
    st = numba.carray(_state_buffer(), (4, _LANES))
    new = numba.carray(_spin_buffer(), (3, _LANES))
    for k in range(4):
        for j in range(_LANES):
            st[k, j] = streams[k, j]
    for y in range(L):
        for x in range(L):
            for j in range(_LANES):
                r1, s0, s1, s2, s3 = _xoshiro(st[0, j], st[1, j], st[2, j], st[3, j])
                r2, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                st[0, j], st[1, j], st[2, j], st[3, j] = s0, s1, s2, s3
                ct = _fma(2.0, r1, -1.0)
                sin_t = _sqrt(_fma(-ct, ct, 1.0))
                cp, sp = _cos_sin_turn(r2)
                new[0, j], new[1, j], new[2, j] = sin_t * cp, sin_t * sp, ct
            for c in range(3):
                for j in range(_LANES):
                    sb[y, x, c, j] = new[c, j]
    for k in range(4):
        for j in range(_LANES):
            streams[k, j] = st[k, j]


@numba.njit(cache=True, parallel=True)
def _anneal_lanes(spins, streams, temperatures, init_random, J, Dx, Dy, K, B):
    """Anneal ``spins (n, 3, L, L)`` in place, blocks of ``_LANES`` samples in parallel.

    The last block is padded with copies of its last sample (computed and discarded).
    """
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
        _sweeps_lanes(sb, st, temperatures, J, Dx, Dy, K, B)
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
                      *model.kernel_args())
    return spins


def _prepare(model, indices, seed, temperatures, initial):
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


def _anneal_scalar(model: ChiralMagnet, indices, seed: int, temperatures: np.ndarray,
                   initial: np.ndarray | None = None) -> np.ndarray:
    """:func:`anneal` with the pre-vectorization kernel (one sample per thread, scalar libm, rejection-sampled azimuth).

    Same arguments, streams and conditional law as :func:`anneal`, different use of the
    streams: the reference against which tests and ``benchmarks/bench_heatbath.py``
    compare the vectorized kernel.
    """
    spins, streams = _prepare(model, indices, seed, temperatures, initial)
    if len(spins):
        _anneal_batch(spins, streams, np.ascontiguousarray(temperatures, dtype=np.float64), initial is None,
                      *model.kernel_args())
    return spins
