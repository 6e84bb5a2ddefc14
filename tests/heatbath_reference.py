"""The pre-vectorization heat-bath kernel: the reference of the tests and of benchmarks/bench_heatbath.py.

One sample per numba thread, scalar C-library ``log1p``/``expm1``/``cos``/``sin``, and a
rejection-sampled azimuth: the kernel :func:`latentopt.physics.heatbath.anneal` had
before it was vectorized across samples. It runs the same Markov chain (the heat-bath
move of Miyatake et al., J. Phys. C 19, 2539 (1986), checkerboard sweeps, the
independence Metropolis-Hastings correction for the anisotropy; docs/design.md, "Physics
conventions") from the same xoshiro256** streams, but uses the streams differently, so it
samples the same distribution, not the same numbers. ``tests/test_heatbath.py`` compares
the two kernels' equilibrium statistics; the benchmark times both.

Benchmarks import this module after putting ``tests/`` on ``sys.path``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from latentopt.physics.hamiltonian import ChiralMagnet, local_field
from latentopt.physics.heatbath import _prepare
from latentopt.physics.xoshiro import next_uniform


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
                r1, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
                cos_t = heatbath_cos_theta(beta * math.sqrt(hx * hx + hy * hy + hz * hz), r1)
                # uniform azimuth without trig: a uniform point (u, v) of the unit disk has a
                # uniform angle phi/2, so (u^2 - v^2, 2uv) / (u^2 + v^2) = (cos phi, sin phi)
                while True:
                    u, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
                    v, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
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
                        r3, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
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
            r1, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
            r2, s0, s1, s2, s3 = next_uniform(s0, s1, s2, s3)
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



def anneal_scalar(model: ChiralMagnet, indices, seed: int, temperatures: np.ndarray,
                  initial: np.ndarray | None = None) -> np.ndarray:
    """:func:`latentopt.physics.heatbath.anneal` with the pre-vectorization kernel (module docstring).

    Same arguments, streams, validation and conditional law as
    :func:`~latentopt.physics.heatbath.anneal`, different use of the streams.

    Returns
    -------
    ndarray, shape (n, 3, L, L), float64
        Final states (unit vectors).
    """
    spins, streams = _prepare(model, indices, seed, temperatures, initial)
    if len(spins):
        _anneal_batch(spins, streams, np.ascontiguousarray(temperatures, dtype=np.float64), initial is None,
                      *model.kernel_args())
    return spins
