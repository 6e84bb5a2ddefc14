"""The xoshiro256** pseudorandom generator of the heat-bath kernels (numba, state in registers).

Blackman & Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 47 (2021).
A stream's state is four ``uint64`` words; :func:`next_uniform` advances it by one step and
returns a double in [0, 1) made of the top 53 bits of the output. The state is passed and
returned by value, so that a kernel can keep it in (vector) registers: every lane of
:mod:`latentopt.physics.heatbath` advances its own stream with the same integer operations.

Every sample of a study owns one stream, seeded by :func:`sample_streams` from
``numpy.random.SeedSequence([seed, sample_index])``, so that a sample's result depends on
``(seed, index)`` only (:mod:`latentopt.physics.heatbath`, "Reproducibility").
"""

from __future__ import annotations

import numba
import numpy as np

_U = np.uint64


@numba.njit(cache=True, inline="always")
def _rotl(x, k):
    """Rotate the 64-bit word ``x`` left by ``k`` bits."""
    return (x << _U(k)) | (x >> _U(64 - k))


@numba.njit(cache=True, inline="always")
def next_uniform(s0, s1, s2, s3):
    """One xoshiro256** step on a state held in registers.

    Parameters
    ----------
    s0, s1, s2, s3 : uint64
        The stream's state.

    Returns
    -------
    tuple
        ``(u, s0, s1, s2, s3)``: a uniform double ``u`` in [0, 1) (the output's top 53
        bits times ``2^-53``) and the advanced state. Blackman & Vigna (2021).
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
        Row ``k`` is ``SeedSequence([seed, indices[k]]).generate_state(4)``.
    """
    return np.stack([np.random.SeedSequence([int(seed), int(i)]).generate_state(4, dtype=np.uint64)
                     for i in np.asarray(indices)])
