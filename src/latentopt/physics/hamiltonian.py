"""The chiral-magnet Hamiltonian: energy, local energy density, effective field (numba).

This module is the single source of the physics conventions of ``docs/design.md``.

A state is an array ``(3, L, L)`` of unit vectors with channels ``(s_x, s_y, s_z)``; a
batch is ``(n, 3, L, L)``. The last axis is x (columns), the one before it y (rows).
Boundaries are periodic. Energies are in units of J's unit (J = 1 unless configured),
temperatures in the same units (k_B = 1).

Hamiltonian (each nearest-neighbour bond counted once)::

    E = -J sum_<ij> s_i.s_j - sum_<ij> D_ij.(s_i x s_j) - K sum_i (s_i^z)^2 - sum_i B.s_i

with the Dzyaloshinskii-Moriya vector of the bond from site i to its neighbour j along
the unit vector r_ij

- interfacial (Neel) DMI: ``D_ij = D (z_hat x r_ij)``: +x bond ``D y_hat``, +y bond ``-D x_hat``;
- bulk (Bloch) DMI: ``D_ij = D r_ij``: +x bond ``D x_hat``, +y bond ``D y_hat``.

References: Park et al., Sci. Rep. 12, 9278 (2022) (the Hamiltonian of the dataset);
Fert, Cros, Sampaio, Nat. Nanotech. 8, 152 (2013) (interfacial vs bulk DMI vectors).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

DMI_TYPES = ("interfacial", "bulk")


@dataclass(frozen=True)
class ChiralMagnet:
    """Parameters of the 2D chiral magnet on an L x L periodic square lattice.

    Attributes
    ----------
    L : int
        Linear lattice size (sites).
    J : float
        Heisenberg exchange (energy unit).
    D : float
        Dzyaloshinskii-Moriya strength |D_ij| (units of energy).
    dmi : {"interfacial", "bulk"}
        DMI symmetry, see the module docstring.
    K : float
        Uniaxial anisotropy; ``K > 0`` favours s_z = +-1 (easy axis).
    B : tuple of 3 floats
        Applied field in energy units (Zeeman term ``-B.s``).

    Raises
    ------
    ValueError
        On an unknown ``dmi`` type, a non-positive ``L`` or a field that is not a 3-vector.
    """

    L: int
    J: float = 1.0
    D: float = 0.3
    dmi: str = "interfacial"
    K: float = 0.0
    B: tuple = field(default=(0.0, 0.0, 0.0))

    def __post_init__(self):
        if self.dmi not in DMI_TYPES:
            raise ValueError(f"system.dmi: expected one of {DMI_TYPES}, got {self.dmi!r}")
        if int(self.L) <= 0:
            raise ValueError(f"system.L: expected a positive lattice size, got {self.L}")
        B = tuple(float(b) for b in self.B)
        if len(B) != 3:
            raise ValueError(f"system.B: expected a 3-vector [Bx, By, Bz], got {self.B!r}")
        object.__setattr__(self, "B", B)

    @classmethod
    def from_config(cls, system: dict) -> "ChiralMagnet":
        """Build from a study's ``system:`` config block (extra keys such as ``model`` ignored)."""
        return cls(L=int(system["L"]), J=float(system.get("J", 1.0)), D=float(system.get("D", 0.3)),
                   dmi=system.get("dmi", "interfacial"), K=float(system.get("K", 0.0)),
                   B=tuple(system.get("B", (0.0, 0.0, 0.0))))

    def dmi_vectors(self) -> np.ndarray:
        """DM vectors of the +x and +y bonds, shape ``(2, 3)`` (rows: D_x-bond, D_y-bond)."""
        if self.dmi == "interfacial":  # D (z_hat x r_ij)
            return np.array([[0.0, self.D, 0.0], [-self.D, 0.0, 0.0]])
        return np.array([[self.D, 0.0, 0.0], [0.0, self.D, 0.0]])  # bulk: D r_ij

    def kernel_args(self) -> tuple:
        """Arguments ``(J, Dx, Dy, K, B)`` of the numba kernels, as float64 arrays/scalars."""
        d = self.dmi_vectors()
        return (float(self.J), d[0].copy(), d[1].copy(), float(self.K), np.asarray(self.B, dtype=np.float64))


# --------------------------------------------------------------------------- closed forms
def spiral_energy(q: float, J: float = 1.0, D: float = 0.3) -> float:
    """Energy per spin of a single-q spiral of the matching chirality, ``e(q) = -J(1 + cos q) - D sin q``.

    Parameters
    ----------
    q : float
        Wavenumber (radians per lattice constant); a positive q has the chirality the DMI
        favours (see :func:`latentopt.physics.states.spiral`).
    J, D : float
        Exchange and DMI strength.

    Returns
    -------
    float
        Energy per spin in units of J (docs/design.md, "Physics conventions").
    """
    return -J * (1.0 + np.cos(q)) - D * np.sin(q)


def spiral_ground_state(J: float = 1.0, D: float = 0.3) -> tuple[float, float]:
    """Wavenumber and energy of the optimal spiral: ``tan q* = D / J``, ``e* = -J - sqrt(J^2 + D^2)``.

    Returns
    -------
    (q_star, e_star) : tuple of float
        For J = 1, D = 0.3: ``q* = 0.2915``, ``e* = -2.04403``.
    """
    return float(np.arctan2(D, J)), float(-J - np.hypot(J, D))


def commensurate_spiral_energy(model: ChiralMagnet, n: tuple[int, int]) -> float:
    """Energy per spin of the single-q spiral with ``n = (n_x, n_y)`` periods across the periodic lattice.

    The state is ``s(r) = cos(q.r) z_hat + sin(q.r) m_hat`` with ``q = 2 pi (n_x, n_y) / L``
    (:func:`latentopt.physics.states.commensurate_spiral`). Bond by bond, ``s_i x s_j`` is
    ``sin(q.r_ij)`` times the fixed rotation axis ``z_hat x m_hat``, so the DMI energy per spin
    is ``-D (z_hat x m_hat) . (sin q_x d_x + sin q_y d_y)`` with the unit DMI vectors ``d_x``,
    ``d_y`` of the two bond directions (orthogonal for both DMI types). The rotation plane the
    DMI favours makes the axis parallel to that sum, so

        e(q) = -J (cos q_x + cos q_y) - D sqrt(sin^2 q_x + sin^2 q_y) - K <cos^2(q.r)>,

    where ``<cos^2(q.r)> = 1/2`` unless ``2n`` is a multiple of L in both components (then 1), and
    the Zeeman term averages to zero over whole periods (``n = (0, 0)`` is the ferromagnet along
    z: ``-2J - K - B_z``). Along an axis and for ``K = 0`` this is :func:`spiral_energy`.
    The spiral is a stationary state for ``K = 0`` and ``B = 0`` (its local field is parallel
    to every spin); otherwise it is a reference state, not a stationary one. (With the plane
    of ``q_hat`` instead, the DMI term is ``-D q_hat . (sin q_x, sin q_y)``, higher for an
    oblique ``q`` by Cauchy-Schwarz, and the state is not stationary.)

    Parameters
    ----------
    model : ChiralMagnet
    n : (int, int)
        Periods along x and y.

    Returns
    -------
    float
        Energy per spin (units of J).
    """
    nx, ny = int(n[0]), int(n[1])
    if nx == 0 and ny == 0:
        return float(-2.0 * model.J - model.K - model.B[2])
    qx, qy = 2.0 * np.pi * nx / model.L, 2.0 * np.pi * ny / model.L
    cos2 = 1.0 if (2 * nx) % model.L == 0 and (2 * ny) % model.L == 0 else 0.5
    return float(-model.J * (np.cos(qx) + np.cos(qy)) - model.D * np.hypot(np.sin(qx), np.sin(qy)) - model.K * cos2)


def lowest_commensurate_spiral(model: ChiralMagnet) -> tuple[tuple[int, int], float]:
    """The single-q spiral of lowest energy that fits the periodic lattice (:func:`commensurate_spiral_energy`).

    The reference a relaxed stripe state of a spin study is compared with (``polish: true``):
    for J = 1, D = 0.3, B = K = 0 on 64 x 64 it is the diagonal cycloid ``n = (2, 2)`` at
    -2.04434 J per spin, below the best axis-aligned one (``n = (3, 0)``, -2.04403) and above
    the continuum optimum ``-sqrt(4 J^2 + 2 D^2)`` = -2.04450 of the diagonal direction.

    Returns
    -------
    n : (int, int)
        Periods along x and y (``n_x >= n_y >= 0``; the energy is symmetric under sign
        changes and the exchange of the axes).
    energy : float
        Its energy per spin (units of J).
    """
    best = None
    for nx in range(model.L // 2 + 1):
        for ny in range(nx + 1):
            e = commensurate_spiral_energy(model, (nx, ny))
            if best is None or e < best[1] - 1e-15:
                best = ((nx, ny), e)
    return best


# --------------------------------------------------------------------------- numba kernels
@numba.njit(cache=True, inline="always")
def _cross(ax, ay, az, bx, by, bz):
    return ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx


@numba.njit(cache=True)
def _bond_energies(s, J, Dx, Dy, ex, ey):
    """Fill ``ex[y, x]``, ``ey[y, x]``: energies of the +x and +y bonds leaving site (y, x)."""
    L_y, L_x = s.shape[1], s.shape[2]
    for y in range(L_y):
        yp = (y + 1) % L_y
        for x in range(L_x):
            xp = (x + 1) % L_x
            ax, ay, az = s[0, y, x], s[1, y, x], s[2, y, x]
            bx, by, bz = s[0, y, xp], s[1, y, xp], s[2, y, xp]
            cx, cy, cz = _cross(ax, ay, az, bx, by, bz)
            ex[y, x] = -J * (ax * bx + ay * by + az * bz) - (Dx[0] * cx + Dx[1] * cy + Dx[2] * cz)
            bx, by, bz = s[0, yp, x], s[1, yp, x], s[2, yp, x]
            cx, cy, cz = _cross(ax, ay, az, bx, by, bz)
            ey[y, x] = -J * (ax * bx + ay * by + az * bz) - (Dy[0] * cx + Dy[1] * cy + Dy[2] * cz)


@numba.njit(cache=True)
def _energy_density_one(s, J, Dx, Dy, K, B, out):
    L_y, L_x = s.shape[1], s.shape[2]
    ex = np.empty((L_y, L_x))
    ey = np.empty((L_y, L_x))
    _bond_energies(s, J, Dx, Dy, ex, ey)
    for y in range(L_y):
        ym = (y - 1) % L_y
        for x in range(L_x):
            xm = (x - 1) % L_x
            sz = s[2, y, x]
            onsite = -K * sz * sz - (B[0] * s[0, y, x] + B[1] * s[1, y, x] + B[2] * sz)
            out[y, x] = 0.5 * (ex[y, x] + ex[y, xm] + ey[y, x] + ey[ym, x]) + onsite


@numba.njit(cache=True, parallel=True)
def _energy_density_batch(s, J, Dx, Dy, K, B, out):
    for k in numba.prange(s.shape[0]):
        _energy_density_one(s[k], J, Dx, Dy, K, B, out[k])


@numba.njit(cache=True, inline="always")
def local_field(s, y, x, yp, ym, xp, xm, J, Dx, Dy, B):
    """Effective field at site (y, x) of one state ``s (3, L, L)``, without the anisotropy term.

    ``h = J sum_j s_j + sum_j s_j x D_ij + B``; with D_ij of the -x/-y bonds equal to minus
    those of the +x/+y bonds this is ``J sum_j s_j + (s_{x+1} - s_{x-1}) x D_x +
    (s_{y+1} - s_{y-1}) x D_y + B``. ``yp, ym, xp, xm`` are the (periodic) neighbour rows
    and columns. Returns the three components.
    """
    sxpx, sxpy, sxpz = s[0, y, xp], s[1, y, xp], s[2, y, xp]
    sxmx, sxmy, sxmz = s[0, y, xm], s[1, y, xm], s[2, y, xm]
    sypx, sypy, sypz = s[0, yp, x], s[1, yp, x], s[2, yp, x]
    symx, symy, symz = s[0, ym, x], s[1, ym, x], s[2, ym, x]
    ux, uy, uz = _cross(sxpx - sxmx, sxpy - sxmy, sxpz - sxmz, Dx[0], Dx[1], Dx[2])
    vx, vy, vz = _cross(sypx - symx, sypy - symy, sypz - symz, Dy[0], Dy[1], Dy[2])
    hx = J * (sxpx + sxmx + sypx + symx) + ux + vx + B[0]
    hy = J * (sxpy + sxmy + sypy + symy) + uy + vy + B[1]
    hz = J * (sxpz + sxmz + sypz + symz) + uz + vz + B[2]
    return hx, hy, hz


@numba.njit(cache=True, parallel=True)
def _effective_field_batch(s, J, Dx, Dy, K, B, out):
    for k in numba.prange(s.shape[0]):
        L_y, L_x = s.shape[2], s.shape[3]
        for y in range(L_y):
            for x in range(L_x):
                hx, hy, hz = local_field(s[k], y, x, (y + 1) % L_y, (y - 1) % L_y, (x + 1) % L_x, (x - 1) % L_x,
                                         J, Dx, Dy, B)
                out[k, 0, y, x] = hx
                out[k, 1, y, x] = hy
                out[k, 2, y, x] = hz + 2.0 * K * s[k, 2, y, x]


# --------------------------------------------------------------------------- public API
def as_batch(spins: np.ndarray, name: str = "spins") -> tuple[np.ndarray, bool]:
    """Return ``(batch (n, 3, L, L) float64 C-contiguous, was_single)`` for a state or a batch.

    Raises
    ------
    ValueError
        If ``spins`` is not ``(3, L, L)`` or ``(n, 3, L, L)``.
    """
    arr = np.asarray(spins)
    single = arr.ndim == 3
    if single:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[1] != 3:
        raise ValueError(f"{name}: expected shape (3, L, L) or (n, 3, L, L), got {np.shape(spins)}")
    return np.ascontiguousarray(arr, dtype=np.float64), single


def energy_density(spins: np.ndarray, model: ChiralMagnet) -> np.ndarray:
    """Local energy density: each bond's energy split half to each of its two sites, plus on-site terms.

    The map sums to the total energy E (docs/design.md). A uniform ferromagnet along z with
    K = 0, B = 0 has density -2J on every site.

    Parameters
    ----------
    spins : ndarray, shape (3, L, L) or (n, 3, L, L)
        Unit-vector states.
    model : ChiralMagnet

    Returns
    -------
    ndarray, shape (L, L) or (n, L, L), float64
        Energy per site in units of J.
    """
    s, single = as_batch(spins)
    out = np.empty((s.shape[0], s.shape[2], s.shape[3]))
    _energy_density_batch(s, *model.kernel_args(), out)
    return out[0] if single else out


def energy_per_spin(spins: np.ndarray, model: ChiralMagnet) -> np.ndarray | float:
    """Energy per spin ``e = E / L^2`` (units of J).

    Parameters
    ----------
    spins : ndarray, shape (3, L, L) or (n, 3, L, L)
    model : ChiralMagnet

    Returns
    -------
    float or ndarray, shape (n,)
    """
    dens = energy_density(spins, model)
    return dens.mean(axis=(-2, -1))


def effective_field(spins: np.ndarray, model: ChiralMagnet) -> np.ndarray:
    """Effective field ``h_i = -dE/ds_i = J sum_j s_j + sum_j s_j x D_ij + 2K s_i^z z_hat + B``.

    Parameters
    ----------
    spins : ndarray, shape (3, L, L) or (n, 3, L, L)
    model : ChiralMagnet

    Returns
    -------
    ndarray, same shape as ``spins``, float64
        Field in energy units (docs/design.md, "Effective field").
    """
    s, single = as_batch(spins)
    out = np.empty_like(s)
    _effective_field_batch(s, *model.kernel_args(), out)
    return out[0] if single else out


def nodal_points(density: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean mask of nodal points: sites whose local energy density exceeds ``threshold``.

    Parameters
    ----------
    density : ndarray, shape (L, L) or (n, L, L)
        Local energy density (:func:`energy_density`).
    threshold : float
        Energy per site (units of J); the paper's nodal points reach about -0.1 while
        relaxed textures stay below about -1.9 (Park et al. 2022, Fig. 1c and Fig. 5b).

    Returns
    -------
    ndarray of bool, same shape as ``density``
    """
    return np.asarray(density) > threshold
