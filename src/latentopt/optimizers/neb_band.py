"""Forces of the geodesic nudged elastic band (GNEB) on the product of unit spheres.

A path is a tensor of images ``(P, m, 3, *sites)``: ``P`` independent paths of ``m`` images
(spin axis 2, e.g. ``(P, m, 3, L, L)`` for a lattice or ``(P, m, 3)`` for one spin). The
energy is any torch function ``energy_fn(states (N, 3, *sites)) -> (N,)``
(:data:`latentopt.optimizers.neb_path.EnergyFn`) with an autograd gradient. End images are
fixed (they must be relaxed minima).

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

The map M(gamma, mu, beta) of Bushuev & Lobanov (:func:`paper_step`, differentiable) moves
``S_k -> exp_{S_k}(gamma F_k)`` with ``F_k`` the total force above
(:func:`latentopt.physics.spheres.exp_map`, so ``|S_i| = 1`` exactly). Eq. 2 of the paper
prints the spring term outside the step size; written literally (``S - gamma H_perp + mu e tau``)
the spring part alone maps the image spacing by ``x -> x + mu Lap(x)``, whose zig-zag mode is
amplified by ``|1 - 4 mu| = 3`` at ``mu = 1``, so we use the usual NEB form with the spring force
inside the step, ``gamma (F_perp + F_spring)`` (stable for ``gamma mu < 1/2``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from latentopt.physics import spheres

from .neb_path import EnergyFn

TANGENTS = ("improved", "smooth")
PARAMS = ("gamma", "mu", "beta")   # the parameters of the map M (:func:`paper_step`), in this order

__all__ = ["TANGENTS", "PARAMS", "smooth_weight", "path_energy_gradient", "tangents", "Forces", "neb_forces",
           "image_force_norm", "paper_step"]


# --------------------------------------------------------------------------- helpers on (P, m, 3, *sites)


def _image_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Dot product of whole images (spins and sites): ``(P, m, 3, *sites) -> (P, m)``."""
    return (a * b).flatten(2).sum(-1)


def _expand(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``(P, m)`` -> ``(P, m, 1, 1, ...)`` to broadcast against images."""
    return x.reshape(x.shape + (1,) * (like.ndim - x.ndim))


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

