"""FerroSIM: a square lattice of 2D polarization vectors driven by an electric-field history.

The model of Kalinin's lecture "Variational Autoencoders" (slide "FerroSIM: the simplest
interesting ferroelectric"; the FerroSim package of R. K. Vasudevan, after Ricinschii et
al., J. Phys.: Condens. Matter 10, 477 (1998)). Every site ``i`` of an ``N x N`` lattice
carries a polarization ``p_i = (p_x, p_y)`` with the Ginzburg-Landau-Devonshire local free
energy

    f(p_i) = alpha1 (p_x^2 + p_y^2) + alpha2 (p_x^4 + p_y^4) + alpha3 p_x^2 p_y^2 - E_loc,i . p_i

in the local field ``E_loc,i = E_ext(t) + E_d,i - alpha_dep <p>``: the applied field, a
quenched random defect field and the depolarization field of the mean polarization
``<p>``. Neighbours are coupled. The total free energy used here is

    F = sum_i [f_0(p_i) - (E_ext + E_d,i) . p_i] + (alpha_dep N^2 / 2) |<p>|^2 + F_K,
    F_K = (K / 4) sum_i sum_{j in nn(i)} w_ij |p_i - p_j|^2 + (K / 2) sum_i s_i |p_i|^2

with ``f_0`` the field-free Landau part and the bond weights ``w_ij = w_ji`` and self
weights ``s_i`` of the lattice's ``boundary``: ``"periodic"``, ``"open"`` or FerroSim's
own ``"ferrosim"`` lattice (:mod:`latentopt.physics.ferrosim_lattice`).

The gradient is

    dF/dp_i = df_0/dp_i - E_loc,i + K [s_i p_i + sum_j w_ij (p_i - p_j)],

which is FerroSim's ``K (p_i - sum_j p_j / 4)`` on the periodic and the ``"ferrosim"``
lattice (the sum over the neighbours that exist); the mean-field depolarization energy is
written so that its gradient is exactly ``alpha_dep <p>``. The dynamics below is the
exact gradient flow of ``F`` for every boundary (``w`` is symmetric), so ``F`` never
increases under a constant field; explicit Euler steps within the stability bound keep
that (tested for all three boundaries).

Dynamics: relaxational (Landau-Khalatnikov), ``dp_i/dt = -gamma dF/dp_i``, integrated with
the explicit (forward) Euler scheme, all sites updated simultaneously from the previous
state. Each value of the field history is held for ``substeps`` Euler steps of size
``dt``. The scheme is stable while ``gamma dt lambda_max < 2`` with ``lambda_max`` the
largest curvature of ``F``; :meth:`FerroSim.stability` bounds it for a field amplitude.
The defaults (``gamma = 1``, ``dt = 1 / 900``) keep ``gamma dt lambda_max`` below 0.1
for fields up to 20 ``E_c``. Unlike FerroSim, no random subset of sites is frozen per
step, so a run is a deterministic function of the field history.

Units (``field_unit``): every field (applied histories, defect strengths, stability
bounds) is a number times a field unit, the single-site coercive field ``"E_c"`` (default)
or FerroSim's ``"ferrosim_Ec"`` (:mod:`latentopt.physics.ferrosim_units`).

Arrays follow ``docs/design.md``: a polarization map is ``(2, N, N)`` with channels
``(p_x, p_y)``, the last axis x and the one before it y; a batch is ``(B, 2, N, N)``.
FerroSim's maps (``getPmat``) have the same shape but take axis -2 (its first lattice
index) as x: see :func:`curl` (:mod:`latentopt.physics.ferrosim_curl`) for how its
``calc_curl`` relates to latentopt's.

This module holds the model, its initial states and defects, the free energy and the
dynamics; it re-exports the units, lattice and curl functions, so that they can be
imported from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .ferrosim_curl import OBJECTIVES, curl, curl_objective
from .ferrosim_lattice import BOUNDARIES, neighbour_table, self_coupling
from .ferrosim_units import (FIELD_UNITS, coercive_field, ferrosim_coercive_field, field_unit_value,
                             remanent_polarization)

__all__ = ["BOUNDARIES", "FIELD_UNITS", "INITIAL_STATES", "OBJECTIVES", "FerroSim", "coercive_field", "curl",
           "curl_objective", "defect_fields", "ferrosim_coercive_field", "field_unit_value", "force", "free_energy",
           "initial_polarization", "neighbour_table", "remanent_polarization", "self_coupling", "simulate"]

INITIAL_STATES = ("poled", "random")


@dataclass(frozen=True)
class FerroSim:
    """Parameters of a FerroSIM lattice (see the module docstring for the free energy).

    Parameters
    ----------
    N : int
        Lattice side (``N x N`` sites), ``>= 1``.
    alpha1, alpha2, alpha3 : float
        Landau coefficients (FerroSim's tetragonal defaults: -1.6, 12.2, 40.0; with
        ``alpha3 > 2 alpha2`` the minima lie along the axes).
    K : float
        Nearest-neighbour coupling, ``>= 0``.
    alpha_dep : float
        Depolarization coefficient, ``>= 0``.
    gamma : float
        Kinetic coefficient, ``> 0``.
    dt : float
        Euler time step, ``> 0``.
    substeps : int
        Euler steps per value of the field history.
    boundary : {"periodic", "open", "ferrosim"}
        Lattice edges and coupling weights (:mod:`latentopt.physics.ferrosim_lattice`).
    field_direction : tuple of float
        In-plane direction of the applied field (normalized here).
    field_unit : {"E_c", "ferrosim_Ec"}
        Unit of every field given to this model: applied fields, defect fields and the
        arguments of :meth:`stability` (:mod:`latentopt.physics.ferrosim_units`; :attr:`field_unit_value`).
    """

    N: int
    alpha1: float = -1.6
    alpha2: float = 12.2
    alpha3: float = 40.0
    K: float = 1.0
    alpha_dep: float = 0.0
    gamma: float = 1.0
    dt: float = 1.0 / 900.0
    substeps: int = 1
    boundary: str = "periodic"
    field_direction: tuple[float, float] = (0.0, 1.0)
    field_unit: str = "E_c"

    def __post_init__(self):
        if int(self.N) < 1:
            raise ValueError(f"N: expected a positive int, got {self.N}")
        coercive_field(self.alpha1, self.alpha2)  # validates the double well
        if not self.alpha3 > -2 * self.alpha2:
            raise ValueError(f"alpha3 > -2 alpha2 expected (else F is unbounded below along the diagonals), "
                             f"got alpha3={self.alpha3}, alpha2={self.alpha2}")
        if self.K < 0 or self.alpha_dep < 0:
            raise ValueError(f"K and alpha_dep must be >= 0, got K={self.K}, alpha_dep={self.alpha_dep}")
        if not (self.gamma > 0 and self.dt > 0 and int(self.substeps) >= 1):
            raise ValueError(f"gamma > 0, dt > 0 and substeps >= 1 expected, got {self.gamma}, {self.dt}, "
                             f"{self.substeps}")
        if self.boundary not in BOUNDARIES:
            raise ValueError(f"boundary: expected one of {BOUNDARIES}, got {self.boundary!r}")
        if self.field_unit not in FIELD_UNITS:
            raise ValueError(f"field_unit: expected one of {FIELD_UNITS}, got {self.field_unit!r}")
        d = np.asarray(self.field_direction, dtype=float)
        if d.shape != (2,) or not np.isfinite(d).all() or np.hypot(*d) == 0:
            raise ValueError(f"field_direction: expected a non-zero 2-vector, got {self.field_direction}")
        object.__setattr__(self, "field_direction", tuple(float(v) for v in d / np.hypot(*d)))

    @classmethod
    def from_config(cls, system: dict) -> "FerroSim":
        """Build from a validated ``system:`` block (``model: ferrosim``; extra keys ignored)."""
        names = cls.__dataclass_fields__
        return cls(**{k: (tuple(v) if k == "field_direction" else v) for k, v in system.items() if k in names})

    @property
    def E_c(self) -> float:
        """Intrinsic coercive field (:func:`coercive_field`)."""
        return coercive_field(self.alpha1, self.alpha2)

    @property
    def field_unit_value(self) -> float:
        """The field unit ``field_unit`` in Landau units (:func:`field_unit_value`): a field of 1 is this much."""
        return field_unit_value(self.field_unit, self.alpha1, self.alpha2)

    @property
    def P_r(self) -> float:
        """Remanent polarization along an axis (:func:`remanent_polarization`)."""
        return remanent_polarization(self.alpha1, self.alpha2)

    def stability(self, field_max: float, defect_max: float = 0.0) -> float:
        """Estimated upper bound of ``gamma dt lambda_max`` for local fields up to ``field_max + defect_max``.

        ``lambda_max <= 2|alpha1| + (12 alpha2 + 6|alpha3|) p_max^2 + c K + alpha_dep`` (a
        Gershgorin bound of the Hessian of ``F``; ``c = max_i (s_i + 2 sum_j w_ij)`` bounds the
        coupling rows: 2 on the periodic and the ``"ferrosim"`` lattice, up to 7/3 on an
        open one, whose sites next to an edge have bond weights above 1/4) with the
        polarization bounded by
        ``p_max = 1.5 max(P_r, ((field_max + defect_max) u / (4 alpha2))^(1/3))``, ``u`` the
        field unit (:attr:`field_unit_value`). Explicit Euler is stable below 2; keep it well
        below 1 for accuracy.

        Parameters
        ----------
        field_max, defect_max : float
            Largest applied and defect field, in units of ``field_unit``.
        """
        e = (abs(field_max) + abs(defect_max)) * self.field_unit_value
        p_max = 1.5 * max(self.P_r, (e / (4 * self.alpha2)) ** (1 / 3))
        _, weight = neighbour_table(int(self.N), self.boundary)
        rows = float((self_coupling(int(self.N), self.boundary) + 2 * weight.sum(axis=1)).max())
        lam = (2 * abs(self.alpha1) + (12 * self.alpha2 + 6 * abs(self.alpha3)) * p_max ** 2
               + rows * self.K + self.alpha_dep)
        return self.gamma * self.dt * lam


def defect_fields(N: int, fraction: float, strength: float, seed: int) -> np.ndarray:
    """Quenched random defect fields ``E_d``, in the model's field unit (``E_c`` or FerroSim's ``Ec``).

    A fraction of the sites (chosen without replacement) carries a field of magnitude
    uniform in ``[0, strength]`` and uniformly random in-plane direction; the others carry
    none (FerroSim's random-field defects).

    Parameters
    ----------
    N : int
    fraction : float
        Fraction of defect sites, in ``[0, 1]``.
    strength : float
        Maximal defect field in the field unit, ``>= 0``.
    seed : int

    Returns
    -------
    ndarray of float64, shape (2, N, N)
    """
    if not 0 <= fraction <= 1 or strength < 0:
        raise ValueError(f"defects: fraction in [0, 1] and strength >= 0 expected, got {fraction}, {strength}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xD]))
    n = int(round(fraction * N * N))
    sites = rng.choice(N * N, size=n, replace=False)
    mag = rng.uniform(0.0, strength, n)
    phi = rng.uniform(0.0, 2 * np.pi, n)
    out = np.zeros((2, N * N))
    out[0, sites] = mag * np.cos(phi)
    out[1, sites] = mag * np.sin(phi)
    return out.reshape(2, N, N)


def initial_polarization(model: FerroSim, kind: str, seed: int, noise: float = 0.1) -> np.ndarray:
    """The initial polarization map.

    ``"poled"``: every site at ``-P_r`` along the field direction (FerroSim's start at the
    remanent state), plus Gaussian noise of standard deviation ``noise * P_r`` per
    component. ``"random"``: Gaussian, standard deviation ``P_r`` per component.

    Returns
    -------
    ndarray of float64, shape (2, N, N)
    """
    if kind not in INITIAL_STATES:
        raise ValueError(f"initial: expected one of {INITIAL_STATES}, got {kind!r}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x1]))
    N, pr = model.N, model.P_r
    if kind == "random":
        return pr * rng.standard_normal((2, N, N))
    d = np.asarray(model.field_direction)
    return -pr * d[:, None, None] + noise * pr * rng.standard_normal((2, N, N))


# --------------------------------------------------------------------------- free energy
def _check_p(p: np.ndarray, N: int | None = None) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 3 or p.shape[0] != 2 or p.shape[1] != p.shape[2] or (N is not None and p.shape[1] != N):
        raise ValueError(f"p: expected shape (2, N, N){'' if N is None else f' with N={N}'}, got {p.shape}")
    return p


def free_energy(model: FerroSim, p: np.ndarray, field: float = 0.0, defects: np.ndarray | None = None) -> float:
    """Total free energy ``F`` of a polarization map (module docstring).

    Parameters
    ----------
    model : FerroSim
    p : ndarray, shape (2, N, N)
    field : float
        Applied field along ``model.field_direction``, in units of ``model.field_unit``.
    defects : ndarray, shape (2, N, N), optional
        Defect fields in units of ``model.field_unit``.

    Returns
    -------
    float
    """
    p = _check_p(p, model.N)
    px, py = p[0].ravel(), p[1].ravel()
    E = model.field_unit_value * (field * np.asarray(model.field_direction)[:, None]
                     + (np.zeros((2, 1)) if defects is None else np.asarray(defects).reshape(2, -1)))
    landau = (model.alpha1 * (px ** 2 + py ** 2) + model.alpha2 * (px ** 4 + py ** 4)
              + model.alpha3 * px ** 2 * py ** 2 - E[0] * px - E[1] * py).sum()
    n_sites = px.size
    dep = 0.5 * model.alpha_dep * n_sites * (px.mean() ** 2 + py.mean() ** 2)
    nbr, weight = neighbour_table(model.N, model.boundary)
    j = np.maximum(nbr, 0)
    d2 = (px[:, None] - px[j]) ** 2 + (py[:, None] - py[j]) ** 2
    coupling = (model.K / 4.0 * (weight * d2).sum()
                + model.K / 2.0 * (self_coupling(model.N, model.boundary) * (px ** 2 + py ** 2)).sum())
    return float(landau + dep + coupling)


def force(model: FerroSim, p: np.ndarray, field: float = 0.0, defects: np.ndarray | None = None) -> np.ndarray:
    """``-dF/dp`` of every site (numpy reference of the numba kernel).

    Returns
    -------
    ndarray, shape (2, N, N)
    """
    p = _check_p(p, model.N)
    out = np.empty((1, 2, model.N, model.N))
    d = defects if defects is not None else np.zeros((2, model.N, model.N))
    _force_into(*_kernel_args(model, d), p.reshape(2, -1), float(field), out.reshape(1, 2, -1)[0])
    return out[0]


# --------------------------------------------------------------------------- numba kernels
def _kernel_args(model: FerroSim, defects: np.ndarray) -> tuple:
    nbr, weight = neighbour_table(model.N, model.boundary)
    # None where every s_i = 0: the kernel is then compiled without the self term (as fast as before)
    selfw = self_coupling(model.N, model.boundary) if model.boundary == "ferrosim" else None
    u = model.field_unit_value
    ed = np.ascontiguousarray(np.asarray(defects, dtype=np.float64).reshape(2, -1) * u)
    coeffs = np.array([model.alpha1, model.alpha2, model.alpha3, model.K, model.alpha_dep,
                       u * model.field_direction[0], u * model.field_direction[1]])
    return nbr, weight, selfw, ed, coeffs


@numba.njit(cache=True, inline="always")
def _force_into(nbr, weight, selfw, ed, c, p, e, out):
    """out = -dF/dp for a flat map p (2, M) in applied field e (units of the field unit, folded into c)."""
    a1, a2, a3, K, adep, ex, ey = c[0], c[1], c[2], c[3], c[4], c[5] * e, c[6] * e
    M = p.shape[1]
    mx = 0.0
    my = 0.0
    for i in range(M):
        mx += p[0, i]
        my += p[1, i]
    mx /= M
    my /= M
    for i in range(M):
        px = p[0, i]
        py = p[1, i]
        cx = 0.0
        cy = 0.0
        for k in range(4):
            j = nbr[i, k]
            if j >= 0:
                w = weight[i, k]
                cx += w * (px - p[0, j])
                cy += w * (py - p[1, j])
        if selfw is not None:  # "ferrosim" lattice only; numba prunes this branch when selfw is None
            cx += selfw[i] * px
            cy += selfw[i] * py
        gx = 2 * a1 * px + 4 * a2 * px * px * px + 2 * a3 * py * py * px + K * cx - (ex + ed[0, i] - adep * mx)
        gy = 2 * a1 * py + 4 * a2 * py * py * py + 2 * a3 * px * px * py + K * cy - (ey + ed[1, i] - adep * my)
        out[0, i] = -gx
        out[1, i] = -gy


@numba.njit(cache=True, parallel=True)
def _run_batch(fields, p0, nbr, weight, selfw, ed, c, step, substeps, out, mean_out):
    B, T = fields.shape
    M = p0.shape[1]
    for b in numba.prange(B):
        p = p0.copy()
        f = np.empty((2, M))
        for t in range(T):
            e = fields[b, t]
            for _ in range(substeps):
                _force_into(nbr, weight, selfw, ed, c, p, e, f)
                for i in range(M):
                    p[0, i] += step * f[0, i]
                    p[1, i] += step * f[1, i]
            if mean_out.shape[1] == T:
                sx = 0.0
                sy = 0.0
                for i in range(M):
                    sx += p[0, i]
                    sy += p[1, i]
                mean_out[b, t, 0] = sx / M
                mean_out[b, t, 1] = sy / M
        out[b] = p


def simulate(model: FerroSim, fields: np.ndarray, p0: np.ndarray, defects: np.ndarray | None = None,
             equilibration: int = 0, return_mean: bool = False):
    """Drive the lattice with many field histories at once (numba, parallel over histories).

    Every history starts from the same ``p0`` with the same defects; each value is held for
    ``model.substeps`` Euler steps. With ``equilibration > 0`` the last value of each
    history is held for that many further values (the lecture's 900 + 50 steps).
    Histories are independent, so the result does not depend on the thread count.

    Parameters
    ----------
    model : FerroSim
    fields : ndarray, shape (B, T) or (T,)
        Applied field along ``model.field_direction`` in units of ``model.field_unit``; finite.
    p0 : ndarray, shape (2, N, N)
        Initial polarization (:func:`initial_polarization`).
    defects : ndarray, shape (2, N, N), optional
        Defect fields in units of ``model.field_unit`` (:func:`defect_fields`).
    equilibration : int
        Extra steps at the final field value, ``>= 0``.
    return_mean : bool
        Also return the mean polarization ``<p>`` after every step.

    Returns
    -------
    p : ndarray of float64, shape (B, 2, N, N) (or (2, N, N) for a single history)
        Final polarization maps.
    mean : ndarray of float64, shape (B, T + equilibration, 2), only if ``return_mean``

    Raises
    ------
    ValueError
        On malformed shapes or non-finite fields.
    FloatingPointError
        If the integration diverged (non-finite polarization): decrease ``dt``.
    """
    fields = np.asarray(fields, dtype=np.float64)
    single = fields.ndim == 1
    fields = np.atleast_2d(fields)
    if fields.ndim != 2 or fields.shape[1] < 1:
        raise ValueError(f"fields: expected shape (B, T) or (T,), got {np.shape(fields)}")
    if not np.isfinite(fields).all():
        raise ValueError("fields: contains NaN or inf")
    if int(equilibration) < 0:
        raise ValueError(f"equilibration: expected an int >= 0, got {equilibration}")
    if equilibration:
        fields = np.concatenate([fields, np.repeat(fields[:, -1:], int(equilibration), axis=1)], axis=1)
    p0 = _check_p(p0, model.N).reshape(2, -1)
    d = np.zeros((2, model.N, model.N)) if defects is None else _check_p(defects, model.N)
    nbr, weight, selfw, ed, c = _kernel_args(model, d)
    B, T = fields.shape
    out = np.empty((B, 2, model.N * model.N))
    mean = np.empty((B, T if return_mean else 0, 2))
    _run_batch(np.ascontiguousarray(fields), np.ascontiguousarray(p0), nbr, weight, selfw, ed, c,
               model.gamma * model.dt, int(model.substeps), out, mean)
    if not np.isfinite(out).all():
        raise FloatingPointError(f"FerroSIM diverged (dt={model.dt}, gamma={model.gamma}); decrease dt "
                                 f"(stability bound at 20 {model.field_unit}: {model.stability(20.0):.3g}, must be < 2)")
    out = out.reshape(B, 2, model.N, model.N)
    if single:
        out, mean = out[0], mean[0]
    return (out, mean) if return_mean else out


