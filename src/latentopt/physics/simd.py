"""Building blocks of vectorized (SIMD) numba kernels: LLVM intrinsics and branch-free elementary functions.

A numba loop vectorizes only if its body calls no library function and stores to no
memory LLVM cannot prove distinct from what it reads. This module provides what the
heat-bath lane loop (:mod:`latentopt.physics.heatbath`) needs for that:

- intrinsics: :func:`fma` (IEEE 754 fusedMultiplyAdd), :func:`sqrt` (correctly
  rounded), bit casts :func:`as_float` / :func:`as_int`, 64-byte aligned stack buffers
  (:func:`stack_buffer`) and :func:`prefer_wide_vectors` (512-bit vectors on AVX-512);
- polynomial kernels of ``expm1``, ``exp``, ``log1p`` and ``(cos, sin)`` of a turn, each
  a fixed sequence of additions, multiplications, FMAs, one division at most, ``floor``
  and exact conversions (no table look-ups, no branches: selections compile to blends).

Every function rounds the same way on every lane and vector width (no fast-math), so a
kernel built from them gives bit-identical results whatever the CPU vectorizes with.
Accuracy against the C library, as derived in each docstring: within 2 ulp (``expm1``,
``exp``), 4 ulp (``log1p``), absolute 1e-15 (``cos_sin_turn``); ``tests/test_heatbath.py``
checks 4 ulp and 1e-15 over the argument ranges of the heat-bath move.

:data:`INLINE` holds the numba options of these kernels (and of helpers of lane loops):
inlined into the caller, numpy's error model (a division by zero gives inf, no exception
check in the loop).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

#: numba options of small kernels called from vectorized loops
INLINE = dict(cache=True, inline="always", error_model="numpy")


@intrinsic
def prefer_wide_vectors(typingctx):
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


def stack_buffer(nbtype, lltype, size):
    """Intrinsic returning a pointer to ``size`` elements of stack memory (64-byte aligned).

    A lane loop that stores only to such buffers vectorizes without run-time checks: LLVM
    knows they cannot alias the arrays it reads. Wrap the pointer with ``numba.carray``.

    Parameters
    ----------
    nbtype : numba type
        Element type (e.g. ``types.float64``).
    lltype : llvmlite type
        The same type in LLVM IR (e.g. ``llvm_ir.DoubleType()``).
    size : int
        Number of elements.

    Returns
    -------
    intrinsic
        Called without arguments inside a jitted function, it allocates the buffer in
        that function's stack frame and returns ``CPointer(nbtype)``.
    """
    @intrinsic
    def buffer(typingctx):
        def codegen(context, builder, sig, args):
            ptr = cgutils.alloca_once(builder, lltype, size=size)
            ptr.align = 64
            return ptr
        return types.CPointer(nbtype)(), codegen
    return buffer


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` with a single rounding (``llvm.fma``; IEEE 754 fusedMultiplyAdd)."""
    if all(isinstance(v, types.Float) and v.bitwidth == 64 for v in (a, b, c)):
        def codegen(context, builder, sig, args):
            fnty = llvm_ir.FunctionType(llvm_ir.DoubleType(), [llvm_ir.DoubleType()] * 3)
            return builder.call(cgutils.get_or_insert_function(builder.module, fnty, "llvm.fma.f64"), args)
        return types.float64(a, b, c), codegen


@intrinsic
def sqrt(typingctx, x):
    """Correctly rounded square root (``llvm.sqrt``; no libm call, so it vectorizes)."""
    if isinstance(x, types.Float) and x.bitwidth == 64:
        def codegen(context, builder, sig, args):
            fnty = llvm_ir.FunctionType(llvm_ir.DoubleType(), [llvm_ir.DoubleType()])
            return builder.call(cgutils.get_or_insert_function(builder.module, fnty, "llvm.sqrt.f64"), args)
        return types.float64(x), codegen


@intrinsic
def as_float(typingctx, i):
    """Reinterpret the bits of an int64 as a float64."""
    if isinstance(i, types.Integer) and i.bitwidth == 64:
        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], llvm_ir.DoubleType())
        return types.float64(i), codegen


@intrinsic
def as_int(typingctx, x):
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


@numba.njit(**INLINE)
def pow2(k):
    """``2^k`` for an integral float ``k`` in [-1022, 1023], built from its exponent bits."""
    return as_float(np.int64(k + 1023.0) << np.int64(52))


@numba.njit(**INLINE)
def _expm1_reduced(t):
    """``expm1(t)`` for ``|t| <= log(2) / 2``: Taylor series to ``t^13`` (truncation < 1e-17), Estrin scheme."""
    t2 = t * t
    t4 = t2 * t2
    p0 = fma(1.0 / 6.0, t, 1.0 / 2.0)
    p1 = fma(1.0 / 120.0, t, 1.0 / 24.0)
    p2 = fma(1.0 / 5040.0, t, 1.0 / 720.0)
    p3 = fma(1.0 / 362880.0, t, 1.0 / 40320.0)
    p4 = fma(1.0 / 39916800.0, t, 1.0 / 3628800.0)
    p5 = fma(1.0 / 6227020800.0, t, 1.0 / 479001600.0)
    q0 = fma(p1, t2, p0)
    q1 = fma(p3, t2, p2)
    q2 = fma(p5, t2, p4)
    return fma(t2, fma(q2, t4 * t4, fma(q1, t4, q0)), t)


@numba.njit(**INLINE)
def expm1(y):
    """``exp(y) - 1`` for ``-40 <= y <= 0``, within 2 ulp: ``y = k log 2 + t``, ``2^k expm1(t) + (2^k - 1)``."""
    k = math.floor(fma(y, _INV_LN2, 0.5))
    t = (y - k * _LN2_HI) - k * _LN2_LO
    s = pow2(k)
    return fma(s, _expm1_reduced(t), s - 1.0)


@numba.njit(**INLINE)
def exp(y):
    """``exp(y)`` for ``y <= 0`` (arguments below -708 are taken as -708), within 2 ulp."""
    y = max(y, -708.0)
    k = math.floor(fma(y, _INV_LN2, 0.5))
    t = (y - k * _LN2_HI) - k * _LN2_LO
    s = pow2(k)
    return fma(s, _expm1_reduced(t), s)


@numba.njit(**INLINE)
def log1p(a):
    """``log(1 + a)`` for ``-1 < a <= 0``, within 4 ulp.

    ``1 + a = 2^e m`` with ``m`` in [sqrt(1/2), sqrt(2)); ``log m = 2 atanh(s)``,
    ``s = f / (2 + f)``, ``f = m - 1`` (exact; ``f = a`` itself when ``e = 0``, so small
    arguments keep full relative precision); series in ``s^2`` to ``s^23``.
    """
    u = 1.0 + a
    bits = as_int(u)
    m = as_float((bits & np.int64(0x000FFFFFFFFFFFFF)) | np.int64(0x3FF0000000000000))
    e = float((bits >> np.int64(52)) - np.int64(1023))
    big = m > _SQRT2
    m = 0.5 * m if big else m
    e = e + 1.0 if big else e
    f = a if e == 0.0 else m - 1.0
    s = f / (2.0 + f)
    z = s * s
    z2 = z * z
    z4 = z2 * z2
    p0 = fma(1.0 / 5.0, z, 1.0 / 3.0)
    p1 = fma(1.0 / 9.0, z, 1.0 / 7.0)
    p2 = fma(1.0 / 13.0, z, 1.0 / 11.0)
    p3 = fma(1.0 / 17.0, z, 1.0 / 15.0)
    p4 = fma(1.0 / 21.0, z, 1.0 / 19.0)
    q0 = fma(p1, z2, p0)
    q1 = fma(p3, z2, p2)
    q2 = fma(1.0 / 23.0, z2, p4)
    poly = fma(q2, z4 * z4, fma(q1, z4, q0))
    two_s = 2.0 * s
    return e * _LN2_HI + (two_s + fma(two_s * z, poly, e * _LN2_LO))


@numba.njit(**INLINE)
def cos_sin_turn(r):
    """``(cos phi, sin phi)`` of ``phi = 2 pi (r - 1/2)`` for ``r`` in [0, 1), absolute error < 1e-15.

    Quadrant reduction ``phi = q pi / 2 + t`` (exact in ``r``), Taylor series of sin and
    cos on ``|t| <= pi / 4`` to ``t^15`` and ``t^16``, then the quadrant's sign/swap.
    """
    u = r - 0.5
    q = math.floor(fma(4.0, u, 0.5))
    t = 6.283185307179586 * (u - 0.25 * q)
    z = t * t
    z2 = z * z
    a0 = fma(1.0 / 120.0, z, -1.0 / 6.0)
    a1 = fma(1.0 / 362880.0, z, -1.0 / 5040.0)
    a2 = fma(1.0 / 6227020800.0, z, -1.0 / 39916800.0)
    sn = fma(t * z, fma(fma(-1.0 / 1307674368000.0, z2, a2), z2 * z2, fma(a1, z2, a0)), t)
    b0 = fma(-1.0 / 720.0, z, 1.0 / 24.0)
    b1 = fma(-1.0 / 3628800.0, z, 1.0 / 40320.0)
    b2 = fma(-1.0 / 87178291200.0, z, 1.0 / 479001600.0)
    cs = fma(z2, fma(fma(1.0 / 20922789888000.0, z2, b2), z2 * z2, fma(b1, z2, b0)), fma(-0.5, z, 1.0))
    odd = abs(q) == 1.0
    c = sn if odd else cs
    s = cs if odd else sn
    c = -c if (q == 1.0) | (abs(q) == 2.0) else c
    s = -s if (q < 0.0) | (q == 2.0) else s
    return c, s
