"""Reference spin states with known energies and topological charges (used by tests and docs), and their edits.

All states are ``(3, L, L)`` float64 arrays of unit vectors in the conventions of
:mod:`latentopt.physics.hamiltonian`; :func:`erase_disc` overwrites a disc of a state (e.g. to
remove a skyrmion).
"""

from __future__ import annotations

import numpy as np

from .hamiltonian import DMI_TYPES


def ferromagnet(L: int, direction=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Uniform state along ``direction``; energy per spin ``-2J - K d_z^2 - B.d``.

    Returns
    -------
    ndarray, shape (3, L, L)
    """
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    return np.broadcast_to(d[:, None, None], (3, L, L)).copy()


def spiral(L: int, n_periods: int, dmi: str = "interfacial", axis: str = "x") -> np.ndarray:
    """Single-q spiral commensurate with the periodic lattice, ``q = 2 pi n_periods / L``.

    ``s(r) = cos(q r) z_hat + sin(q r) m_hat`` with ``r`` the coordinate along ``axis``
    and ``m_hat = r_hat`` for interfacial DMI (Neel cycloid) or ``m_hat = -(z_hat x r_hat)``
    for bulk DMI (Bloch helix). With ``n_periods > 0`` the rotation sense is the one the DMI
    favours and the energy per spin is ``e(q) = -J(1 + cos q) - D sin q``
    (:func:`latentopt.physics.hamiltonian.spiral_energy`); ``n_periods < 0`` gives the
    opposite chirality, ``e = -J(1 + cos q) + D |sin q|``.

    Parameters
    ----------
    L : int
        Lattice size.
    n_periods : int
        Number of periods across the lattice (sign selects the chirality).
    dmi : {"interfacial", "bulk"}
    axis : {"x", "y"}
        Propagation direction.

    Returns
    -------
    ndarray, shape (3, L, L)

    Raises
    ------
    ValueError
        On an unknown ``dmi`` or ``axis``.
    """
    _check_dmi(dmi)
    if axis not in ("x", "y"):
        raise ValueError(f"axis: expected 'x' or 'y', got {axis!r}")
    n = abs(int(n_periods))
    if n == 0:
        return ferromagnet(L)
    r_hat = np.array([1.0, 0.0, 0.0]) if axis == "x" else np.array([0.0, 1.0, 0.0])
    q = 2.0 * np.pi * n / L * r_hat[:2]
    s = _planar_spiral(L, q, r_hat, dmi)
    if n_periods < 0:  # the opposite rotation sense: sin(-q r) m_hat
        s[:2] *= -1.0
    return s


def _check_dmi(dmi: str) -> None:
    if dmi not in DMI_TYPES:
        raise ValueError(f"dmi: expected one of {DMI_TYPES}, got {dmi!r}")


def _planar_spiral(L: int, q: np.ndarray, u_hat: np.ndarray, dmi: str) -> np.ndarray:
    """``cos(q.r) z_hat + sin(q.r) m_hat`` on the L x L lattice, shape (3, L, L).

    ``m_hat = u_hat`` (in-plane unit vector) for interfacial DMI (Neel) or ``u_hat x z_hat``
    for bulk DMI (Bloch).
    """
    m_hat = u_hat if dmi == "interfacial" else np.cross(u_hat, [0.0, 0.0, 1.0])
    y, x = np.mgrid[0:L, 0:L]
    phase = q[0] * x + q[1] * y
    return np.cos(phase)[None] * np.array([0.0, 0.0, 1.0])[:, None, None] + np.sin(phase)[None] * m_hat[:, None, None]


def commensurate_spiral(L: int, n: tuple[int, int], dmi: str = "interfacial") -> np.ndarray:
    """Single-q spiral with ``n = (n_x, n_y)`` periods across the periodic lattice, in any direction.

    ``s(r) = cos(q.r) z_hat + sin(q.r) m_hat`` with ``q = 2 pi (n_x, n_y) / L``. On a bond
    ``delta`` the spins turn by ``q_delta`` about the axis ``z_hat x m_hat``, so the DMI
    energy is ``-D (z_hat x m_hat) . sum_delta sin(q_delta) d_delta`` and the plane the DMI
    favours has ``m_hat`` along ``(sin q_x, sin q_y, 0)`` (interfacial DMI: Neel cycloid) or
    ``(sin q_x, sin q_y, 0) x z_hat`` (bulk DMI: Bloch helix). That is ``q_hat`` only along
    an axis or a diagonal; for an oblique ``q`` the lattice tilts the plane, and only with
    this plane is the spiral a stationary state (for K = B = 0). When ``sin q_x = sin q_y =
    0`` the DMI energy vanishes and ``m_hat = q_hat`` (or ``q_hat x z_hat``). Energy per
    spin: :func:`latentopt.physics.hamiltonian.commensurate_spiral_energy`. Along an axis
    with ``0 < n < L/2`` it is :func:`spiral`.

    Returns
    -------
    ndarray, shape (3, L, L)

    Raises
    ------
    ValueError
        On an unknown ``dmi`` or ``n = (0, 0)``.
    """
    _check_dmi(dmi)
    q = 2.0 * np.pi * np.asarray(n, dtype=np.float64) / L
    if not q.any():
        raise ValueError("n: expected at least one nonzero number of periods, got (0, 0)")
    u = np.sin(q)
    u = np.where(np.abs(u) < 1e-12, 0.0, u)
    u = u if u.any() else q
    return _planar_spiral(L, q, np.append(u / np.linalg.norm(u), 0.0), dmi)


def skyrmion(L: int, radius: float, helicity: float = 0.0, polarity: int = -1,
             center: tuple[float, float] | None = None) -> np.ndarray:
    """An isolated skyrmion in a uniform background, compact profile.

    ``s = (sin T cos(phi + helicity), sin T sin(phi + helicity), -polarity cos T)`` with
    ``phi`` the azimuth about ``center`` and the polar profile ``T(r) = pi (1 - r / radius)``
    inside ``radius`` and 0 outside, so the core points along ``polarity * z_hat`` and the
    background along ``-polarity * z_hat``.
    Helicity 0 is a Neel skyrmion (favoured by interfacial DMI), pi/2 a Bloch skyrmion.

    Topological charge (Berg-Luscher, :func:`latentopt.physics.observables.topological_charge`):
    ``W = polarity``, i.e. a core along -z in a +z background has ``W = -1``
    (continuum ``W = (1/4pi) int s.(d_x s x d_y s) dx dy``).

    Returns
    -------
    ndarray, shape (3, L, L)
    """
    cy, cx = center if center is not None else ((L - 1) / 2.0, (L - 1) / 2.0)
    y, x = np.mgrid[0:L, 0:L].astype(np.float64)
    dx, dy = x - cx, y - cy
    r = np.hypot(dx, dy)
    phi = np.arctan2(dy, dx) + helicity
    theta = np.where(r < radius, np.pi * (1.0 - r / radius), 0.0)
    sz_sign = -float(polarity)  # background along -polarity z
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), sz_sign * np.cos(theta)])


def random_states(n: int, L: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` states with every spin uniform on the unit sphere (infinite temperature).

    Returns
    -------
    ndarray, shape (n, 3, L, L), float64
    """
    cos_t = rng.uniform(-1.0, 1.0, size=(n, L, L))
    phi = rng.uniform(0.0, 2.0 * np.pi, size=(n, L, L))
    sin_t = np.sqrt(1.0 - cos_t**2)
    return np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)


def erase_disc(states: np.ndarray, center, radius: float, direction=(0.0, 0.0, 1.0)) -> np.ndarray:
    """States with the spins within ``radius`` of ``center = (x, y)`` set to ``direction``.

    Distances are periodic (minimum image); x is the last axis (docs/design.md, "Physics
    conventions"). Used to build "the same state with one skyrmion removed" as an end state
    of a transition (then relaxed).

    Parameters
    ----------
    states : ndarray, shape (..., 3, L, L)
    center : (float, float)
        ``(x, y)`` in lattice units.
    radius : float
        Lattice units; sites at distance ``<= radius`` are set.
    direction : sequence of 3 floats
        Normalized before use.

    Returns
    -------
    ndarray, shape (..., 3, L, L), float64
        A copy; ``states`` is not changed.
    """
    s = np.array(states, dtype=np.float64, copy=True)
    L = s.shape[-1]
    x, y = np.meshgrid(np.arange(L), np.arange(L))
    dx = (x - center[0] + L / 2) % L - L / 2
    dy = (y - center[1] + L / 2) % L - L / 2
    d = np.asarray(direction, dtype=np.float64)
    s[..., :, (dx ** 2 + dy ** 2) <= radius ** 2] = (d / np.linalg.norm(d))[:, None]
    return s
