"""Meta-learning of the NEB parameters (gamma, mu, beta), Bushuev & Lobanov, Nanosystems 11, 642 (2020), Sec. 3.

The NEB map ``M(gamma, mu, beta)`` (:func:`latentopt.optimizers.neb_band.paper_step`: smooth
tangent, spring force, geodesic update; differentiable) is unrolled ``K`` times from a
random path ``S^(0)``. With ``Q[S]`` the maximum energy along the piecewise-geodesic path
(:func:`latentopt.optimizers.neb_path.path_maximum`, batched golden section + parabolic step,
differentiable by the envelope theorem) and ``Q0`` the exact saddle energy,

    Delta^(k) = Q[S^(k)] - Q0,   rho^(k) = Delta^(k+1) / Delta^(k),
    L[S^(0)] = (1/K) sum_{k=0}^{K-1} ln rho^(k),

and the training loss is the mean of ``L`` over ``P`` random paths. Its gradient with
respect to the parameters comes from torch autograd through the K unrolled steps (second
derivatives of the energy included). The parameters are optimized in log space (they stay
positive) by steepest descent with the Barzilai-Borwein step (the paper's choice; default)
or with Adam, each update checked against the loss of the current path set (backtracking,
see :func:`meta_learn`). Training paths are regenerated every epoch (``steps_per_epoch``
updates on one set, the paper: 20); a fixed held-out test set gives the test loss.

Differences from the paper: our NEB map works on the sphere (geodesic distances, tangent
projection, exponential-map update) where the paper used spherical coordinates, and the
spring term sits inside the step (:mod:`latentopt.optimizers.neb_band`), so the learned values
are not directly comparable with the paper's gamma = 0.077.

Paths, the barrier error ``Delta`` and the convergence benchmark (the paper's Figs. 1-2) are in
:mod:`latentopt.optimizers.neb_benchmark` (re-exported here).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from latentopt.physics import single_spin
from latentopt.torch_startup import optimizer_step

from .common import Checkpointer
from .neb_band import PARAMS, paper_step
from .neb_benchmark import BenchmarkResult, _seed, barrier_error, convergence_benchmark, path_set, random_paths
from .neb_path import EnergyFn

META_OPTIMIZERS = ("adam", "bb")

__all__ = ["PARAMS", "META_OPTIMIZERS", "random_paths", "path_set", "unrolled_loss", "MetaResult", "meta_learn",
           "convergence_benchmark", "BenchmarkResult"]


def unrolled_loss(energy_fn: EnergyFn, paths: torch.Tensor, gamma, mu, beta, K: int = 5, q0: float = 0.0,
                  climbing: bool = False, floor: float = 1e-30) -> torch.Tensor:
    """Mean convergence-rate loss ``(1/K) sum_k ln(Delta^(k+1) / Delta^(k))`` of each path (module docstring).

    Parameters
    ----------
    energy_fn : callable
    paths : Tensor, shape (P, m, 3, *sites)
    gamma, mu, beta : float or 0-d Tensor
        NEB parameters; gradients flow to tensors that require them.
    K : int
        Unrolled iterations (the paper: 5).
    q0 : float
        Exact maximum of the MEP (saddle energy).
    floor : float
        ``Delta`` is clamped to at least ``floor`` before the logarithm.

    Returns
    -------
    Tensor, shape (P,)
    """
    x = paths
    d_prev = barrier_error(energy_fn, x, q0).clamp_min(floor)
    total = torch.zeros_like(d_prev)
    for _ in range(int(K)):
        x = paper_step(x, energy_fn, gamma, mu, beta, climbing=climbing, create_graph=True)
        d = barrier_error(energy_fn, x, q0).clamp_min(floor)
        total = total + torch.log(d) - torch.log(d_prev)
        d_prev = d
    return total / int(K)


@dataclass
class MetaResult:
    """Result of :func:`meta_learn`.

    Attributes
    ----------
    params : dict
        Learned ``gamma``, ``mu``, ``beta``.
    initial : dict
        Starting values.
    train_loss : ndarray, shape (epochs * steps_per_epoch,)
        Training loss of every update (before it).
    test_loss : ndarray, shape (epochs + 1,)
        Held-out loss before the first epoch and after each epoch.
    param_history : ndarray, shape (epochs * steps_per_epoch + 1, 3)
        ``(gamma, mu, beta)`` before each update and at the end.
    wall_time : float
    settings : dict
    """

    params: dict
    initial: dict
    train_loss: np.ndarray
    test_loss: np.ndarray
    param_history: np.ndarray
    wall_time: float
    settings: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        """The ``meta/params.json`` contract: learned parameters with the train/test loss."""
        return dict(gamma=self.params["gamma"], mu=self.params["mu"], beta=self.params["beta"],
                    initial=self.initial, final_train_loss=float(self.train_loss[-1]) if len(self.train_loss) else None,
                    initial_test_loss=float(self.test_loss[0]), final_test_loss=float(self.test_loss[-1]),
                    train_loss=self.train_loss.tolist(), test_loss=self.test_loss.tolist(),
                    wall_time=self.wall_time, settings=self.settings)


def _group_loss(energy_fn, groups, gamma, mu, beta, K, q0, climbing):
    """Mean loss over all paths of all groups."""
    losses = [unrolled_loss(energy_fn, g, gamma, mu, beta, K, q0, climbing) for g in groups]
    n = sum(len(g) for g in groups)
    return sum(l.sum() for l in losses) / n


def _check_meta_settings(initial, learn, optimizer: str, **counts) -> list[float]:
    """The initial ``(gamma, mu, beta)`` as floats after checking the settings of :func:`meta_learn`.

    Raises
    ------
    ValueError
        On non-positive initial parameters, an unknown parameter or optimizer, a count below 1.
    """
    init = [float(v) for v in initial]
    if len(init) != 3 or not all(v > 0 and math.isfinite(v) for v in init):
        raise ValueError(f"initial: expected three positive numbers (gamma, mu, beta), got {initial!r}")
    bad = [p for p in learn if p not in PARAMS]
    if bad or not learn:
        raise ValueError(f"learn: expected a non-empty subset of {PARAMS}, got {list(learn)!r}")
    if optimizer not in META_OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {META_OPTIMIZERS}, got {optimizer!r}")
    for name, v in counts.items():
        if int(v) < 1:
            raise ValueError(f"{name}: expected >= 1, got {v}")
    return init


@dataclass(frozen=True)
class _Objective:
    """The unrolled loss (:func:`unrolled_loss`) with the fixed settings of one training run."""

    energy_fn: EnergyFn
    K: int
    q0: float
    climbing: bool

    def batch(self, paths: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """Mean loss over ``paths (P, m, 3, *sites)`` at ``p = (gamma, mu, beta)``, differentiable in ``p``."""
        return unrolled_loss(self.energy_fn, paths, p[0], p[1], p[2], self.K, self.q0, self.climbing).mean()

    def value(self, paths: torch.Tensor, theta: torch.Tensor) -> float:
        """Mean loss over ``paths`` at the log-parameters ``theta (3,)``, without a graph to ``theta``."""
        with torch.enable_grad():
            p = theta.detach().exp()
            return float(self.batch(paths, p).detach())

    def test(self, groups: list, theta: torch.Tensor) -> float:
        """Mean loss over all paths of ``groups`` (the held-out set) at the log-parameters ``theta``."""
        with torch.enable_grad():
            p = theta.detach().exp()
            return float(_group_loss(self.energy_fn, groups, p[0], p[1], p[2], self.K, self.q0, self.climbing).detach())

    def gradient(self, paths: torch.Tensor, theta: torch.Tensor, mask: torch.Tensor, epoch: int,
                 ) -> tuple[float, torch.Tensor]:
        """Mean loss over ``paths`` and its gradient in ``theta (3,)``, zero where ``mask`` is 0.

        Raises
        ------
        FloatingPointError
            On a non-finite loss or gradient (the NEB map diverged).
        """
        p = theta.exp()
        loss = self.batch(paths, p)
        (grad,) = torch.autograd.grad(loss, theta)
        grad = grad * mask
        if not torch.isfinite(grad).all() or not torch.isfinite(loss):
            raise FloatingPointError(f"meta_learn: non-finite loss or gradient at epoch {epoch} "
                                     f"(params {theta.detach().exp().tolist()}); lower lr or the initial gamma")
        return float(loss.detach()), grad


@dataclass
class _MetaState:
    """Training state between updates (what a checkpoint holds).

    ``theta`` the log-parameters ``(3,)`` (requires grad), ``adam`` its Adam optimizer, ``nu``
    the current Barzilai-Borwein step, ``step_scale`` the backtracking factor on the step
    (halved after a rejected update, doubled back to at most 1 after an accepted one);
    ``train``, ``test``, ``params`` the histories of :class:`MetaResult`; ``next`` the first
    epoch to run; ``elapsed`` the seconds of earlier sessions.
    """

    theta: torch.Tensor
    adam: torch.optim.Adam
    nu: float | None = None
    step_scale: float = 1.0
    train: list = field(default_factory=list)
    test: list = field(default_factory=list)
    params: list = field(default_factory=list)
    next: int = 0
    elapsed: float = 0.0

    @classmethod
    def start(cls, init: list[float], lr: float, state: dict | None, epochs: int) -> "_MetaState":
        """At ``log(init)``, or resumed from a checkpoint ``state`` not beyond ``epochs``."""
        theta = torch.tensor(init, dtype=torch.float64).log().requires_grad_(True)
        st = cls(theta=theta, adam=torch.optim.Adam([theta], lr=lr))
        if state is not None and state["next"] <= int(epochs):
            with torch.no_grad():
                theta.copy_(state["theta"])
            st.adam.load_state_dict(state["adam"])
            st.nu, st.step_scale = state["nu"], state["step_scale"]
            st.train, st.test, st.params = state["train"], state["test"], state["params"]
            st.next, st.elapsed = state["next"], state["elapsed"]
        return st

    def snapshot(self, next_epoch: int, seconds: float) -> dict:
        """Checkpoint state before epoch ``next_epoch``, ``seconds`` into this session."""
        return dict(theta=self.theta.detach().clone(), adam=self.adam.state_dict(), nu=self.nu,
                    step_scale=self.step_scale, train=self.train, test=self.test, params=self.params,
                    next=next_epoch, elapsed=self.elapsed + seconds)


def _epoch_paths(path_generator: Callable, n_paths: int, images: tuple[int, int], seed: int, epoch: int,
                 ) -> torch.Tensor:
    """The training paths of ``epoch``: one image count drawn from ``images`` (inclusive), seeded per epoch."""
    rng = np.random.default_rng(_seed("train-count", seed, epoch))
    m = int(rng.integers(images[0], images[1] + 1))
    return path_generator(int(n_paths), m, _seed("train", seed, epoch))


def _bb_step_size(theta: torch.Tensor, grad: torch.Tensor, bb_prev: tuple | None, nu: float | None,
                  step_scale: float, lr: float) -> float:
    """Barzilai-Borwein step (BB1, ``s.s / s.y``) from the secant to ``bb_prev = (theta, grad)``.

    Where the loss is not convex along the last step (``s.y <= 0``, e.g. ln rho is concave in
    ln gamma far below the stability edge) the step doubles instead; without a secant (a new
    path set, or after a rejected update) the last step times ``step_scale``, or ``lr`` at first.
    """
    if bb_prev is not None:
        ds, dg = theta - bb_prev[0], grad - bb_prev[1]
        sy = float((ds * dg).sum())
        return float((ds * ds).sum()) / sy if sy > 0 else 2.0 * nu
    return nu * step_scale if nu is not None else lr


def _adam_update(theta: torch.Tensor, grad: torch.Tensor, adam: torch.optim.Adam, lr: float,
                 max_log_step: float) -> None:
    """One Adam step of ``theta`` (in place) with learning rate ``lr``, clipped to ``max_log_step`` per parameter."""
    before = theta.detach().clone()
    theta.grad = grad
    for group in adam.param_groups:
        group["lr"] = lr
    optimizer_step(adam)
    step = (theta - before).clamp(-max_log_step, max_log_step)
    theta.copy_(before + step)


def _update(st: _MetaState, grad: torch.Tensor, bb_prev: tuple | None, *, optimizer: str, lr: float,
            max_log_step: float) -> tuple | None:
    """Move ``st.theta`` (in place, under no_grad) by one update of ``optimizer``; returns the new BB secant memory."""
    if optimizer == "adam":
        _adam_update(st.theta, grad, st.adam, lr * st.step_scale, max_log_step)
        return bb_prev
    st.nu = _bb_step_size(st.theta.detach(), grad, bb_prev, st.nu, st.step_scale, lr)
    bb_prev = (st.theta.detach().clone(), grad.clone())
    st.theta.sub_((st.nu * grad).clamp(-max_log_step, max_log_step))
    return bb_prev


def _meta_epoch(st: _MetaState, objective: _Objective, paths: torch.Tensor, mask: torch.Tensor, steps: int,
                epoch: int, **update) -> None:
    """``steps`` updates of ``st`` on one path set with backtracking (:func:`meta_learn`, ``optimizer``).

    An update that raises the loss on ``paths`` above the last accepted one is halved back
    towards it (and ``st.step_scale`` with it); the last update of the epoch is checked the
    same way and undone if it raises the loss. ``update``: ``optimizer``, ``lr``,
    ``max_log_step`` (:func:`_update`).
    """
    theta = st.theta
    prev = None          # last accepted (theta, loss, grad) on this batch
    bb_prev = None       # BB secant memory, reset with every new batch
    for _ in range(int(steps)):
        st.params.append(theta.detach().exp().tolist())
        lval, grad = objective.gradient(paths, theta, mask, epoch)
        st.train.append(lval)
        with torch.no_grad():
            if prev is not None and lval > prev[1]:
                # the step made the loss on this batch worse: go back half way (backtracking)
                theta.copy_(prev[0] + 0.5 * (theta.detach() - prev[0]))
                st.step_scale *= 0.5
                bb_prev = None
                continue
            prev = (theta.detach().clone(), lval, grad.clone())
            bb_prev = _update(st, grad, bb_prev, **update)
        st.step_scale = min(1.0, 2.0 * st.step_scale)  # recover after accepted steps
    if prev is not None and not objective.value(paths, theta) <= prev[1]:
        # the last proposed step must not worsen this batch either
        with torch.no_grad():
            theta.copy_(prev[0])
        st.step_scale *= 0.5


def meta_learn(energy_fn: EnergyFn | None = None, *, initial=(0.01, 1.0, 3.0), learn=PARAMS, q0: float | None = None,
               epochs: int = 200, steps_per_epoch: int = 20, n_paths: int = 100, n_test: int = 100,
               images: tuple[int, int] = (8, 14), perturbation: float = 0.05, bend: float = 0.0, K: int = 5,
               optimizer: str = "bb", lr: float = 0.05, max_log_step: float = 0.2, climbing: bool = False,
               seed: int = 0, path_generator: Callable | None = None, checkpoint=None, checkpoint_every: int = 1,
               progress: Callable[[int, float, float], None] | None = None) -> MetaResult:
    """Learn (gamma, mu, beta) of the NEB map by minimizing the unrolled convergence-rate loss.

    Parameters
    ----------
    energy_fn : callable, optional
        Default: the single-spin benchmark energy (K1 = 1, K2 = -2).
    initial : (gamma, mu, beta)
        Starting parameters (the paper: 0.01, 1, 3).
    learn : sequence of {"gamma", "mu", "beta"}
        Which parameters are trained (the others stay at their initial values).
    q0 : float, optional
        Exact saddle energy (default: the single-spin value 0).
    epochs, steps_per_epoch : int
        Path sets and updates per set (the paper: 200 and 20).
    n_paths, n_test : int
        Training paths per epoch and held-out test paths (the paper: 100).
    images : (int, int)
        Image-count range of the paths (the paper: 8 to 14). One count is drawn per epoch for
        the training set (all its paths share it); the test set mixes all counts.
    perturbation, bend : float
        Path randomization (:func:`random_paths`).
    K : int
        Unrolled NEB iterations in the loss (the paper: 5).
    optimizer : {"bb", "adam"}
        Steepest descent on the log-parameters with the Barzilai-Borwein step (the paper's
        choice; the secant memory restarts with every new path set, the first step is
        ``lr``; where the loss is not convex along the last step the step doubles), or Adam on
        the log-parameters with learning rate ``lr``. Every update is
        clipped to ``max_log_step`` per parameter. Within a path set the loss is a fixed
        function, so each update is checked on it: an update that raises the loss is halved
        back towards the last accepted parameters (and the step size with it) until it does
        not; the last update of an epoch is checked the same way. Without this safeguard both
        optimizers overshoot the edge of stability of the NEB map (gamma ~ 0.25 for the
        single spin) and Adam's per-parameter normalization lets the weakly determined mu and
        beta drift (measured: 200 epochs of plain Adam, lr 0.05, ended at gamma 0.92, mu ~ 0,
        beta 529 with a worse test loss than at the start).
    climbing : bool
        Use the climbing image inside M.
    seed : int
        Seeds the training sets (per epoch) and the test set.
    path_generator : callable, optional
        ``path_generator(n_paths, n_images, seed) -> (P, m, 3, *sites)`` for another system
        (default :func:`random_paths` with ``perturbation``, ``bend``).
    checkpoint : path, optional
        Saved after every ``checkpoint_every`` epochs; a rerun resumes bit-identically.
    progress : callable, optional
        ``progress(epoch, train_loss, test_loss)`` after each epoch.

    Returns
    -------
    MetaResult

    Raises
    ------
    ValueError
        On non-positive initial parameters, an unknown parameter or optimizer.
    """
    energy_fn = energy_fn or single_spin.energy_fn()
    q0 = single_spin.saddle_energy() if q0 is None else float(q0)
    init = _check_meta_settings(initial, learn, optimizer, epochs=epochs, steps_per_epoch=steps_per_epoch,
                                n_paths=n_paths, n_test=n_test, K=K)
    if path_generator is None:
        def path_generator(n, m, s):
            return random_paths(n, m, perturbation, bend, s)
    settings = dict(initial=init, learn=list(learn), q0=q0, epochs=epochs, steps_per_epoch=steps_per_epoch,
                    n_paths=n_paths, n_test=n_test, images=list(images), perturbation=perturbation, bend=bend, K=K,
                    optimizer=optimizer, lr=lr, max_log_step=max_log_step, climbing=climbing, seed=seed)
    mask = torch.tensor([p in learn for p in PARAMS], dtype=torch.float64)
    objective = _Objective(energy_fn, K, q0, climbing)
    test = path_set(n_test, images, seed=_seed("test", seed), path_generator=path_generator)
    # epochs is left out of the fingerprint: a longer rerun continues from the checkpoint
    ckpt = Checkpointer(checkpoint, {k: v for k, v in settings.items() if k != "epochs"}, checkpoint_every)
    st = _MetaState.start(init, lr, ckpt.load(), epochs)
    t0 = time.perf_counter()
    if not st.test:
        st.test.append(objective.test(test, st.theta))
    for epoch in range(st.next, int(epochs)):
        paths = _epoch_paths(path_generator, n_paths, images, seed, epoch)
        _meta_epoch(st, objective, paths, mask, steps_per_epoch, epoch, optimizer=optimizer, lr=lr,
                    max_log_step=max_log_step)
        st.test.append(objective.test(test, st.theta))
        if progress is not None:
            progress(epoch, st.train[-1], st.test[-1])
        seconds = time.perf_counter() - t0
        ckpt.maybe_save(epoch, lambda: st.snapshot(epoch + 1, seconds))
    st.elapsed += time.perf_counter() - t0
    final = st.theta.detach().exp().tolist()
    st.params.append(final)
    return MetaResult(params=dict(zip(PARAMS, final)), initial=dict(zip(PARAMS, init)),
                      train_loss=np.asarray(st.train), test_loss=np.asarray(st.test),
                      param_history=np.asarray(st.params), wall_time=st.elapsed, settings=settings)
