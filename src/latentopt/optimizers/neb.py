"""Geodesic nudged elastic band (GNEB) with climbing image on the product of unit spheres.

A path is a tensor of images ``(m, 3, *sites)`` (one state per image, spin axis 1, e.g.
``(m, 3, L, L)`` for a lattice or ``(m, 3)`` for one spin); the batched internals work on
``(P, m, 3, *sites)``, ``P`` independent paths at once (the meta-learning and the
single-spin benchmark run 100 paths together). The energy is any torch function
``energy_fn(states (N, 3, *sites)) -> (N,)`` (total energy, e.g. in units of J) with an
autograd gradient. End images are fixed (they must be relaxed minima).

Forces on an interior image k (Bessarab, Uzdin, Jonsson, Comp. Phys. Commun. 196, 335
(2015), "GNEB", Eqs. 7-12; Bushuev & Lobanov, Nanosystems 11, 642 (2020), Eqs. 1-3):

- ``g_k = P_k grad E(S_k)``: the energy gradient projected on the tangent space of each spin;
- tangent ``tau_k``: from ``tau+ = P_k(S_{k+1} - S_k)``, ``tau- = P_k(S_k - S_{k-1})``, either
  the Henkelman-Jonsson improved tangent (``"improved"``, Eq. 3, J. Chem. Phys. 113, 9978
  (2000)) or the paper's smooth tangent (``"smooth"``) ``tau = a+ tau+ + a- tau-`` with
  ``a+ = W(g.tau-; g.tau+)``, ``a- = W(-g.tau+; -g.tau-)`` and
  ``W(a; b) = (e^{beta a} + e^{beta b}) / (e^{beta a} + e^{-beta a} + e^{beta b} + e^{-beta b})``;
  then normalized in the 3N-dimensional embedding (``|tau_k| = 1``);
- perpendicular force ``-(g - (g.tau) tau)`` (Eq. 1) plus the spring force
  ``mu (d(S_{k+1}, S_k) - d(S_k, S_{k-1})) tau`` with the geodesic distance ``d``
  (:func:`latentopt.physics.spheres.geodesic_distance`; Eq. 2);
- climbing image (Henkelman, Uberuaga, Jonsson, J. Chem. Phys. 113, 9901 (2000)): the
  highest interior image feels ``-g + 2 (g.tau) tau`` and no spring.

Updates rotate each spin along its great circle (:func:`latentopt.physics.spheres.exp_map`),
so ``|S_i| = 1`` exactly. Two optimizers:

- ``"paper"``: the map M(gamma, mu, beta) of Bushuev & Lobanov, ``S_k -> exp_{S_k}(gamma F_k)``
  with ``F_k`` the total force above (differentiable; :func:`paper_step`). Eq. 2 of the paper
  prints the spring term outside the step size; written literally (``S - gamma H_perp + mu e tau``)
  the spring part alone maps the image spacing by ``x -> x + mu Lap(x)``, whose zig-zag mode is
  amplified by ``|1 - 4 mu| = 3`` at ``mu = 1``, so we use the usual NEB form with the spring force
  inside the step, ``gamma (F_perp + F_spring)`` (stable for ``gamma mu < 1/2``).
- ``"vp"``: velocity projection (quick-min) as in GNEB codes (Bessarab et al. 2015, Sec. 4;
  Spirit's VP solver): velocity Verlet with mass ``mass`` and time step ``dt``, the velocity of
  the whole path projected on the direction of the whole path's force and zeroed when it points
  against it.

Converged when the largest per-spin force ``max_i |F_i|`` on any interior image (gradient,
spring and climbing parts together, as Spirit's "max torque") is below ``tol``.

Energy profile: cubic Hermite interpolation between images in the arc length (cumulative
geodesic distance) with the slopes ``dE/ds = grad E . tau`` (as GNEB codes do).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from latentopt.io import array_digest
from latentopt.physics import spheres

from .common import Checkpointer

EnergyFn = Callable[[torch.Tensor], torch.Tensor]

TANGENTS = ("improved", "smooth")
METHODS = ("paper", "vp")

__all__ = ["TANGENTS", "METHODS", "smooth_weight", "path_energy_gradient", "tangents", "neb_forces",
           "image_force_norm", "paper_step", "arc_length", "hermite_profile", "NEBResult", "run_neb",
           "path_maximum", "segment_energies", "tangent_hessian", "HessianResult"]


# --------------------------------------------------------------------------- helpers on (P, m, 3, *sites)


def _spin_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-spin dot product over the spin axis (dim 2), kept with length 1."""
    return (a * b).sum(dim=2, keepdim=True)


def _image_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Dot product of whole images (spins and sites): ``(P, m, 3, *sites) -> (P, m)``."""
    return (a * b).flatten(2).sum(-1)


def _expand(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``(P, m)`` -> ``(P, m, 1, 1, ...)`` to broadcast against images."""
    return x.reshape(x.shape + (1,) * (like.ndim - x.ndim))


def _check_path(images: torch.Tensor, batched: bool) -> torch.Tensor:
    if not torch.is_tensor(images):
        raise ValueError(f"path: expected a torch tensor, got {type(images).__name__}")
    if not batched:
        images = images.unsqueeze(0)
    if images.ndim < 3 or images.shape[2] != 3:
        want = "(P, m, 3, *sites)" if batched else "(m, 3, *sites)"
        raise ValueError(f"path: expected images {want}, got {tuple(images.shape)}")
    if images.shape[1] < 3:
        raise ValueError(f"path: expected at least 3 images, got {images.shape[1]}")
    return images


def smooth_weight(a: torch.Tensor, b: torch.Tensor, beta) -> torch.Tensor:
    """The smooth tangent weight of Bushuev & Lobanov (2020), Sec. 3.

    ``W(a; b) = (e^{beta a} + e^{beta b}) / (e^{beta a} + e^{-beta a} + e^{beta b} + e^{-beta b})``,
    computed with log-sum-exp (no overflow for large ``beta |a|``). Properties (the paper's
    conditions): analytic; ``0 <= W <= 1``; ``W(a; b) + W(-b; -a) = 1``; ``W -> 1`` for
    ``a, b -> +inf``; ``W(0; 0) = 1/2``.

    Parameters
    ----------
    a, b : Tensor
        Broadcastable; the energy slopes ``g . tau-`` and ``g . tau+`` (energy units).
    beta : float or Tensor
        Sharpness (> 0, inverse energy units).
    """
    ba, bb = beta * a, beta * b
    num = torch.logsumexp(torch.stack([ba, bb]), dim=0)
    den = torch.logsumexp(torch.stack([ba, -ba, bb, -bb]), dim=0)
    return torch.exp(num - den)


def path_energy_gradient(energy_fn: EnergyFn, images: torch.Tensor, create_graph: bool = False,
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Energies and Euclidean energy gradients of all images.

    Parameters
    ----------
    energy_fn : callable
        ``(N, 3, *sites) -> (N,)``.
    images : Tensor, shape (P, m, 3, *sites)
    create_graph : bool
        Keep the graph of the gradient (needed to differentiate through an update, e.g. the
        meta-learning of :mod:`latentopt.optimizers.meta_neb`).

    Returns
    -------
    energy : Tensor, shape (P, m)
    grad : Tensor, shape (P, m, 3, *sites)
        ``dE/dS`` in the embedding (not yet projected).
    """
    P, m = images.shape[:2]
    flat = images.reshape((P * m,) + tuple(images.shape[2:]))
    with torch.enable_grad():
        x = flat if (create_graph and flat.requires_grad) else flat.detach().requires_grad_(True)
        e = energy_fn(x)
        if e.shape != (P * m,):
            raise ValueError(f"energy_fn: expected energies of shape ({P * m},), got {tuple(e.shape)}")
        (g,) = torch.autograd.grad(e.sum(), x, create_graph=create_graph)
    if not create_graph:
        e, g = e.detach(), g.detach()
    return e.reshape(P, m), g.reshape(images.shape)


def tangents(images: torch.Tensor, energy: torch.Tensor, grad: torch.Tensor, kind: str = "improved",
             beta=3.0) -> torch.Tensor:
    """Unit path tangents of all images (projected on each spin's tangent plane).

    Parameters
    ----------
    images : Tensor, shape (P, m, 3, *sites)
    energy : Tensor, shape (P, m)
    grad : Tensor, shape (P, m, 3, *sites)
        Tangent-space gradients ``P_k grad E`` (used by ``"smooth"``).
    kind : {"improved", "smooth"}
        Henkelman-Jonsson (2000) improved tangent (Eq. 3 of Bushuev & Lobanov; with
        ``tau+ + tau-`` where the three energies are equal) or the smooth tangent
        ``a+ tau+ + a- tau-`` (see :func:`smooth_weight`).
    beta : float or Tensor
        Sharpness of the smooth tangent.

    Returns
    -------
    Tensor, shape (P, m, 3, *sites)
        ``|tau_k| = 1`` in the 3N embedding; end images get the one-sided tangent towards
        their neighbour (used only for the energy slopes of the profile).

    Raises
    ------
    ValueError
        On an unknown ``kind``.
    """
    if kind not in TANGENTS:
        raise ValueError(f"tangent: expected one of {TANGENTS}, got {kind!r}")
    s = images
    diff = s[:, 1:] - s[:, :-1]                        # (P, m-1, ...)
    tp = spheres.project_tangent(s[:, :-1], diff, 2)   # tau+ at images 0..m-2
    tm = spheres.project_tangent(s[:, 1:], diff, 2)    # tau- at images 1..m-1
    tp_i, tm_i = tp[:, 1:], tm[:, :-1]                 # interior images 1..m-2
    if kind == "improved":
        e0, e1, e2 = energy[:, :-2], energy[:, 1:-1], energy[:, 2:]
        up = (e2 > e1) & (e1 > e0)
        down = (e2 < e1) & (e1 < e0)
        dp, dm = (e2 - e1).abs(), (e0 - e1).abs()
        dmax, dmin = torch.maximum(dp, dm), torch.minimum(dp, dm)
        flat = dmax == 0
        wp = torch.where(up, 1.0, torch.where(down, 0.0, torch.where(e2 > e0, dmax, dmin)))
        wm = torch.where(up, 0.0, torch.where(down, 1.0, torch.where(e2 > e0, dmin, dmax)))
        wp = torch.where(flat & ~up & ~down, 1.0, wp).to(s.dtype)
        wm = torch.where(flat & ~up & ~down, 1.0, wm).to(s.dtype)
    else:
        g = grad[:, 1:-1]
        a, b = _image_dot(g, tm_i), _image_dot(g, tp_i)
        wp, wm = smooth_weight(a, b, beta), smooth_weight(-b, -a, beta)
    t_int = _expand(wp, tp_i) * tp_i + _expand(wm, tm_i) * tm_i
    t = torch.cat([tp[:, :1], t_int, tm[:, -1:]], dim=1)
    norm = torch.sqrt(_image_dot(t, t))
    return t / _expand(norm.clamp_min(torch.finfo(s.dtype).tiny ** 0.5), t)


def arc_length(images: torch.Tensor) -> torch.Tensor:
    """Cumulative geodesic distance along the path, ``(P, m, 3, *sites) -> (P, m)``, starting at 0."""
    d = spheres.geodesic_distance(images[:, 1:], images[:, :-1], dim=2)
    return torch.cat([torch.zeros_like(d[:, :1]), torch.cumsum(d, dim=1)], dim=1)


@dataclass
class Forces:
    """Everything one force evaluation of a path yields (all batched over P paths).

    Attributes
    ----------
    force : Tensor, shape (P, m, 3, *sites)
        Total NEB force (zero on the end images).
    energy : Tensor, shape (P, m)
    grad : Tensor, shape (P, m, 3, *sites)
        Tangent-space energy gradient.
    tangent : Tensor, shape (P, m, 3, *sites)
    distance : Tensor, shape (P, m - 1)
        Geodesic lengths of the segments.
    climbing : Tensor of int64, shape (P,)
        Index of the climbing image, -1 when none.
    """

    force: torch.Tensor
    energy: torch.Tensor
    grad: torch.Tensor
    tangent: torch.Tensor
    distance: torch.Tensor
    climbing: torch.Tensor


def neb_forces(images: torch.Tensor, energy: torch.Tensor, grad: torch.Tensor, *, mu=1.0, tangent: str = "improved",
               beta=3.0, climbing: bool = False) -> Forces:
    """GNEB forces on all images of ``P`` paths (module docstring).

    Parameters
    ----------
    images : Tensor, shape (P, m, 3, *sites)
    energy : Tensor, shape (P, m)
    grad : Tensor, shape (P, m, 3, *sites)
        Euclidean energy gradients (:func:`path_energy_gradient`); projected here.
    mu : float or Tensor
        Spring constant (energy per radian^2).
    tangent : {"improved", "smooth"}
    beta : float or Tensor
        Smooth-tangent sharpness.
    climbing : bool
        Invert the parallel force on the highest interior image of each path and drop its spring.

    Returns
    -------
    Forces
    """
    g = spheres.project_tangent(images, grad, 2)
    tau = tangents(images, energy, g, tangent, beta)
    dist = spheres.geodesic_distance(images[:, 1:], images[:, :-1], dim=2)   # (P, m-1)
    P, m = energy.shape
    g_par = _image_dot(g, tau)                                               # (P, m)
    f_perp = -(g - _expand(g_par, g) * tau)
    spring = torch.zeros_like(g_par)
    spring[:, 1:-1] = mu * (dist[:, 1:] - dist[:, :-1])
    force = f_perp + _expand(spring, tau) * tau
    ci = torch.full((P,), -1, dtype=torch.long, device=images.device)
    if climbing:
        ci = 1 + torch.argmax(energy[:, 1:-1].detach(), dim=1)
        is_ci = torch.zeros((P, m), dtype=torch.bool, device=images.device)
        is_ci[torch.arange(P, device=images.device), ci] = True
        f_ci = -g + 2.0 * _expand(g_par, g) * tau
        force = torch.where(_expand(is_ci, force), f_ci, force)
    mask = torch.ones((P, m), dtype=images.dtype, device=images.device)
    mask[:, 0] = 0.0
    mask[:, -1] = 0.0
    force = force * _expand(mask, force)
    return Forces(force=force, energy=energy, grad=g, tangent=tau, distance=dist, climbing=ci)


def image_force_norm(force: torch.Tensor) -> torch.Tensor:
    """Largest per-spin force ``max_i |F_i|`` of each image, ``(P, m, 3, *sites) -> (P, m)``."""
    per_spin = spheres.spin_norm(force, 2)
    return per_spin.flatten(2).max(dim=-1).values if per_spin.ndim > 2 else per_spin


def paper_step(images: torch.Tensor, energy_fn: EnergyFn, gamma, mu, beta, *, climbing: bool = False,
               create_graph: bool = True, tangent: str = "smooth") -> torch.Tensor:
    """One application of the NEB map ``M(gamma, mu, beta)`` (Bushuev & Lobanov 2020, Eq. 2), differentiable.

    ``S_k -> exp_{S_k}(gamma F_k)`` for the interior images, with ``F_k`` the smooth-tangent
    GNEB force (:func:`neb_forces`); the end images are returned unchanged.

    Parameters
    ----------
    images : Tensor, shape (P, m, 3, *sites)
    energy_fn : callable
    gamma, mu, beta : float or 0-d Tensor
        Step size (rad^2 per energy unit), spring constant, tangent sharpness; tensors with
        ``requires_grad`` make the map differentiable in them.
    climbing : bool
    create_graph : bool
        Keep the graph through the energy gradient (True for meta-learning).
    tangent : {"smooth", "improved"}

    Returns
    -------
    Tensor, shape (P, m, 3, *sites)
    """
    e, g = path_energy_gradient(energy_fn, images, create_graph=create_graph)
    f = neb_forces(images, e, g, mu=mu, tangent=tangent, beta=beta, climbing=climbing)
    new = spheres.exp_map(images, gamma * f.force, dim=2)
    return torch.cat([images[:, :1], new[:, 1:-1], images[:, -1:]], dim=1)


# --------------------------------------------------------------------------- energy along the path


def hermite_profile(arc: np.ndarray, energy: np.ndarray, slope: np.ndarray, n_per_segment: int = 20,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Cubic Hermite interpolation of the energy between images (GNEB codes' energy profile).

    On the segment ``[s_k, s_{k+1}]`` of length ``h`` with ``u = (s - s_k) / h``:
    ``E = h00 E_k + h h10 E'_k + h01 E_{k+1} + h h11 E'_{k+1}`` with the Hermite basis
    ``h00 = 2u^3 - 3u^2 + 1``, ``h10 = u^3 - 2u^2 + u``, ``h01 = -2u^3 + 3u^2``, ``h11 = u^3 - u^2``.

    Parameters
    ----------
    arc : ndarray, shape (m,)
        Increasing arc length of the images.
    energy, slope : ndarray, shape (m,)
        Energies and ``dE/ds`` at the images.
    n_per_segment : int
        Points per segment (the image itself plus ``n_per_segment - 1`` inside).

    Returns
    -------
    s, e : ndarray, shape ((m - 1) n_per_segment + 1,)
    """
    arc, energy, slope = (np.asarray(x, dtype=np.float64) for x in (arc, energy, slope))
    if not (arc.shape == energy.shape == slope.shape and arc.ndim == 1 and len(arc) >= 2):
        raise ValueError(f"hermite_profile: expected equal 1D arrays of >= 2 points, got {arc.shape}, "
                         f"{energy.shape}, {slope.shape}")
    n = max(1, int(n_per_segment))
    u = np.arange(n) / n
    h00, h10, h01, h11 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u, -2 * u**3 + 3 * u**2, u**3 - u**2
    s_out, e_out = [], []
    for k in range(len(arc) - 1):
        h = arc[k + 1] - arc[k]
        s_out.append(arc[k] + h * u)
        e_out.append(h00 * energy[k] + h * h10 * slope[k] + h01 * energy[k + 1] + h * h11 * slope[k + 1])
    s_out.append(arc[-1:])
    e_out.append(energy[-1:])
    return np.concatenate(s_out), np.concatenate(e_out)


def segment_energies(energy_fn: EnergyFn, images: torch.Tensor, t: torch.Tensor, _geo=None) -> torch.Tensor:
    """Energies on the geodesic segments at parameters ``t``.

    Parameters
    ----------
    images : Tensor, shape (P, m, 3, *sites)
    t : Tensor, shape (P, m - 1, q)
        Points ``S(t) = slerp(S_k, S_{k+1}, t)`` per segment.

    Returns
    -------
    Tensor, shape (P, m - 1, q)
    """
    P, m = images.shape[:2]
    q = t.shape[-1]
    a, u, th = _geo if _geo is not None else _segment_geodesics(images)
    tt = t.reshape(t.shape + (1,) * (images.ndim - 2))            # (P, m-1, q, 1, ...)
    ang = tt * th.unsqueeze(2)
    x = torch.cos(ang) * a.unsqueeze(2) + torch.sin(ang) * u.unsqueeze(2)
    e = energy_fn(x.reshape((-1,) + tuple(images.shape[2:])))
    return e.reshape(P, m - 1, q)


def _segment_geodesics(images: torch.Tensor):
    """Start spins, unit tangent directions and angles of the geodesic segments (per spin)."""
    a, b = images[:, :-1], images[:, 1:]
    v = spheres.log_map(a, b, dim=2)
    th = spheres.spin_norm(v, 2, keepdim=True)
    u = v / th.clamp_min(torch.finfo(v.dtype).tiny ** 0.5)
    return a, u, th


_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def path_maximum(energy_fn: EnergyFn, images: torch.Tensor, n_grid: int = 8, n_golden: int = 30,
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``Q[S] = max_t E(S(t))`` along the piecewise-geodesic path, differentiable (Bushuev & Lobanov 2020, Sec. 3).

    Our own batched version of the paper's "golden section search and successive parabolic
    interpolation on each segment": on every segment a grid of ``n_grid + 1`` points brackets
    the largest sample, ``n_golden`` golden-section steps shrink the bracket (by
    ``0.618^n_golden``), and one parabolic step through the final three points refines it.
    The search runs without gradients; the returned value is ``E(S(t*))`` re-evaluated with
    autograd at the fixed ``t*``: since ``dE/dt = 0`` at an interior maximum (and ``t*`` is
    at a fixed end otherwise), this is the exact derivative of ``Q`` (envelope theorem).

    Parameters
    ----------
    energy_fn : callable
    images : Tensor, shape (P, m, 3, *sites)
    n_grid : int
        Bracketing intervals per segment (>= 2); guards against several maxima in a segment.
    n_golden : int
        Golden-section steps.

    Returns
    -------
    Q : Tensor, shape (P,)
        Maximum energy along each path (differentiable in ``images``).
    segment : Tensor of int64, shape (P,)
        Segment ``k`` (between images k and k+1) holding the maximum.
    t : Tensor, shape (P,)
        Its position on that segment, in [0, 1].
    """
    n_grid = max(2, int(n_grid))
    P, m = images.shape[:2]
    dt = images.dtype
    with torch.no_grad():
        x = images.detach()
        geo = _segment_geodesics(x)
        grid = torch.linspace(0.0, 1.0, n_grid + 1, dtype=dt, device=x.device).expand(P, m - 1, n_grid + 1)
        eg = segment_energies(energy_fn, x, grid, geo)
        j = torch.argmax(eg, dim=-1, keepdim=True)
        h = 1.0 / n_grid
        lo = ((j - 1).clamp_min(0) * h).to(dt)
        hi = ((j + 1).clamp_max(n_grid) * h).to(dt)
        c = hi - _GOLDEN * (hi - lo)
        d = lo + _GOLDEN * (hi - lo)
        ec = segment_energies(energy_fn, x, c, geo)
        ed = segment_energies(energy_fn, x, d, geo)
        for _ in range(int(n_golden)):
            left = ec > ed                        # maximum in [lo, d]
            hi = torch.where(left, d, hi)
            lo = torch.where(left, lo, c)
            nc = hi - _GOLDEN * (hi - lo)
            nd = lo + _GOLDEN * (hi - lo)
            # reuse the kept interior point, evaluate the new one (both evaluated at once)
            enew = segment_energies(energy_fn, x, torch.where(left, nc, nd), geo)
            ec, ed = torch.where(left, enew, ed), torch.where(left, ec, enew)
            c, d = nc, nd
        # successive parabolic interpolation through (c, ec), (mid, emid), (d, ed)
        mid = 0.5 * (c + d)
        em = segment_energies(energy_fn, x, mid, geo)
        num = (mid - c) ** 2 * (em - ed) - (mid - d) ** 2 * (em - ec)
        den = (mid - c) * (em - ed) - (mid - d) * (em - ec)
        step = torch.where(den.abs() > 0, 0.5 * num / torch.where(den.abs() > 0, den, torch.ones_like(den)),
                           torch.zeros_like(den))
        tp = (mid - step).clamp(0.0, 1.0)
        tp = torch.where((tp >= lo) & (tp <= hi), tp, mid)
        cand = torch.cat([grid, c, d, mid, tp], dim=-1)
        ecand = torch.cat([eg, ec, ed, em, segment_energies(energy_fn, x, tp, geo)], dim=-1)
        best = torch.argmax(ecand, dim=-1, keepdim=True)               # (P, m-1, 1)
        t_seg = torch.gather(cand, -1, best).squeeze(-1)               # (P, m-1)
        e_seg = torch.gather(ecand, -1, best).squeeze(-1)
        k = torch.argmax(e_seg, dim=-1)                                # (P,)
        t_star = t_seg[torch.arange(P), k]
    a = images[torch.arange(P), k]
    b = images[torch.arange(P), k + 1]
    s_star = spheres.slerp(a, b, t_star.reshape((P,) + (1,) * (a.ndim - 1)), dim=1)
    return energy_fn(s_star), k, t_star


# --------------------------------------------------------------------------- the optimizer loop


@dataclass
class NEBResult:
    """Result of :func:`run_neb` (numpy; leading ``P`` axis only when run batched).

    Attributes
    ----------
    path : ndarray, shape (m, 3, *sites)
        Final images.
    energy : ndarray, shape (m,)
        Their energies (units of ``energy_fn``).
    arc : ndarray, shape (m,)
        Cumulative geodesic distance (radians).
    slope : ndarray, shape (m,)
        ``dE/ds`` at the images.
    profile_s, profile_e : ndarray, shape (k,)
        Hermite-interpolated energy profile.
    barrier : float
        ``E[saddle_index] - E[0]`` (forward barrier from the first end state).
    barrier_interpolated : float
        ``max(profile_e) - E[0]``.
    saddle_index : int
        The climbing image when climbing, else the highest image.
    force_history : ndarray, shape (iterations + 1,)
        Largest per-spin force over the interior images, before each step and at the end.
    monitor_history : ndarray, shape (iterations + 1, ...) or None
        Values of the ``monitor`` callable at the same points.
    iterations : int
        Steps taken.
    force_evaluations : int
        Evaluations of the energy gradient of the whole path.
    wall_time : float
        Seconds (accumulated across resumes).
    converged : bool
    settings : dict
    """

    path: np.ndarray
    energy: np.ndarray
    arc: np.ndarray
    slope: np.ndarray
    profile_s: np.ndarray
    profile_e: np.ndarray
    barrier: np.ndarray
    barrier_interpolated: np.ndarray
    saddle_index: np.ndarray
    force_history: np.ndarray
    monitor_history: np.ndarray | None
    iterations: int
    force_evaluations: int
    wall_time: float
    converged: np.ndarray
    settings: dict = field(default_factory=dict)

    def datasets(self) -> dict[str, np.ndarray]:
        """Arrays of the ``transitions/<run>.h5`` contract (docs/design.md) for an unbatched run."""
        return dict(path=self.path, energy=self.energy, arc=self.arc, slope=self.slope, profile_s=self.profile_s,
                    profile_e=self.profile_e, barrier=np.float64(self.barrier),
                    barrier_interpolated=np.float64(self.barrier_interpolated),
                    saddle_index=np.int64(self.saddle_index), force_history=self.force_history,
                    iterations=np.int64(self.iterations), force_evaluations=np.int64(self.force_evaluations),
                    wall_time=np.float64(self.wall_time), converged=np.bool_(self.converged))


def _validate(method, tangent, gamma, mu, beta, dt, mass, tol, max_iter, max_step):
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    if tangent not in TANGENTS:
        raise ValueError(f"tangent: expected one of {TANGENTS}, got {tangent!r}")
    for name, v in (("gamma", gamma), ("mu", mu), ("beta", beta), ("dt", dt), ("mass", mass), ("tol", tol)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name}: expected a positive number, got {v!r}")
    if int(max_iter) < 0:
        raise ValueError(f"max_iter: expected >= 0, got {max_iter}")
    if max_step is not None and not max_step > 0:
        raise ValueError(f"max_step: expected a positive angle (radians) or None, got {max_step!r}")


def run_neb(energy_fn: EnergyFn, path: torch.Tensor, *, method: str = "vp", tangent: str = "improved",
            gamma: float = 0.01, mu: float = 1.0, beta: float = 3.0, dt: float = 0.2, mass: float = 1.0,
            climbing: bool = True, climb_after: int = 0, tol: float = 1e-6, max_iter: int = 10000,
            max_step: float | None = 0.2, batched: bool = False,
            monitor: Callable[[torch.Tensor], torch.Tensor] | None = None, n_profile: int = 20,
            checkpoint=None, checkpoint_every: int = 500, context: dict | None = None) -> NEBResult:
    """Relax a path to the minimum energy path with GNEB (module docstring).

    Parameters
    ----------
    energy_fn : callable
        ``(N, 3, *sites) -> (N,)`` total energies, differentiable.
    path : Tensor, shape (m, 3, *sites), or (P, m, 3, *sites) with ``batched=True``
        Initial images of unit spins; the end images stay fixed. Keep float64 for barriers
        accurate to 1e-6.
    method : {"vp", "paper"}
        Velocity projection (``dt``, ``mass``) or the paper's step map (``gamma``).
    tangent : {"improved", "smooth"}
        ``"smooth"`` uses ``beta``.
    gamma, mu, beta : float
        Step size, spring constant, smooth-tangent sharpness (Bushuev & Lobanov 2020).
    dt, mass : float
        VP time step and mass.
    climbing : bool
        Climbing image (highest interior image, re-chosen every iteration) from iteration
        ``climb_after`` on.
    tol : float
        Convergence: largest per-spin force on any interior image below ``tol`` (energy per radian).
    max_iter : int
        Iteration limit.
    max_step : float or None
        Largest rotation of any spin per step (radians); a larger step is scaled down (VP: the
        velocity too). None: no limit (the paper's map as written).
    monitor : callable, optional
        ``monitor(images (P, m, 3, *sites)) -> (P, ...)`` recorded before each step and at the
        end (e.g. the barrier error of the single-spin benchmark).
    n_profile : int
        Interpolation points per segment of the energy profile.
    checkpoint : path, optional
        File to save the state every ``checkpoint_every`` iterations and resume from (bit-identical).
    context : dict, optional
        Extra checkpoint fingerprint (e.g. the system and the end-state digests).

    Returns
    -------
    NEBResult

    Raises
    ------
    ValueError
        On a bad path shape, an unknown method/tangent or a non-positive parameter.
    """
    _validate(method, tangent, gamma, mu, beta, dt, mass, tol, max_iter, max_step)
    x = _check_path(path, batched).detach().clone()
    if not torch.is_floating_point(x):
        raise ValueError(f"path: expected a floating-point tensor, got {x.dtype}")
    x = spheres.normalize(x, dim=2)
    settings = dict(method=method, tangent=tangent, gamma=gamma, mu=mu, beta=beta, dt=dt, mass=mass,
                    climbing=climbing, climb_after=climb_after, tol=tol, max_iter=max_iter, max_step=max_step)
    # max_iter is left out of the fingerprint: a longer rerun continues from the checkpoint
    fp = dict({k: v for k, v in settings.items() if k != "max_iter"}, path=array_digest(x.cpu().numpy()),
              monitor=monitor is not None, context=context or {})
    ckpt = Checkpointer(checkpoint, fp, checkpoint_every)
    P = x.shape[0]
    v = torch.zeros_like(x)
    f_prev = None
    force_hist, mon_hist = [], []
    it, n_eval, elapsed = 0, 0, 0.0
    state = ckpt.load()
    if state is not None and state["it"] <= max_iter:
        x, v = state["x"].to(x), state["v"].to(x)
        f_prev = None if state["f_prev"] is None else state["f_prev"].to(x)
        force_hist, mon_hist = list(state["force_hist"]), list(state["mon_hist"])
        it, n_eval, elapsed = state["it"], state["n_eval"], state["elapsed"]
    t0 = time.perf_counter()

    def snapshot(drop_last: bool) -> dict:
        """Resumable state at the top of iteration ``it`` (before its force evaluation)."""
        k = len(force_hist) - int(drop_last)
        return dict(x=x.cpu(), v=v.cpu(), f_prev=None if f_prev is None else f_prev.cpu(),
                    force_hist=force_hist[:k], mon_hist=mon_hist[:k], it=it, n_eval=n_eval - int(drop_last),
                    elapsed=elapsed + time.perf_counter() - t0)

    while True:
        e, g = path_energy_gradient(energy_fn, x)
        f = neb_forces(x, e, g, mu=mu, tangent=tangent, beta=beta, climbing=climbing and it >= climb_after)
        n_eval += 1
        fmax = image_force_norm(f.force)[:, 1:-1].max(dim=1).values            # (P,)
        force_hist.append(fmax.cpu().numpy())
        if monitor is not None:
            with torch.no_grad():
                mon_hist.append(monitor(x).detach().cpu().numpy())
        if bool((fmax < tol).all()) or it >= max_iter:
            break
        active = (fmax >= tol).to(x.dtype).reshape((P,) + (1,) * (x.ndim - 1))  # freeze converged paths
        if method == "paper":
            disp = gamma * f.force
        else:
            if f_prev is not None:
                v = v + (0.5 * dt / mass) * (f_prev + f.force)
            vf = _image_dot(v, f.force).sum(1)                                # whole path
            ff = _image_dot(f.force, f.force).sum(1)
            ratio = torch.where(vf > 0, vf / ff.clamp_min(torch.finfo(x.dtype).tiny), torch.zeros_like(vf))
            v = _expand(ratio, v) * f.force
            disp = dt * v + (0.5 * dt * dt / mass) * f.force
        if max_step is not None:
            big = spheres.spin_norm(disp, 2).flatten(1).max(dim=1).values      # (P,)
            scale = torch.where(big > max_step, max_step / big.clamp_min(1e-300), torch.ones_like(big))
            disp = disp * _expand(scale, disp)
            v = v * _expand(scale, v)
        x = spheres.exp_map(x, disp * active, dim=2)
        v = v * active
        f_prev = f.force
        it += 1
        ckpt.maybe_save(it - 1, lambda: snapshot(False))
    if not bool((fmax < tol).all()):
        ckpt.maybe_save(it, lambda: snapshot(True), force=True)
    elapsed += time.perf_counter() - t0
    # final quantities
    e_full = f.energy
    slope = _image_dot(f.grad, f.tangent)
    arc = arc_length(x)
    saddle = f.climbing.clone()
    no_ci = saddle < 0
    saddle[no_ci] = torch.argmax(e_full[no_ci], dim=1)
    e_np, s_np, a_np = e_full.cpu().numpy(), slope.cpu().numpy(), arc.cpu().numpy()
    prof = [hermite_profile(a_np[p], e_np[p], s_np[p], n_profile) for p in range(P)]
    ps, pe = np.stack([q[0] for q in prof]), np.stack([q[1] for q in prof])
    sidx = saddle.cpu().numpy()
    barrier = e_np[np.arange(P), sidx] - e_np[:, 0]
    fh = np.stack(force_hist)                                                  # (iters+1, P)
    mh = np.stack(mon_hist) if mon_hist else None
    converged = fh[-1] < tol
    out = NEBResult(path=x.cpu().numpy(), energy=e_np, arc=a_np, slope=s_np, profile_s=ps, profile_e=pe,
                    barrier=barrier, barrier_interpolated=pe.max(axis=1) - e_np[:, 0], saddle_index=sidx,
                    force_history=fh, monitor_history=mh, iterations=it, force_evaluations=n_eval,
                    wall_time=elapsed, converged=converged, settings=settings)
    if not batched:
        out.path, out.energy, out.arc, out.slope = out.path[0], out.energy[0], out.arc[0], out.slope[0]
        out.profile_s, out.profile_e = out.profile_s[0], out.profile_e[0]
        out.barrier, out.barrier_interpolated = float(out.barrier[0]), float(out.barrier_interpolated[0])
        out.saddle_index, out.converged = int(out.saddle_index[0]), bool(out.converged[0])
        out.force_history = out.force_history[:, 0]
        if mh is not None:
            out.monitor_history = mh[:, 0]
    return out


# --------------------------------------------------------------------------- saddle check


def _eigsh_lowest(matvec, n: int, k: int, tol: float, seed: int, max_passes: int = 4):
    """Lowest ``k`` eigenpairs of a symmetric operator with ``eigsh``, robust to degenerate eigenvalues.

    Lanczos (ARPACK) can return a degenerate eigenvalue fewer times than its multiplicity.
    After the first pass the found vectors ``Q`` are shifted out of the way, ``H + c Q Q^T``
    with ``c`` above the spectrum window, and ``eigsh`` runs again; eigenvalues below the
    current ``k``-th are merged in. Repeats until a pass finds nothing new.
    """
    import scipy.sparse.linalg as sla

    rng = np.random.default_rng(seed)
    ncv = min(n, max(4 * k, 40))
    op = sla.LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    w, V = sla.eigsh(op, k=k, which="SA", tol=tol, v0=rng.standard_normal(n), ncv=ncv)
    for _ in range(max_passes):
        order = np.argsort(w)
        w, V = w[order], V[:, order]
        Q, _ = np.linalg.qr(V)
        shift = 2.0 * (abs(w[-1]) + abs(w[0])) + 1.0

        def shifted(x, Q=Q, shift=shift):
            return matvec(x) + shift * (Q @ (Q.T @ x))

        op2 = sla.LinearOperator((n, n), matvec=shifted, dtype=np.float64)
        w2, V2 = sla.eigsh(op2, k=k, which="SA", tol=tol, v0=rng.standard_normal(n), ncv=ncv)
        new = w2 < w[-1] - max(tol, 1e-10) * max(1.0, abs(w[-1]))
        if not new.any():
            break
        W2 = V2[:, new] - Q @ (Q.T @ V2[:, new])
        W2 /= np.linalg.norm(W2, axis=0, keepdims=True)
        w = np.concatenate([w, w2[new]])
        V = np.concatenate([V, W2], axis=1)
        order = np.argsort(w)[:k]
        w, V = w[order], V[:, order]
    order = np.argsort(w)
    return w[order], V[:, order]


@dataclass
class HessianResult:
    """Lowest eigenvalues of the energy Hessian on the tangent space of ``(S^2)^N``.

    Attributes
    ----------
    eigenvalues : ndarray, shape (k,)
        Ascending (energy per radian^2).
    eigenvectors : ndarray, shape (k, 3, *sites)
        As tangent vectors in the embedding (unit norm).
    negative_modes : int
        Eigenvalues below ``-threshold``.
    threshold : float
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    negative_modes: int
    threshold: float


def tangent_hessian(energy_fn: EnergyFn, state: torch.Tensor, k: int = 6, threshold: float = 1e-5,
                    tol: float = 1e-10, dense_below: int = 400, seed: int = 0) -> HessianResult:
    """Lowest eigenvalues of the Riemannian Hessian of the energy at ``state``.

    On the product of spheres the Hessian acting on a tangent vector ``v`` is
    ``H v = P_S(d^2E v) - (s_i . dE/ds_i) v_i`` spin by spin (the second term is the curvature
    of the sphere, the Lagrange-multiplier term of Bessarab et al. 2015, Eq. 12; Absil,
    Mahony, Sepulchre, "Optimization algorithms on matrix manifolds", Eq. 5.39). It is
    expressed in the orthonormal basis :func:`latentopt.physics.spheres.tangent_basis`
    (2 dof per spin), applied through autograd Hessian-vector products, and its lowest
    eigenvalues are found with ``scipy.sparse.linalg.eigsh`` (``which="SA"``) on a
    ``LinearOperator`` (dense ``numpy.linalg.eigh`` when ``2N <= dense_below``); extra
    deflated passes recover copies of degenerate eigenvalues that a single Lanczos run misses.
    A first-order saddle point has exactly one negative eigenvalue.

    Parameters
    ----------
    energy_fn : callable
        ``(N, 3, *sites) -> (N,)``.
    state : Tensor, shape (3, *sites)
        Unit spins (float64 recommended).
    k : int
        Number of eigenvalues.
    threshold : float
        Count eigenvalues below ``-threshold`` as negative modes.
    tol : float
        ``eigsh`` tolerance.
    seed : int
        Seed of the ``eigsh`` start vector.

    Returns
    -------
    HessianResult
    """
    if state.ndim < 1 or state.shape[0] != 3:
        raise ValueError(f"state: expected (3, *sites), got {tuple(state.shape)}")
    s = spheres.normalize(state.detach().unsqueeze(0))
    e1, e2 = spheres.tangent_basis(s)
    x = s.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    sg = spheres.dot(s, g.detach())
    n = 2 * s[0, 0].numel()
    shape = s.shape

    def matvec(c: np.ndarray) -> np.ndarray:
        c = torch.as_tensor(np.asarray(c).reshape(2, -1), dtype=s.dtype, device=s.device)
        site_shape = (1, 1) + tuple(shape[2:])
        vec = c[0].reshape(site_shape) * e1 + c[1].reshape(site_shape) * e2
        (hv,) = torch.autograd.grad(g, x, grad_outputs=vec, retain_graph=True)
        hv = hv - sg * vec
        return torch.cat([spheres.dot(hv, e1).reshape(-1), spheres.dot(hv, e2).reshape(-1)]).cpu().numpy()

    k = int(min(k, n))
    if n <= dense_below or k >= n - 1:
        H = np.stack([matvec(col) for col in np.eye(n)], axis=1)
        w, V = np.linalg.eigh(0.5 * (H + H.T))
        w, V = w[:k], V[:, :k]
    else:
        w, V = _eigsh_lowest(matvec, n, k, tol, seed)
    vecs = []
    for j in range(k):
        c = torch.as_tensor(V[:, j].reshape(2, -1), dtype=s.dtype)
        vec = c[0].reshape(shape[2:]) * e1[0] + c[1].reshape(shape[2:]) * e2[0]
        vecs.append(vec.cpu().numpy())
    return HessianResult(eigenvalues=np.asarray(w), eigenvectors=np.stack(vecs),
                         negative_modes=int((w < -threshold).sum()), threshold=float(threshold))
