"""Observables of spin states (numba / numpy): topological charge W, M_z, C(a), C_BC.

Definitions follow ``docs/design.md`` ("Physics conventions") and Park et al., Sci. Rep. 12,
9278 (2022): W counts skyrmions, ``M_z = <s_z>``, ``C(a) = <s(r).s(r + a)>`` measures
stripe alignment along the lattice vector ``a``, and ``C_BC = <S_BC(r).s(r)>`` the
overlap with a boundary-condition map (Fig. 5d-e of the paper). The differentiable,
batched torch versions are in :mod:`latentopt.physics.torch_physics`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .hamiltonian import as_batch


@numba.njit(cache=True, inline="always")
def _solid_angle(ax, ay, az, bx, by, bz, cx, cy, cz):
    """Signed solid angle of the spherical triangle (a, b, c), Berg & Luscher (1981)."""
    triple = ax * (by * cz - bz * cy) + ay * (bz * cx - bx * cz) + az * (bx * cy - by * cx)
    denom = 1.0 + (ax * bx + ay * by + az * bz) + (bx * cx + by * cy + bz * cz) + (cx * ax + cy * ay + cz * az)
    return 2.0 * math.atan2(triple, denom)


@numba.njit(cache=True, parallel=True)
def _topological_charge_batch(s, out):
    n, _, L_y, L_x = s.shape
    for k in numba.prange(n):
        total = 0.0
        for y in range(L_y):
            yp = (y + 1) % L_y
            for x in range(L_x):
                xp = (x + 1) % L_x
                # plaquette corners counter-clockwise: 1=(y,x) 2=(y,x+1) 3=(y+1,x+1) 4=(y+1,x)
                s1x, s1y, s1z = s[k, 0, y, x], s[k, 1, y, x], s[k, 2, y, x]
                s2x, s2y, s2z = s[k, 0, y, xp], s[k, 1, y, xp], s[k, 2, y, xp]
                s3x, s3y, s3z = s[k, 0, yp, xp], s[k, 1, yp, xp], s[k, 2, yp, xp]
                s4x, s4y, s4z = s[k, 0, yp, x], s[k, 1, yp, x], s[k, 2, yp, x]
                total += _solid_angle(s1x, s1y, s1z, s2x, s2y, s2z, s3x, s3y, s3z)
                total += _solid_angle(s1x, s1y, s1z, s3x, s3y, s3z, s4x, s4y, s4z)
        out[k] = total / (4.0 * math.pi)


def topological_charge(spins: np.ndarray) -> np.ndarray | float:
    """Topological charge W, lattice form of Berg & Luscher, Nucl. Phys. B 190, 412 (1981).

    Every plaquette with corners 1=(x, y), 2=(x+1, y), 3=(x+1, y+1), 4=(x, y+1) is split
    into the counter-clockwise triangles (1, 2, 3) and (1, 3, 4); each contributes
    ``Omega = 2 atan2(s1.(s2 x s3), 1 + s1.s2 + s2.s3 + s3.s1)`` and ``W = sum Omega / 4 pi``.
    On a periodic lattice W is an integer for any state without exactly antiparallel
    neighbours. Sign: a skyrmion whose core points along -z in a +z background has
    ``W = -1`` (continuum ``W = (1/4pi) int s.(d_x s x d_y s)``).

    Parameters
    ----------
    spins : ndarray, shape (3, L, L) or (n, 3, L, L)

    Returns
    -------
    float or ndarray, shape (n,)
    """
    s, single = as_batch(spins)
    out = np.empty(s.shape[0])
    _topological_charge_batch(s, out)
    return out[0] if single else out


def magnetization_z(spins: np.ndarray) -> np.ndarray | float:
    """Out-of-plane magnetization ``M_z = mean_i s_i^z``; shape ``()`` or ``(n,)``."""
    s, single = as_batch(spins)
    m = s[:, 2].mean(axis=(-2, -1))
    return m[0] if single else m


def correlation(spins: np.ndarray, a=(1, 0)) -> np.ndarray | float:
    """Directional correlation ``C(a) = < s(r) . s(r + a) >`` over all sites (periodic).

    Parameters
    ----------
    spins : ndarray, shape (3, L, L) or (n, 3, L, L)
    a : (int, int)
        Lattice vector ``(a_x, a_y)`` in lattice constants.

    Returns
    -------
    float or ndarray, shape (n,)
        In [-1, 1]; 1 for any uniform state, ``cos(q a_x)`` for a spiral along x.
    """
    s, single = as_batch(spins)
    ax, ay = int(a[0]), int(a[1])
    shifted = np.roll(s, shift=(-ay, -ax), axis=(-2, -1))
    c = (s * shifted).sum(axis=1).mean(axis=(-2, -1))
    return c[0] if single else c


def boundary_correlation(spins: np.ndarray, s_bc: np.ndarray) -> np.ndarray | float:
    """Boundary-condition correlation ``C_BC = < S_BC(r) . s(r) >`` over the sites where S_BC is defined.

    Park et al. (2022), Fig. 5d-e. A site counts as defined where ``|S_BC(r)| > 0``.

    Parameters
    ----------
    spins : ndarray, shape (3, L, L) or (n, 3, L, L)
    s_bc : ndarray, shape (3, L, L)
        Boundary map (unit vectors on the ring, zero vectors elsewhere),
        see :mod:`latentopt.physics.boundary`.

    Returns
    -------
    float or ndarray, shape (n,)

    Raises
    ------
    ValueError
        If the map's lattice differs from the states' or defines no site.
    """
    s, single = as_batch(spins)
    s_bc = np.asarray(s_bc, dtype=np.float64)
    if s_bc.shape != s.shape[1:]:
        raise ValueError(f"boundary map: expected shape {s.shape[1:]}, got {s_bc.shape}")
    mask = np.linalg.norm(s_bc, axis=0) > 0
    if not mask.any():
        raise ValueError("boundary map: defines no site (all vectors are zero)")
    c = (s * s_bc[None]).sum(axis=1)[:, mask].mean(axis=-1)
    return c[0] if single else c
