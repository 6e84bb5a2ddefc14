"""Real-space energy minimization of spin states on the product of unit spheres (batched torch).

Method: L-BFGS on ``(S^2)^N`` (Riemannian L-BFGS with the projection vector transport; cf.
Ivanov et al., J. Phys.: Condens. Matter 32, 345901 (2020), "LBFGS-OSO", and Absil, Mahony,
Sepulchre, "Optimization algorithms on matrix manifolds" (2008), Sec. 8.1):

- the gradient is the Euclidean energy gradient projected on each spin's tangent plane
  (:func:`latentopt.physics.spheres.project_tangent`), obtained by torch autograd;
- the search direction is the two-loop L-BFGS recursion over the last ``memory`` pairs
  ``(s_j, y_j)`` (steps and gradient changes), each carried to the current tangent space by
  projection; the initial inverse Hessian is ``(s.y)/(y.y)`` of the newest pair; a pair is
  kept only if ``s.y > 0``, and a direction that is not a descent direction resets the memory;
- a step rotates every spin along its great circle (:func:`latentopt.physics.spheres.exp_map`),
  so ``|S_i| = 1`` exactly; it is capped so that no spin turns by more than ``max_angle``;
- the step length comes from an Armijo backtracking line search (``c1 = 1e-4``, halving),
  started at 1, done per state of the batch.

Converged when the largest per-spin torque ``max_i |P_i dE/ds_i|`` is below ``tol`` (energy
units per radian). States of a batch are independent and stop individually.

:func:`descend` is the cheap counterpart used *inside* latent objectives (``relax_steps`` of
optimize runs): a fixed number of fixed-size projected-gradient steps, differentiable end to
end, with a step size (:func:`descent_step`) below the stability limit of the Hamiltonian.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from . import spheres
from .hamiltonian import ChiralMagnet
from .torch_physics import energy_per_spin

EnergyFn = Callable[[torch.Tensor], torch.Tensor]

__all__ = ["MinimizeResult", "minimize", "chiral_magnet_energy_fn", "polish", "descent_step", "descend"]


def chiral_magnet_energy_fn(model: ChiralMagnet) -> EnergyFn:
    """Total energy ``E = L^2 e`` of states ``(n, 3, L, L)`` in units of J (docs/design.md Hamiltonian).

    Returns
    -------
    callable
        ``states (n, 3, L, L) -> (n,)``, differentiable
        (:func:`latentopt.physics.torch_physics.energy_per_spin` times the number of sites).
    """
    n_sites = int(model.L) ** 2

    def energy(states: torch.Tensor) -> torch.Tensor:
        if states.shape[-1] != model.L or states.shape[-2] != model.L:
            raise ValueError(f"states: expected lattice {model.L}x{model.L} of system.L, got {tuple(states.shape)}")
        return energy_per_spin(states, model) * n_sites

    return energy


@dataclass
class MinimizeResult:
    """Result of :func:`minimize` (numpy arrays, batch axis first).

    Attributes
    ----------
    states : ndarray, shape (n, 3, *sites)
        Relaxed unit spins.
    energy : ndarray, shape (n,)
        Final energies (units of ``energy_fn``).
    initial_energy : ndarray, shape (n,)
    max_torque : ndarray, shape (n,)
        Final largest per-spin torque.
    iterations : ndarray of int, shape (n,)
        Iterations each state needed (or ``max_iter``).
    evaluations : int
        Energy + gradient evaluations of the batch.
    converged : ndarray of bool, shape (n,)
    energy_history : ndarray, shape (iters + 1, n)
    torque_history : ndarray, shape (iters + 1, n)
    wall_time : float
        Seconds.
    """

    states: np.ndarray
    energy: np.ndarray
    initial_energy: np.ndarray
    max_torque: np.ndarray
    iterations: np.ndarray
    evaluations: int
    converged: np.ndarray
    energy_history: np.ndarray
    torque_history: np.ndarray
    wall_time: float


def _bdot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Dot product of whole states, ``(n, 3, *sites) -> (n,)``."""
    return (a * b).flatten(1).sum(-1)


def _bexp(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return x.reshape((-1,) + (1,) * (like.ndim - 1))


def _energy_grad(energy_fn: EnergyFn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.enable_grad():
        xx = x.detach().requires_grad_(True)
        e = energy_fn(xx)
        if e.shape != (x.shape[0],):
            raise ValueError(f"energy_fn: expected energies of shape ({x.shape[0]},), got {tuple(e.shape)}")
        (g,) = torch.autograd.grad(e.sum(), xx)
    return e.detach(), spheres.project_tangent(x, g.detach())


def _torque(g: torch.Tensor) -> torch.Tensor:
    per = spheres.spin_norm(g, 1)
    return per.flatten(1).max(dim=1).values if per.ndim > 1 else per


def _initial_states(states, tol: float, memory: int, max_angle: float, device) -> torch.Tensor:
    """Check :func:`minimize`'s arguments; return the states normalized, in float64, on ``device``.

    Raises
    ------
    ValueError
        On a bad shape or non-positive ``tol``, ``memory``, ``max_angle``.
    """
    x = torch.as_tensor(states)
    if x.ndim < 2 or x.shape[1] != 3:
        raise ValueError(f"states: expected (n, 3, *sites), got {tuple(x.shape)}")
    if not tol > 0:
        raise ValueError(f"tol: expected a positive torque, got {tol}")
    if int(memory) < 1:
        raise ValueError(f"memory: expected >= 1, got {memory}")
    if not 0 < max_angle <= math.pi:
        raise ValueError(f"max_angle: expected an angle in (0, pi], got {max_angle}")
    dev = torch.device(device) if device is not None else x.device
    return spheres.normalize(x.to(dev, torch.float64))


def _lbfgs_direction(x: torch.Tensor, g: torch.Tensor, S: list[torch.Tensor],
                     Y: list[torch.Tensor]) -> torch.Tensor:
    """L-BFGS search direction ``d = -P H g`` by the two-loop recursion (Nocedal & Wright, Alg. 7.4).

    The pairs ``(s_j, y_j)`` of ``S``, ``Y`` (oldest first, each ``(n, 3, *sites)``) are
    carried to the tangent space at ``x`` by projection; a pair with ``s.y <= 0`` is skipped
    (``rho = 0``). The initial inverse Hessian is ``(s.y)/(y.y)`` of the newest pair, and
    without history ``1 / max(torque, 1)``, so that the first step turns the most-turning
    spin by about 1 rad before the cap of :func:`_capped_step`. Per state of the batch.
    """
    q = g.clone()
    Sp = [spheres.project_tangent(x, s) for s in S]
    Yp = [spheres.project_tangent(x, y) for y in Y]
    alphas = []
    rhos = []
    for s, y in zip(reversed(Sp), reversed(Yp)):
        sy = _bdot(s, y)
        rho = torch.where(sy > 0, 1.0 / sy.clamp_min(1e-300), torch.zeros_like(sy))
        a = rho * _bdot(s, q)
        q = q - _bexp(a, q) * y
        alphas.append(a)
        rhos.append(rho)
    if Sp:
        sy, yy = _bdot(Sp[-1], Yp[-1]), _bdot(Yp[-1], Yp[-1])
        h0 = torch.where((sy > 0) & (yy > 0), sy / yy.clamp_min(1e-300), torch.ones_like(sy))
    else:
        h0 = 1.0 / torch.clamp(_torque(g), min=1.0)
    r = _bexp(h0, q) * q
    for s, y, a, rho in zip(Sp, Yp, reversed(alphas), reversed(rhos)):
        b = rho * _bdot(y, r)
        r = r + _bexp(a - b, r) * s
    return -spheres.project_tangent(x, r)


def _ensure_descent(g: torch.Tensor, d: torch.Tensor, S: list[torch.Tensor], Y: list[torch.Tensor]):
    """Steepest descent ``-g`` for the states where ``d`` is not a descent direction (``g.d >= 0``).

    Those states also forget their history (their pairs in ``S``, ``Y`` are zeroed).

    Returns
    -------
    d : Tensor, shape (n, 3, *sites)
    gd : Tensor, shape (n,)
        The directional derivative ``g.d``.
    S, Y : list of Tensor
        New lists (the arguments are not modified).
    """
    gd = _bdot(g, d)
    bad = ~(gd < 0)
    if bool(bad.any()):
        d = torch.where(_bexp(bad, d), -g, d)
        gd = _bdot(g, d)
        keep = _bexp(~bad, S[0]) if S else None
        S = [torch.where(keep, s, torch.zeros_like(s)) for s in S]
        Y = [torch.where(keep, y, torch.zeros_like(y)) for y in Y]
    return d, gd, S, Y


def _capped_step(d: torch.Tensor, max_angle: float) -> torch.Tensor:
    """Initial step length per state, ``(n,)``: 1, or less so that no spin turns by more than ``max_angle``."""
    big = spheres.spin_norm(d, 1).flatten(1).max(dim=1).values
    return torch.where(big > max_angle, max_angle / big.clamp_min(1e-300), torch.ones_like(big))


def _armijo(energy_fn: EnergyFn, x: torch.Tensor, e: torch.Tensor, g: torch.Tensor, d: torch.Tensor,
            gd: torch.Tensor, alpha: torch.Tensor, done: torch.Tensor, max_backtracks: int):
    """Armijo backtracking along the great circles ``exp_x(alpha d)``, per state (Nocedal & Wright, Alg. 3.1).

    A state accepts the first ``alpha`` (halved after each failure) with
    ``E(exp_x(alpha d)) <= E(x) + c1 alpha g.d + 16 eps max(|E|, 1)`` (``c1 = 1e-4``; the
    last term allows for the rounding of the energy itself). States in ``done`` are not
    moved. Gives up after ``max_backtracks`` trials.

    Returns
    -------
    x_new, e_new, g_new : Tensor
        The accepted states, energies and projected gradients (the old ones where none
        was accepted).
    accepted : Tensor of bool, shape (n,)
        ``done`` or a step was accepted.
    evaluations : int
        Energy + gradient evaluations of the batch.
    """
    eps = torch.finfo(torch.float64).eps
    accepted = done
    x_new, e_new, g_new = x.clone(), e.clone(), g.clone()
    evaluations = 0
    for _ in range(int(max_backtracks)):
        todo = ~accepted
        if not bool(todo.any()):
            break
        xt = spheres.exp_map(x, _bexp(alpha, d) * d)
        et, gt = _energy_grad(energy_fn, xt)
        evaluations += 1
        slack = 16 * eps * e.abs().clamp_min(1.0)
        ok = todo & (et <= e + 1e-4 * alpha * gd + slack)
        x_new = torch.where(_bexp(ok, x), xt, x_new)
        e_new = torch.where(ok, et, e_new)
        g_new = torch.where(_bexp(ok, g), gt, g_new)
        accepted = accepted | ok
        alpha = torch.where(ok, alpha, 0.5 * alpha)
    return x_new, e_new, g_new, accepted, evaluations


def _history_pair(x: torch.Tensor, x_new: torch.Tensor, g: torch.Tensor, g_new: torch.Tensor,
                  moved: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The L-BFGS pair ``(s, y)`` of a step ``x -> x_new``, in the tangent space at ``x_new``.

    ``s = P_new log_x(x_new)`` (the step carried to the new point), ``y = g_new - P_new g``;
    zero for the states that did not move (``~moved``), so that they add nothing.
    """
    s_new = spheres.log_map(x, x_new)
    y_new = g_new - spheres.project_tangent(x_new, g)
    s_new = spheres.project_tangent(x_new, s_new)
    frozen = ~moved
    s_new = torch.where(_bexp(frozen, s_new), torch.zeros_like(s_new), s_new)
    y_new = torch.where(_bexp(frozen, y_new), torch.zeros_like(y_new), y_new)
    return s_new, y_new


def _remember(S: list[torch.Tensor], Y: list[torch.Tensor], s: torch.Tensor, y: torch.Tensor, memory: int):
    """The history with the pair ``(s, y)`` appended, keeping the newest ``memory`` pairs (new lists)."""
    return (S + [s])[-int(memory):], (Y + [y])[-int(memory):]


def minimize(energy_fn: EnergyFn, states: torch.Tensor, *, tol: float = 1e-6, max_iter: int = 20000,
             memory: int = 10, max_angle: float = 0.3, max_backtracks: int = 30,
             device: torch.device | str | None = None) -> MinimizeResult:
    """Relax a batch of spin states to the nearest energy minimum (L-BFGS on the spheres, module docstring).

    Parameters
    ----------
    energy_fn : callable
        ``(n, 3, *sites) -> (n,)`` total energies, differentiable (e.g.
        :func:`chiral_magnet_energy_fn`).
    states : Tensor or ndarray, shape (n, 3, *sites)
        Initial spins (normalized here). Computation is in float64.
    tol : float
        Stop a state when its largest per-spin torque is below ``tol``.
    max_iter : int
        Iteration limit.
    memory : int
        L-BFGS history length (>= 1).
    max_angle : float
        Largest rotation of any spin in one step (radians).
    max_backtracks : int
        Halvings of the step in the line search before a state is declared stalled.
    device : torch.device or str, optional
        Where to compute (default: the device of ``states``).

    Returns
    -------
    MinimizeResult

    Raises
    ------
    ValueError
        On a bad shape or non-positive ``tol``, ``memory``, ``max_angle``.
    """
    x = _initial_states(states, tol, memory, max_angle, device)
    n, dev = x.shape[0], x.device
    t0 = time.perf_counter()
    e, g = _energy_grad(energy_fn, x)
    evals = 1
    e0 = e.clone()
    S: list[torch.Tensor] = []
    Y: list[torch.Tensor] = []
    active = torch.ones(n, dtype=torch.bool, device=dev)
    iters = torch.zeros(n, dtype=torch.long, device=dev)
    e_hist, t_hist = [e.cpu().numpy()], [_torque(g).cpu().numpy()]
    for _ in range(int(max_iter)):
        active = active & (_torque(g) >= tol)
        if not bool(active.any()):
            break
        d, gd, S, Y = _ensure_descent(g, _lbfgs_direction(x, g, S, Y), S, Y)
        x_new, e_new, g_new, accepted, n_evals = _armijo(energy_fn, x, e, g, d, gd, _capped_step(d, max_angle),
                                                         ~active, max_backtracks)
        evals += n_evals
        active = active & accepted  # a stalled state (no step accepted) stops
        iters = iters + active.long()
        s_new, y_new = _history_pair(x, x_new, g, g_new, active)
        S, Y = _remember(S, Y, s_new, y_new, memory)
        x, e, g = x_new, e_new, g_new
        e_hist.append(e.cpu().numpy())
        t_hist.append(_torque(g).cpu().numpy())
    torque = _torque(g)
    return MinimizeResult(states=x.cpu().numpy(), energy=e.cpu().numpy(), initial_energy=e0.cpu().numpy(),
                          max_torque=torque.cpu().numpy(), iterations=iters.cpu().numpy(), evaluations=evals,
                          converged=(torque < tol).cpu().numpy(), energy_history=np.stack(e_hist),
                          torque_history=np.stack(t_hist), wall_time=time.perf_counter() - t0)


def polish(spins: np.ndarray, model: ChiralMagnet, *, tol: float = 1e-6, max_iter: int = 20000,
           memory: int = 10, device: torch.device | str = "cpu") -> dict:
    """Relax a state of a spin study in real space (the ``polish: true`` option of optimize runs).

    Parameters
    ----------
    spins : ndarray, shape (3, L, L) or (n, 3, L, L)
    model : ChiralMagnet
    tol, max_iter, memory, device
        As for :func:`minimize`.

    Returns
    -------
    dict
        ``spins`` (same shape as the input, float32 like the optimize contract),
        ``energy`` energy per spin before (``initial_value``) and after (``polished_value``),
        ``W_initial``, ``W`` topological charge before and after, ``iterations``,
        ``max_torque``, ``converged``, ``wall_time``.
    """
    from .torch_physics import topological_charge

    arr = np.asarray(spins, dtype=np.float64)
    single = arr.ndim == 3
    if single:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[1] != 3 or arr.shape[-1] != model.L or arr.shape[-2] != model.L:
        raise ValueError(f"spins: expected (3, {model.L}, {model.L}) or (n, 3, {model.L}, {model.L}), "
                         f"got {np.shape(spins)}")
    res = minimize(chiral_magnet_energy_fn(model), torch.as_tensor(arr, device=device), tol=tol,
                   max_iter=max_iter, memory=memory)
    n_sites = model.L ** 2
    w0 = topological_charge(torch.as_tensor(arr / np.linalg.norm(arr, axis=1, keepdims=True))).numpy()
    w1 = topological_charge(torch.as_tensor(res.states)).numpy()
    out = dict(spins=res.states.astype(np.float32), initial_value=res.initial_energy / n_sites,
               polished_value=res.energy / n_sites, W_initial=w0, W=w1, iterations=res.iterations,
               max_torque=res.max_torque, converged=res.converged, wall_time=res.wall_time)
    if single:
        out = {k: (v[0] if isinstance(v, np.ndarray) and k != "spins" else v) for k, v in out.items()}
        out["spins"] = out["spins"][0]
    return out


def descent_step(model: ChiralMagnet) -> float:
    """Step size ``1.5 / Lambda`` of :func:`descend` for ``model`` (units of 1/J, radians per unit field).

    ``Lambda = 8|J| + 8|D| + 4|K| + |B|`` bounds the Riemannian Hessian of the total energy on
    ``(S^2)^N``: the Euclidean Hessian has norm at most ``4|J| + 4|D| + 2|K|`` (four bonds per
    site, each a bilinear form of norm |J| or |D|; the anisotropy ``-K s_z^2``), and the
    sphere constraint adds ``-(s_i . dE/ds_i)``, at most the largest local field
    ``4|J| + 4|D| + 2|K| + |B|``. Gradient descent is stable for steps below ``2 / Lambda``;
    1.5 / Lambda leaves a margin (0.144 for J = 1, D = 0.3, K = B = 0).

    Raises
    ------
    ValueError
        If every coupling is zero (no energy to descend).
    """
    lam = 8 * abs(model.J) + 8 * abs(model.D) + 4 * abs(model.K) + float(np.linalg.norm(model.B))
    if lam <= 0:
        raise ValueError("descent_step: J, D, K and B are all zero; there is no energy to descend")
    return 1.5 / lam


def descend(energy_fn: EnergyFn, states: torch.Tensor, steps: int, step: float,
            field_fn: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """``steps`` fixed-size projected-gradient steps on the spheres, ``s <- (s - step P g) / |s - step P g|``.

    A short, batched relaxation for use inside objectives (``relax_steps`` of optimize runs):
    it removes a decoded state's short-wavelength noise (relaxed fastest, at rate ~ step x
    curvature) while keeping its texture and topology, so that states are ranked by their
    physics, not by the decoder's blur. If ``states`` requires grad, the steps are unrolled
    in the autograd graph (``create_graph``), so gradients reach the latent codes of
    gradient-based optimizers; otherwise no graph is kept. Works inside
    ``torch.inference_mode`` (the states are cloned out of it).

    Parameters
    ----------
    energy_fn : callable
        ``(n, 3, *sites) -> (n,)`` total energies, differentiable (:func:`chiral_magnet_energy_fn`).
    states : Tensor, shape (n, 3, *sites)
        Spins (normalized here); dtype and device are kept.
    steps : int
        Number of steps (0 returns the normalized states).
    step : float
        Step size, e.g. :func:`descent_step` of the Hamiltonian.
    field_fn : callable, optional
        ``(n, 3, *sites) -> (n, 3, *sites)``: the effective field ``-dE/ds`` of ``energy_fn``
        in closed form (e.g. :func:`latentopt.physics.torch_physics.effective_field`), used
        instead of the autograd gradient (no backward pass; equal to it up to rounding). It
        must be written in differentiable torch operations for the unrolled case.

    Returns
    -------
    Tensor, shape (n, 3, *sites)
        Unit spins after the steps.

    Raises
    ------
    ValueError
        On negative ``steps`` or a non-positive ``step``.
    """
    if int(steps) < 0:
        raise ValueError(f"relax_steps: expected >= 0, got {steps}")
    if not step > 0:
        raise ValueError(f"step: expected > 0, got {step}")
    if int(steps) == 0:
        return spheres.normalize(states)
    unrolled = states.requires_grad
    if field_fn is not None:
        with torch.set_grad_enabled(unrolled):
            x = spheres.normalize(states)
            for _ in range(int(steps)):
                x = spheres.normalize(x + step * spheres.project_tangent(x, field_fn(x)))
        return x
    with torch.inference_mode(False), torch.enable_grad():
        x = spheres.normalize(states.clone() if torch.is_inference(states) else states)
        for _ in range(int(steps)):
            xx = x if unrolled else x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(energy_fn(xx).sum(), xx, create_graph=unrolled)
            x = spheres.normalize(x - step * spheres.project_tangent(x, g))
    return x if unrolled else x.detach()
