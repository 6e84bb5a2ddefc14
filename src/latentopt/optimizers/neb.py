"""Geodesic nudged elastic band (GNEB) with climbing image: relaxing a path to the minimum energy path.

A path is a tensor of images ``(m, 3, *sites)`` (one state per image, spin axis 1, e.g.
``(m, 3, L, L)`` for a lattice or ``(m, 3)`` for one spin); the batched internals work on
``(P, m, 3, *sites)``, ``P`` independent paths at once (the meta-learning and the
single-spin benchmark run 100 paths together). The energy is any torch function
``energy_fn(states (N, 3, *sites)) -> (N,)`` (total energy, e.g. in units of J) with an
autograd gradient. End images are fixed (they must be relaxed minima).

The GNEB force ``F_k`` on each image (projected gradient, improved or smooth tangent, geodesic
spring, climbing image; Bessarab, Uzdin, Jonsson, Comp. Phys. Commun. 196, 335 (2015);
Bushuev & Lobanov, Nanosystems 11, 642 (2020)) is :func:`latentopt.optimizers.neb_band.neb_forces`.
Updates rotate each spin along its great circle (:func:`latentopt.physics.spheres.exp_map`),
so ``|S_i| = 1`` exactly. Two optimizers:

- ``"paper"``: the map M(gamma, mu, beta) of Bushuev & Lobanov, ``S_k -> exp_{S_k}(gamma F_k)``
  (spring force inside the step; :func:`latentopt.optimizers.neb_band.paper_step`).
- ``"vp"``: velocity projection (quick-min) as in GNEB codes (Bessarab et al. 2015, Sec. 4;
  Spirit's VP solver): velocity Verlet with mass ``mass`` and time step ``dt``, the velocity of
  the whole path projected on the direction of the whole path's force and zeroed when it points
  against it.

Converged when the largest per-spin force ``max_i |F_i|`` on any interior image (gradient,
spring and climbing parts together, as Spirit's "max torque") is below ``tol``.

The forces live in :mod:`latentopt.optimizers.neb_band`, the energy along the path (arc length,
Hermite profile, path maximum) in :mod:`latentopt.optimizers.neb_path` and the Hessian saddle
check in :mod:`latentopt.optimizers.saddle`; all are re-exported here.
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
from .neb_band import (TANGENTS, Forces, _expand, _image_dot, image_force_norm, neb_forces, paper_step,
                       path_energy_gradient, smooth_weight, tangents)
from .neb_path import EnergyFn, arc_length, hermite_profile, path_maximum, segment_energies
from .saddle import HessianResult, tangent_hessian

METHODS = ("paper", "vp")

__all__ = ["TANGENTS", "METHODS", "EnergyFn", "smooth_weight", "path_energy_gradient", "tangents", "neb_forces",
           "image_force_norm", "paper_step", "arc_length", "hermite_profile", "NEBResult", "run_neb",
           "path_maximum", "segment_energies", "tangent_hessian", "HessianResult"]


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
    """Check the settings of :func:`run_neb`; ValueError on an unknown name or a non-positive number."""
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


def _check_path(images: torch.Tensor, batched: bool) -> torch.Tensor:
    """``path`` as ``(P, m, 3, *sites)`` (a leading axis added unless ``batched``); ValueError on a bad shape."""
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


def _initial_path(path: torch.Tensor, batched: bool) -> torch.Tensor:
    """A detached copy of ``path`` as ``(P, m, 3, *sites)`` with every spin normalized.

    Raises
    ------
    ValueError
        On a bad shape (:func:`_check_path`) or a non-floating-point tensor.
    """
    x = _check_path(path, batched).detach().clone()
    if not torch.is_floating_point(x):
        raise ValueError(f"path: expected a floating-point tensor, got {x.dtype}")
    return spheres.normalize(x, dim=2)


@dataclass
class _Band:
    """State of a relaxation at the top of iteration ``it`` (what a checkpoint holds).

    ``x`` the images and ``v`` the VP velocity, both ``(P, m, 3, *sites)``; ``f_prev`` the
    force of the last step (VP's velocity Verlet), ``force_hist``/``mon_hist`` one entry per
    force evaluation, ``elapsed`` the seconds of earlier sessions.
    """

    x: torch.Tensor
    v: torch.Tensor
    f_prev: torch.Tensor | None = None
    force_hist: list = field(default_factory=list)
    mon_hist: list = field(default_factory=list)
    it: int = 0
    n_eval: int = 0
    elapsed: float = 0.0

    @classmethod
    def start(cls, x: torch.Tensor, state: dict | None, max_iter: int) -> "_Band":
        """At rest on ``x``, or resumed from a checkpoint ``state`` not beyond ``max_iter``."""
        if state is None or state["it"] > max_iter:
            return cls(x=x, v=torch.zeros_like(x))
        return cls(x=state["x"].to(x), v=state["v"].to(x),
                   f_prev=None if state["f_prev"] is None else state["f_prev"].to(x),
                   force_hist=list(state["force_hist"]), mon_hist=list(state["mon_hist"]),
                   it=state["it"], n_eval=state["n_eval"], elapsed=state["elapsed"])

    def snapshot(self, drop_last: bool, t0: float) -> dict:
        """Checkpoint state; ``drop_last`` leaves out the force evaluation of the current iteration."""
        k = len(self.force_hist) - int(drop_last)
        return dict(x=self.x.cpu(), v=self.v.cpu(), f_prev=None if self.f_prev is None else self.f_prev.cpu(),
                    force_hist=self.force_hist[:k], mon_hist=self.mon_hist[:k], it=self.it,
                    n_eval=self.n_eval - int(drop_last), elapsed=self.elapsed + time.perf_counter() - t0)

    def record(self, fmax: torch.Tensor, monitor: Callable | None) -> None:
        """Count one force evaluation with its largest force ``fmax (P,)`` and the monitor's value."""
        self.n_eval += 1
        self.force_hist.append(fmax.cpu().numpy())
        if monitor is not None:
            with torch.no_grad():
                self.mon_hist.append(monitor(self.x).detach().cpu().numpy())

    def move(self, disp: torch.Tensor, active: torch.Tensor, force: torch.Tensor) -> None:
        """Rotate the spins of the paths still ``active`` (bool, (P,)) by ``disp``; freeze the others."""
        mask = active.to(self.x.dtype).reshape((len(active),) + (1,) * (self.x.ndim - 1))
        self.x = spheres.exp_map(self.x, disp * mask, dim=2)
        self.v = self.v * mask
        self.f_prev = force
        self.it += 1


def _interior_force_max(force: torch.Tensor) -> torch.Tensor:
    """Convergence measure: largest per-spin force on any interior image, ``(P, m, 3, *sites) -> (P,)``."""
    return image_force_norm(force)[:, 1:-1].max(dim=1).values


def _vp_step(v: torch.Tensor, f_prev: torch.Tensor | None, force: torch.Tensor, dt: float, mass: float,
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Velocity projection (quick-min; Bessarab et al. 2015, Sec. 4): new velocity and displacement.

    Velocity Verlet ``v += dt (F_prev + F) / (2 mass)``, then ``v`` projected on the force of
    the whole path (zero when it points against it); displacement ``dt v + dt^2 F / (2 mass)``.
    All tensors ``(P, m, 3, *sites)``.
    """
    if f_prev is not None:
        v = v + (0.5 * dt / mass) * (f_prev + force)
    vf = _image_dot(v, force).sum(1)                                          # whole path
    ff = _image_dot(force, force).sum(1)
    ratio = torch.where(vf > 0, vf / ff.clamp_min(torch.finfo(force.dtype).tiny), torch.zeros_like(vf))
    v = _expand(ratio, v) * force
    return v, dt * v + (0.5 * dt * dt / mass) * force


def _paper_step(force: torch.Tensor, gamma: float) -> torch.Tensor:
    """Displacement of the paper's map ``M``: ``gamma F`` (Bushuev & Lobanov 2020, Eq. 2; :func:`paper_step`)."""
    return gamma * force


def _limit_step(disp: torch.Tensor, v: torch.Tensor, max_step: float | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale each path's displacement and velocity so that no spin rotates by more than ``max_step`` radians."""
    if max_step is None:
        return disp, v
    big = spheres.spin_norm(disp, 2).flatten(1).max(dim=1).values           # (P,)
    scale = torch.where(big > max_step, max_step / big.clamp_min(1e-300), torch.ones_like(big))
    return disp * _expand(scale, disp), v * _expand(scale, v)


def _climbing_now(climbing: bool, it: int, climb_after: int) -> bool:
    """Whether the climbing image is on at iteration ``it``."""
    return climbing and it >= climb_after


def _finished(fmax: torch.Tensor, tol: float, it: int, max_iter: int) -> bool:
    """Stop when every path has converged (``fmax < tol``) or at the iteration limit."""
    return bool((fmax < tol).all()) or it >= max_iter


def _path_summary(x: torch.Tensor, f: Forces, n_profile: int) -> dict[str, np.ndarray]:
    """Energy, arc length, slope, Hermite profile, saddle index and barriers of relaxed paths (numpy, batched).

    The saddle is the climbing image where there is one, else the highest image; the barrier
    is measured from the first end image.
    """
    e_full = f.energy
    slope = _image_dot(f.grad, f.tangent)
    arc = arc_length(x)
    saddle = f.climbing.clone()
    no_ci = saddle < 0
    saddle[no_ci] = torch.argmax(e_full[no_ci], dim=1)
    e_np, s_np, a_np = e_full.cpu().numpy(), slope.cpu().numpy(), arc.cpu().numpy()
    prof = [hermite_profile(a_np[p], e_np[p], s_np[p], n_profile) for p in range(x.shape[0])]
    ps, pe = np.stack([q[0] for q in prof]), np.stack([q[1] for q in prof])
    sidx = saddle.cpu().numpy()
    return dict(path=x.cpu().numpy(), energy=e_np, arc=a_np, slope=s_np, profile_s=ps, profile_e=pe,
                barrier=e_np[np.arange(x.shape[0]), sidx] - e_np[:, 0],
                barrier_interpolated=pe.max(axis=1) - e_np[:, 0], saddle_index=sidx)


def _unbatch(out: NEBResult) -> NEBResult:
    """Drop the leading ``P = 1`` axis of a batched result (in place; Python scalars for the scalars)."""
    out.path, out.energy, out.arc, out.slope = out.path[0], out.energy[0], out.arc[0], out.slope[0]
    out.profile_s, out.profile_e = out.profile_s[0], out.profile_e[0]
    out.barrier, out.barrier_interpolated = float(out.barrier[0]), float(out.barrier_interpolated[0])
    out.saddle_index, out.converged = int(out.saddle_index[0]), bool(out.converged[0])
    out.force_history = out.force_history[:, 0]
    if out.monitor_history is not None:
        out.monitor_history = out.monitor_history[:, 0]
    return out


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
    x = _initial_path(path, batched)
    settings = dict(method=method, tangent=tangent, gamma=gamma, mu=mu, beta=beta, dt=dt, mass=mass,
                    climbing=climbing, climb_after=climb_after, tol=tol, max_iter=max_iter, max_step=max_step)
    # max_iter is left out of the fingerprint: a longer rerun continues from the checkpoint
    fp = dict({k: v for k, v in settings.items() if k != "max_iter"}, path=array_digest(x.cpu().numpy()),
              monitor=monitor is not None, context=context or {})
    ckpt = Checkpointer(checkpoint, fp, checkpoint_every)
    band = _Band.start(x, ckpt.load(), max_iter)
    t0 = time.perf_counter()
    while True:
        e, g = path_energy_gradient(energy_fn, band.x)
        f = neb_forces(band.x, e, g, mu=mu, tangent=tangent, beta=beta,
                       climbing=_climbing_now(climbing, band.it, climb_after))
        fmax = _interior_force_max(f.force)
        band.record(fmax, monitor)
        if _finished(fmax, tol, band.it, max_iter):
            break
        if method == "paper":
            disp = _paper_step(f.force, gamma)
        else:
            band.v, disp = _vp_step(band.v, band.f_prev, f.force, dt, mass)
        disp, band.v = _limit_step(disp, band.v, max_step)
        band.move(disp, fmax >= tol, f.force)                       # converged paths stay frozen
        ckpt.maybe_save(band.it - 1, lambda: band.snapshot(False, t0))
    if not bool((fmax < tol).all()):
        ckpt.maybe_save(band.it, lambda: band.snapshot(True, t0), force=True)
    band.elapsed += time.perf_counter() - t0
    fh = np.stack(band.force_hist)                                  # (iters+1, P)
    out = NEBResult(**_path_summary(band.x, f, n_profile), force_history=fh,
                    monitor_history=np.stack(band.mon_hist) if band.mon_hist else None, iterations=band.it,
                    force_evaluations=band.n_eval, wall_time=band.elapsed, converged=fh[-1] < tol, settings=settings)
    return out if batched else _unbatch(out)
