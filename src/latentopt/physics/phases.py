"""Phases of the 2D chiral magnet in a field along z: a classifier, reference candidate states and their diagram.

Conventions of :mod:`latentopt.physics.hamiltonian` (energies per spin in units of J, field in
energy units, ``B = (0, 0, B_z)`` with ``B_z >= 0`` here; a skyrmion has its core along -z in the
+z background, ``W = -1``).

**Lattice to continuum.** Expanding the lattice Hamiltonian for slowly varying spins
(``s_j = m + a d m + ...`` on a bond of length ``a``):
``-J s_i.s_j = -J + (J/2) |s_i - s_j|^2`` gives the exchange stiffness ``A = J/2`` (energy; in 2D
``A a^0``), ``-D_ij.(s_i x s_j)`` gives the DMI constant ``D_c = D / a`` and ``-B.s_i`` the Zeeman
density ``B / a^2``. The continuum energy density is ``A (grad m)^2 + D_c w_DM(m) - (B / a^2) m_z``.
Its natural field unit is ``B_D = D_c^2 / (2A) = D^2 / J`` (times ``a^2``); in the reduced field
``h = B J / D^2`` the continuum results are (Bogdanov & Hubert, J. Magn. Magn. Mater. 138, 255
(1994); Han et al., Phys. Rev. B 82, 094429 (2010)):

- the spiral's wavenumber ``q = D_c / (2A) = D / J`` (lattice: ``tan q = D / J``,
  :func:`latentopt.physics.hamiltonian.spiral_ground_state`);
- the isolated 2 pi domain wall of the cycloid in a field has energy ``8 sqrt(2 A B) - 2 pi D``,
  zero at ``h = pi^2 / 16 = 0.617`` (derived in :func:`isolated_wall_field`): the field where the
  spiral's period diverges;
- the skyrmion lattice becomes lower than the spiral at ``h_c1 ~ 0.2`` (Han et al. 2010, Fig. 1;
  not derived here) and gives way to the ferromagnet where an isolated skyrmion's energy
  crosses zero, ``h_c2 = 0.801`` (Bogdanov & Hubert 1994): ``B_c2 ~ 0.80 D^2 / J``.

At finite ``D / J`` the lattice corrections are of order ``(D / J)^2``; this module's
:func:`reference_phase_diagram` computes the boundaries on the actual lattice instead.

**The classifier** (:func:`classify`) uses the rounded topological charge ``N = round(|W|)``,
``M_z`` and the structure factor of ``s_z`` (:func:`sz_peaks`):

- ``ferromagnet``: ``N = 0`` and a magnetization ``|<s>| >= fm_mz`` (default 0.9; in a field along z,
  ``|<s>| = M_z``; at zero field a uniform state along any direction counts);
- ``spiral``: ``N = 0``, ``|<s>| < fm_mz`` and one pair ``+-Q`` holds at least ``single_q`` (0.5)
  of the ``q != 0`` weight of ``S_zz``;
- ``skyrmion_lattice``: ``N >= 1``, a skyrmion density ``N / L^2`` of at least ``dense`` (0.5) of
  the close-packed triangular lattice at the spiral period (:func:`close_packed_density`) and
  at least three non-collinear peak pairs (each ``>= star`` = 0.25 of the largest);
- ``isolated_skyrmions``: ``N >= 1`` and a density below ``dense`` of close packing;
- ``mixed``: everything else (e.g. skyrmions among stripes, or several spirals).

**Candidates** (:func:`candidate_states`): the ferromagnet along +z; the single-q spirals
commensurate with the lattice nearest the optimal ``q``; skyrmion lattices that the periodic box
holds. A triangular lattice fits a square ``L x L`` box only approximately. Every lattice of ``N``
skyrmions that is periodic in the box is a superlattice of ``L Z^2`` of index ``N``, enumerated by
its Hermite normal form (:func:`commensurate_skyrmion_lattices`); its distance from triangular is
the strain ``sigma_1 / sigma_2 - 1`` of the map from a triangular lattice of the same density
(:func:`lattice_strain`). Kept: a strain of at most ``max_strain`` (default 16 %, which admits the
centred rectangular ``n_x = 2 n_y`` cells, strained by 15.5 %, the only ones that fit small boxes)
and a spacing within a factor ``period_range`` of the ideal one. Between 4 and 12 skyrmions the
64 x 64 box holds no lattice within 16 %; a sweep there admits strained starts (``max_strain`` up
to 1: 6, 8 and 9 skyrmions), and relaxation in spin space
(:func:`latentopt.physics.minimize.polish`) lets each find its own radius, shape and, within reach,
arrangement. The centred rectangular cells (:func:`skyrmion_lattice`,
:func:`skyrmion_lattice_arrangements`) are among the enumerated lattices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .hamiltonian import ChiralMagnet, commensurate_spiral_energy, energy_per_spin
from .observables import magnetization_z, topological_charge
from .states import commensurate_spiral, ferromagnet
from .structure_factor import wavevectors

__all__ = ["PHASES", "PhaseRule", "classify", "sz_peaks", "close_packed_density", "isolated_wall_field",
           "continuum_fields", "skyrmion_lattice", "skyrmion_lattice_arrangements", "spiral_candidates",
           "candidate_states", "commensurate_skyrmion_lattices", "favoured_helicity", "lattice_strain",
           "skyrmions_at", "relax_candidates", "crossing_field", "family", "phase_boundaries", "reduced_field"]

#: the phase labels, in order of increasing field (the order of the diagram's colours)
PHASES = ("spiral", "mixed", "skyrmion_lattice", "isolated_skyrmions", "ferromagnet")

#: the continuum reduced fields h = B J / D^2 (module docstring)
H_C1_CONTINUUM = 0.2  # Han et al. 2010 (approximate; read off their phase diagram)
H_C2_CONTINUUM = 0.801  # Bogdanov & Hubert 1994


def reduced_field(B_z: float, J: float, D: float) -> float:
    """``h = B_z J / D^2``, the field in the continuum's unit ``B_D = D_c^2 / (2A) = D^2 / J`` (module docstring)."""
    return float(B_z) * float(J) / float(D) ** 2


def isolated_wall_field(J: float, D: float) -> float:
    """Field ``B = pi^2 D^2 / (16 J)`` where the isolated 360-degree wall of the cycloid costs no energy (continuum).

    Along the spiral, ``e(theta) = A theta'^2 - D_c theta' + B (1 - cos theta)``; the 2 pi kink of
    the sine-Gordon part has energy ``2 int A theta'^2 dx = 8 sqrt(2 A B)`` (with ``A theta'^2 =
    B (1 - cos theta)``), the DMI adds ``-2 pi D_c``; zero at ``B = pi^2 D_c^2 / (32 A)``, i.e.
    ``pi^2 D^2 / (16 J)`` with ``A = J / 2``: ``h = pi^2 / 16 = 0.617``.

    Returns
    -------
    float
        Field in units of J (per site).
    """
    return math.pi ** 2 * D ** 2 / (16.0 * J)


def continuum_fields(J: float, D: float) -> dict[str, float]:
    """The continuum's ``B_c1``, ``B_c2`` and wall field in units of J: ``0.2 D^2/J``, ``0.801 D^2/J``, ``pi^2 D^2/(16 J)``."""
    unit = D ** 2 / J
    return {"B_c1": H_C1_CONTINUUM * unit, "B_c2": H_C2_CONTINUUM * unit, "B_wall": isolated_wall_field(J, D)}


def close_packed_density(J: float, D: float) -> float:
    """Skyrmions per site of the triangular lattice whose wave vectors have the spiral's ``|Q| = atan(D / J)``.

    The triangular lattice of constant ``a`` has ``|Q| = 4 pi / (sqrt 3 a)`` and one skyrmion per
    ``(sqrt 3 / 2) a^2``, so ``rho = sqrt 3 Q^2 / (8 pi^2)``. At ``D / J = 0.3``: ``a = 24.9``
    sites, ``rho = 1.86e-3`` (7.6 skyrmions on 64 x 64).
    """
    q = math.atan2(D, J)
    return math.sqrt(3.0) * q ** 2 / (8.0 * math.pi ** 2)


def sz_peaks(spins: np.ndarray, n_peaks: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """The strongest wave vectors of the ``s_z`` structure factor, one per ``+-Q`` pair, ``q != 0``.

    ``S_zz(q) = |sum_r s_z(r) exp(-i q.r)|^2 / N``; ``Q`` and ``-Q`` carry the same weight and are
    counted once (the one with ``Q_x > 0``, or ``Q_x = 0, Q_y > 0``).

    Parameters
    ----------
    spins : ndarray, shape (3, L_y, L_x)
    n_peaks : int
        Pairs returned.

    Returns
    -------
    q : ndarray, shape (k, 2)
        ``(q_x, q_y)`` of the strongest pairs (radians per lattice constant), strongest first.
    fraction : ndarray, shape (k,)
        Each pair's share (both members) of the ``q != 0`` weight of ``S_zz``; all zero for a
        uniform ``s_z``.
    """
    s = np.asarray(spins, dtype=np.float64)
    if s.ndim != 3 or s.shape[0] != 3:
        raise ValueError(f"spins: expected shape (3, L, L), got {s.shape}")
    f = np.fft.fft2(s[2])
    sq = (f.real ** 2 + f.imag ** 2) / s[2].size
    sq[0, 0] = 0.0
    qy, qx = wavevectors(*sq.shape)
    half = (qx > 0) | ((qx == 0) & (qy > 0))
    total = sq.sum()
    idx = np.flatnonzero(half.ravel())
    order = idx[np.argsort(-sq.ravel()[idx], kind="stable")][:n_peaks]
    frac = 2.0 * sq.ravel()[order] / total if total > 1e-12 * s[2].size else np.zeros(len(order))
    q = np.stack([qx.ravel()[order], qy.ravel()[order]], axis=1)
    return q, frac


@dataclass(frozen=True)
class PhaseRule:
    """The thresholds of :func:`classify` (module docstring)."""

    fm_mz: float = 0.9  # on |<s>|, the magnetization's length
    single_q: float = 0.5
    dense: float = 0.5
    star: float = 0.25


def _non_collinear(q: np.ndarray) -> int:
    """Number of pairwise non-collinear directions among the rows of ``q`` (angles > 20 degrees apart)."""
    dirs: list[np.ndarray] = []
    for v in q:
        u = v / np.linalg.norm(v)
        if all(abs(float(u @ d)) < math.cos(math.radians(20.0)) for d in dirs):
            dirs.append(u)
    return len(dirs)


def classify(spins: np.ndarray, J: float = 1.0, D: float = 0.3, rule: PhaseRule = PhaseRule()) -> str:
    """The phase of a (relaxed) state: one of :data:`PHASES`, by the rule of the module docstring.

    Parameters
    ----------
    spins : ndarray, shape (3, L, L)
        Unit spins.
    J, D : float
        Exchange and DMI of the model (set the close-packed skyrmion density).
    rule : PhaseRule
        Thresholds.

    Returns
    -------
    str
    """
    s = np.asarray(spins, dtype=np.float64)
    L = s.shape[-1]
    n_sk = int(round(abs(float(topological_charge(s)))))
    m = float(np.linalg.norm(s.mean(axis=(-2, -1))))
    if n_sk == 0:
        if m >= rule.fm_mz:
            return "ferromagnet"
        _, frac = sz_peaks(s, 1)
        return "spiral" if len(frac) and frac[0] >= rule.single_q else "mixed"
    if n_sk / L ** 2 < rule.dense * close_packed_density(J, D):
        return "isolated_skyrmions"
    q, frac = sz_peaks(s, 6)
    strong = q[frac >= rule.star * frac[0]] if len(frac) and frac[0] > 0 else q[:0]
    return "skyrmion_lattice" if _non_collinear(strong) >= 3 else "mixed"


# --------------------------------------------------------------------------- candidate states
def skyrmion_lattice(L: int, n_x: int, n_y: int, radius: float | None = None, helicity: float = 0.0) -> np.ndarray:
    """``2 n_x n_y`` skyrmions on a centred rectangular lattice filling the periodic ``L x L`` box.

    Rows ``k = 0 .. 2 n_y - 1`` at ``y_k = (k + 1/2) L / (2 n_y)``, skyrmions at
    ``x = (j + 1/2 + (k mod 2) / 2) L / n_x``; triangular when ``L / (2 n_y) = (sqrt 3 / 2) L / n_x``.
    Each site takes the compact profile ``theta = pi (1 - r / R)`` (``r < R``) of its nearest
    skyrmion (periodic minimum image), ``R`` = half the nearest-neighbour distance by default;
    the core points along -z (``W = -1`` each), the in-plane part along ``phi + helicity``
    (0 and pi: Neel, +-pi/2: Bloch; :func:`favoured_helicity` picks the one the model's DMI
    favours: pi for interfacial DMI in this code's convention, checked by ``tests/test_phases.py``).

    Returns
    -------
    ndarray, shape (3, L, L)
    """
    n_x, n_y = int(n_x), int(n_y)
    if n_x < 1 or n_y < 1:
        raise ValueError(f"n_x, n_y: expected >= 1, got {n_x}, {n_y}")
    ax, ay = L / n_x, L / (2 * n_y)
    centres = np.array([((j + 0.5 + 0.5 * (k % 2)) * ax, (k + 0.5) * ay) for k in range(2 * n_y) for j in range(n_x)])
    if radius is None:
        radius = 0.5 * min(ax, math.hypot(ax / 2, ay), 2 * ay)
    return skyrmions_at(L, centres, radius, helicity)


def skyrmions_at(L: int, centres: np.ndarray, radius: float, helicity: float = 0.0) -> np.ndarray:
    """Skyrmions centred at ``centres (k, 2)`` (x, y in sites) in the +z ferromagnet of a periodic ``L x L`` box.

    Each site takes the compact profile ``theta = pi (1 - r / R)`` (``r < R = radius``) of its
    nearest centre (periodic minimum image), core along -z (``W = -1`` each), in-plane part along
    ``phi + helicity``.

    Returns
    -------
    ndarray, shape (3, L, L)
    """
    centres = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
    y, x = np.mgrid[0:L, 0:L].astype(np.float64)
    dx = (x[None] - centres[:, 0, None, None] + L / 2) % L - L / 2
    dy = (y[None] - centres[:, 1, None, None] + L / 2) % L - L / 2
    r2 = dx ** 2 + dy ** 2
    near = np.argmin(r2, axis=0)
    dx = np.take_along_axis(dx, near[None], 0)[0]
    dy = np.take_along_axis(dy, near[None], 0)[0]
    r = np.hypot(dx, dy)
    theta = np.where(r < radius, math.pi * (1.0 - r / radius), 0.0)
    phi = np.arctan2(dy, dx) + helicity
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])


def skyrmion_lattice_arrangements(L: int, J: float, D: float, max_strain: float = 0.16,
                                  period_range: tuple[float, float] = (0.6, 1.6)) -> list[tuple[int, int]]:
    """The ``(n_x, n_y)`` of :func:`skyrmion_lattice` that are nearly triangular with a spacing near the ideal one.

    Ideal spacing ``a* = 4 pi / (sqrt 3 atan(D / J))`` (:func:`close_packed_density`). Kept: the
    row spacing ``L / (2 n_y)`` within ``1 +- max_strain`` of ``(sqrt 3 / 2) L / n_x``, and the
    mean spacing ``sqrt(L^2 / (sqrt 3 n_x n_y))`` (area per skyrmion ``(sqrt 3 / 2) a^2``) within
    ``period_range`` times ``a*``. Sorted by the spacing, largest first.
    """
    a_star = 4.0 * math.pi / (math.sqrt(3.0) * math.atan2(D, J))
    out = []
    for n_x in range(1, L // 2 + 1):
        for n_y in range(1, L // 4 + 1):
            strain = (L / (2 * n_y)) / (math.sqrt(3.0) / 2.0 * L / n_x) - 1.0
            a = math.sqrt(L * L / (math.sqrt(3.0) * n_x * n_y))
            if abs(strain) <= max_strain and period_range[0] <= a / a_star <= period_range[1]:
                out.append((a, (n_x, n_y)))
    return [n for _, n in sorted(out, reverse=True)]


def lattice_strain(u: Sequence[float], w: Sequence[float]) -> float:
    """How far the 2D lattice spanned by ``u``, ``w`` is from triangular: ``sigma_1 / sigma_2 - 1``.

    ``sigma_1 >= sigma_2`` are the singular values of the linear map taking the triangular basis
    ``(1, 0), (1/2, sqrt 3 / 2)`` onto the Lagrange-Gauss reduced basis of this lattice, oriented
    so that ``u.w >= 0`` (an angle of 60 to 90 degrees, matched to the triangular 60). 0 for a
    triangular lattice; for the centred
    rectangular cell of :func:`skyrmion_lattice` it is the anisotropy ``|(L / (2 n_y)) /
    ((sqrt 3 / 2) L / n_x) - 1|`` used by :func:`skyrmion_lattice_arrangements` (stretched by
    ``1 + s`` across the rows: ``s``; compressed: ``1 / (1 - |s|) - 1``).
    """
    u, w = np.asarray(u, dtype=np.float64), np.asarray(w, dtype=np.float64)
    while True:  # Lagrange-Gauss reduction: |u| <= |w|, |u.w| <= |u|^2 / 2
        if u @ u > w @ w:
            u, w = w, u
        m = round(float(u @ w) / float(u @ u))
        if m == 0:
            break
        w = w - m * u
    if u @ w < 0:
        w = -w
    tri = np.array([[1.0, 0.5], [0.0, math.sqrt(3.0) / 2.0]])
    sv = np.linalg.svd(np.column_stack([u, w]) @ np.linalg.inv(tri), compute_uv=False)
    return float(sv[0] / sv[1] - 1.0)


def commensurate_skyrmion_lattices(L: int, J: float, D: float, max_strain: float = 0.16,
                                   period_range: tuple[float, float] = (0.6, 1.6)) -> dict[str, np.ndarray]:
    """Every skyrmion lattice that the periodic ``L x L`` box holds, near triangular and near the ideal spacing.

    A lattice of ``N`` skyrmions is periodic in the box when it contains ``L Z^2``; such lattices
    are enumerated by their Hermite normal form: generators ``v_1 = (L / a, 0)`` and
    ``v_2 = (k L / (a d), L / d)`` with ``a d = N``, ``0 <= k < a`` (then ``(L, 0) = a v_1`` and
    ``(0, L) = d v_2 - k v_1``). Kept: a spacing ``sqrt(2 L^2 / (sqrt 3 N))`` (the triangular
    lattice of the same density) within ``period_range`` times the ideal ``4 pi / (sqrt 3 atan(D /
    J))``, and a :func:`lattice_strain` of at most ``max_strain``; of lattices that differ only by a
    symmetry of the square box (same ``N``, strain and reduced-basis lengths) the first is kept.
    Besides the centred rectangular cells of :func:`skyrmion_lattice_arrangements` these include
    oblique ones (in a 64 x 64 box: 9 skyrmions, spacing 22.9 against the ideal 24.9, strain 0.26;
    8 skyrmions, spacing 24.3, strain 0.94). A strained start relaxes in spin space
    (:func:`relax_candidates`) towards the best arrangement of its ``N`` skyrmions that the box allows.

    Returns
    -------
    dict
        ``"<N>_<a>_<d>_<k>"`` -> ``centres (N, 2)`` (x, y in sites), largest spacing first.
    """
    a_star = 4.0 * math.pi / (math.sqrt(3.0) * math.atan2(D, J))
    found = []
    seen = set()
    for N in range(1, L * L // 4 + 1):
        spacing = math.sqrt(2.0 * L * L / (math.sqrt(3.0) * N))
        if not period_range[0] <= spacing / a_star <= period_range[1]:
            continue
        for a in (q for q in range(1, N + 1) if N % q == 0):
            d = N // a
            for k in range(a):
                v1, v2 = np.array([L / a, 0.0]), np.array([k * L / (a * d), L / d])
                strain = lattice_strain(v1, v2)
                if strain > max_strain + 1e-12:
                    continue
                short = sorted({round(float(np.linalg.norm(i * v1 + j * v2)), 6)
                                for i in range(-2, 3) for j in range(-2, 3) if i or j})[:3]
                key = (N, round(strain, 9), *short)  # invariant under the box's rotations and reflections
                if key in seen:
                    continue
                seen.add(key)
                i, j = np.meshgrid(np.arange(a), np.arange(d), indexing="ij")
                centres = (i.reshape(-1, 1) * v1 + j.reshape(-1, 1) * v2) % L + 0.5
                found.append((spacing, -strain, f"{N}_{a}_{d}_{k}", centres))
    return {name: c for _, _, name, c in sorted(found, key=lambda t: (-t[0], -t[1]))}


def spiral_candidates(model: ChiralMagnet, count: int = 3) -> list[tuple[int, int]]:
    """The ``count`` commensurate single-q spirals of lowest zero-field energy, ``(n_x, n_y)`` with ``n_x >= n_y >= 0``.

    A field along z does not change a spiral's energy before relaxation (the Zeeman term averages to
    zero over whole periods, :func:`latentopt.physics.hamiltonian.commensurate_spiral_energy`); it
    makes longer periods favourable once the spiral relaxes into a soliton lattice, so several
    periods compete.
    """
    zero = replace(model, B=(0.0, 0.0, 0.0))
    pairs = [(nx, ny) for nx in range(1, model.L // 2 + 1) for ny in range(nx + 1)]
    return sorted(pairs, key=lambda n: (commensurate_spiral_energy(zero, n), n))[:count]


def candidate_states(model: ChiralMagnet, n_spirals: int = 3, max_strain: float = 0.16,
                     period_range: tuple[float, float] = (0.6, 1.6)) -> dict[str, np.ndarray]:
    """Initial candidate states of the reference phase diagram, by name.

    Names: ``ferromagnet``; ``spiral_<n_x>_<n_y>`` (:func:`spiral_candidates`);
    ``skx_<N>_<a>_<d>_<k>`` (:func:`commensurate_skyrmion_lattices`, ``N`` skyrmions).

    Returns
    -------
    dict of str to ndarray, shape (3, L, L)
    """
    L = model.L
    out = {"ferromagnet": ferromagnet(L)}
    for n in spiral_candidates(model, n_spirals):
        out[f"spiral_{n[0]}_{n[1]}"] = commensurate_spiral(L, n, model.dmi)
    helicity = favoured_helicity(model)
    for name, centres in commensurate_skyrmion_lattices(L, model.J, model.D, max_strain, period_range).items():
        # half the nearest-neighbour distance (periodic minimum image), as in skyrmion_lattice
        shifts = (centres[1:] - centres[0] + L / 2) % L - L / 2
        radius = 0.5 * float(np.linalg.norm(shifts, axis=1).min()) if len(shifts) else L / 4
        out[f"skx_{name}"] = skyrmions_at(L, centres, radius, helicity)
    return out


def favoured_helicity(model: ChiralMagnet, n: tuple[int, int] = (1, 1)) -> float:
    """The helicity among ``0, pi/2, pi, 3 pi/2`` giving :func:`skyrmion_lattice` ``n`` the lowest energy.

    The DMI energy is linear in ``(cos helicity, sin helicity)``, so the best of the four is the
    favoured Neel (interfacial DMI) or Bloch (bulk DMI) type.
    """
    hel = [0.0, math.pi / 2, math.pi, 3 * math.pi / 2]
    e = [float(energy_per_spin(skyrmion_lattice(model.L, *n, helicity=h), model)) for h in hel]
    return hel[int(np.argmin(e))]


def family(name: str) -> str:
    """The candidate family of a candidate name: ``ferromagnet``, ``spiral`` or ``skyrmion_lattice``."""
    return {"ferromagnet": "ferromagnet", "spiral": "spiral", "skx": "skyrmion_lattice"}[name.split("_")[0]]


def relax_candidates(model: ChiralMagnet, candidates: dict[str, np.ndarray], *, tol: float = 1e-5,
                     max_iter: int = 5000, device: str = "cpu") -> dict[str, dict]:
    """Relax every candidate in spin space (:func:`latentopt.physics.minimize.polish`, one batch) and classify it.

    Returns
    -------
    dict of str to dict
        Per candidate: ``spins (3, L, L)`` relaxed (float32), ``initial_energy``, ``energy`` (per spin, J,
        of the float64 relaxed state),
        ``W``, ``Mz``, ``phase`` (:func:`classify`), ``family``, ``converged``, ``iterations``.
    """
    from .minimize import polish

    names = list(candidates)
    batch = np.stack([candidates[n] for n in names])
    res = polish(batch, model, tol=tol, max_iter=max_iter, device=device)
    out = {}
    for i, name in enumerate(names):
        s = res["spins"][i].astype(np.float64)
        out[name] = dict(spins=res["spins"][i], initial_energy=float(res["initial_value"][i]),
                         energy=float(res["polished_value"][i]), W=float(res["W"][i]),
                         Mz=float(magnetization_z(s)), phase=classify(s, model.J, model.D), family=family(name),
                         converged=bool(res["converged"][i]), iterations=int(res["iterations"][i]))
    return out


def phase_boundaries(fields: Sequence[float], phases: Sequence[str]) -> dict[str, float | None]:
    """``B_c1`` and ``B_c2`` on a field grid: the first field whose phase is the skyrmion lattice, and the first
    field at or above ``B_c1`` (or anywhere, without a lattice) whose phase is the ferromagnet.

    A grid boundary: the transition lies between that field and the previous one. ``None`` where
    the phase never appears. ``fields`` must be increasing.

    Returns
    -------
    dict
        ``{"B_c1": float or None, "B_c2": float or None}``.
    """
    f = [float(b) for b in fields]
    if any(b2 <= b1 for b1, b2 in zip(f, f[1:])):
        raise ValueError(f"fields: expected an increasing grid, got {f}")
    c1 = next((b for b, p in zip(f, phases) if p == "skyrmion_lattice"), None)
    start = c1 if c1 is not None else -math.inf
    c2 = next((b for b, p in zip(f, phases) if p == "ferromagnet" and b >= start), None)
    return {"B_c1": c1, "B_c2": c2}


def crossing_field(fields: Sequence[float], e_a: Sequence[float], e_b: Sequence[float]) -> float | None:
    """The first field where ``e_b`` drops to or below ``e_a`` (``e_b - e_a`` from positive to non-positive),
    linearly interpolated between the two grid fields.

    Used for the reference boundaries between two phases (the lowest energy of each at every field;
    ``inf`` where a phase has no candidate, and such grid intervals are skipped). ``None`` without a
    crossing.
    """
    a = np.asarray(e_a, dtype=np.float64)
    b = np.asarray(e_b, dtype=np.float64)
    f = np.asarray(fields, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    d = np.where(ok, b - np.where(ok, a, 0.0), np.nan)
    for i in range(1, len(d)):
        if ok[i - 1] and ok[i] and d[i - 1] > 0 >= d[i]:
            return float(f[i - 1] + (f[i] - f[i - 1]) * d[i - 1] / (d[i - 1] - d[i]))
    return None
