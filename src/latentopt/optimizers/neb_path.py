"""Energy along a path of images on the product of unit spheres: arc length, profile, maximum.

A path is a tensor of images ``(P, m, 3, *sites)`` (``P`` paths of ``m`` images, spin axis 2,
as in :mod:`latentopt.optimizers.neb`); consecutive images are joined by geodesic segments
(each spin along its great circle). The energy is any torch function
``energy_fn(states (N, 3, *sites)) -> (N,)`` (:data:`EnergyFn`).

- :func:`arc_length`: cumulative geodesic distance of the images (radians);
- :func:`hermite_profile`: cubic Hermite interpolation between images in the arc length with
  the slopes ``dE/ds = grad E . tau`` (the energy profile of GNEB codes; Bessarab, Uzdin,
  Jonsson, Comp. Phys. Commun. 196, 335 (2015));
- :func:`segment_energies`, :func:`path_maximum`: energies on the geodesic segments and the
  differentiable maximum ``Q[S] = max_t E(S(t))`` of Bushuev & Lobanov, Nanosystems 11, 642
  (2020), Sec. 3 (the meta-learning loss of :mod:`latentopt.optimizers.meta_neb`).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from latentopt.physics import spheres

EnergyFn = Callable[[torch.Tensor], torch.Tensor]
"""``energy_fn(states (N, 3, *sites)) -> (N,)``: total energies (e.g. in units of J), differentiable."""

__all__ = ["EnergyFn", "arc_length", "hermite_profile", "segment_energies", "path_maximum"]


def arc_length(images: torch.Tensor) -> torch.Tensor:
    """Cumulative geodesic distance along the path, ``(P, m, 3, *sites) -> (P, m)``, starting at 0."""
    d = spheres.geodesic_distance(images[:, 1:], images[:, :-1], dim=2)
    return torch.cat([torch.zeros_like(d[:, :1]), torch.cumsum(d, dim=1)], dim=1)


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

