"""Direct search in spin space: the baseline of a latent-space optimization run, at equal evaluations.

A latent run (genetic, stochastic, single-code; Park et al. 2022) searches the codes of a
decoder; its baseline searches the spins themselves: ``B`` states of unit spins
``(B, 3, L, L)``, from random (infinite-temperature) or heat-bath (data set) states, each
moved by projected-gradient steps on the product of spheres ``(S^2)^(L^2)``. Both searches
get the same number of *evaluations*.

One evaluation is one objective value of one state. A latent run's evaluation is one
decoded state scored by the run's objective (with ``relax_steps = k``, a decode plus ``k``
fixed descent steps plus the score: still one evaluation; the k field computations come on
top, so the count is, if anything, generous to the latent run). A direct evaluation is one
state's objective value together with its gradient (one call of the state's
:func:`evaluator`): the closed-form field ``-dE/ds`` for the energy, a forward and backward
pass of the differentiable form (below) for the other objectives. :func:`latent_evaluations`
counts what the latent optimizers really evaluate:

- genetic: ``population`` states in every generation, elites included (they are decoded and
  scored again), ``restarts * generations`` generations;
- stochastic: ``samples`` states per iteration, for the iterations run (the run may stop
  early when sigma* collapses, ``sigma_tol``);
- single-code: ``codes`` states per Adam step, plus one final decode and score of all codes
  after the last step: ``codes * (iterations + 1)``.

The direct search spends ``B * steps`` evaluations with ``B`` the latent run's states per
iteration (population, samples, codes) and ``steps`` its iterations (+1 for single-code),
so that the budgets are equal by construction and best-so-far traces align per iteration.

Steps (no Python loop over sites; the batch is one tensor):

- energy: ``s <- (s + eta P h) / |s + eta P h|`` with the effective field ``h = -dE/ds``
  (:func:`latentopt.physics.torch_physics.effective_field`), ``P`` the projection on each
  spin's tangent plane and the fixed step ``eta =``
  :func:`latentopt.physics.minimize.descent_step` (1.5 / Lambda, below the stability limit;
  the update of :func:`latentopt.physics.minimize.descend`), minus the field for ``max``.
  The energy comes from the same field: ``E = -1/2 sum_i s_i . (h_i + B)`` (E is a quadratic
  form plus the Zeeman term, Euler's theorem), so one field evaluation gives value and
  gradient.
- W, M_z, C, C_BC: normalized projected-gradient ascent (descent for ``min``) on a
  differentiable form ``f`` of the objective: ``s <- (s + alpha d) / |s + alpha d|`` with
  ``d = +-P grad f``, ``alpha = tan(max_angle) / max_i |d_i|`` per state (the spin that turns
  most turns by ``max_angle``; the gradients of these averages are O(1/L^2) per spin and
  unscaled steps would not move). ``f`` is the objective itself for M_z, C, C_BC (linear or
  bilinear in the spins). For W it is the scalar chirality
  :func:`latentopt.physics.torch_physics.chirality_charge`: the lattice charge of Berg &
  Luscher (Nucl. Phys. B 190, 412 (1981)) that the latent runs maximize is an integer for
  every state, so its gradient on the spheres vanishes wherever it exists (checked in
  ``tests/test_baselines.py``); the chirality is its small-angle limit, smooth everywhere
  (gradient in closed form: :func:`latentopt.physics.torch_physics.chirality_charge_gradient`).
  The states are *scored* with the Berg & Luscher W, the objective of the latent run, in
  float64: the lattice-scale states this ascent makes have nearly antiparallel neighbours,
  where a triangle's solid angle ``2 atan2(N, 1 + ...)`` has ``N`` and the denominator both
  near 0 and float32 rounding gives W values off the integers (53.25 seen on a 16 x 16 test).

Scores are of the states as they are (``relax_steps`` is not applied: spin-space states
carry no decoder blur, and they are descended already). The best state is then polished
like the latent one (:func:`latentopt.studies.spins.polish_best`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from latentopt.physics import spheres
from latentopt.physics import torch_physics as tp
from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.physics.minimize import descent_step

from .common import OptimizationResult, Recorder, snapshot_iterations
from .objectives import Objective

__all__ = ["STATES_PER_ITERATION", "latent_evaluations", "search_plan", "Evaluator", "evaluator",
           "initial_states", "direct_search"]

#: the run setting that gives a latent algorithm's states per iteration
STATES_PER_ITERATION = {"genetic": "population", "stochastic": "samples", "single_code": "codes"}

#: ``(B, 3, L, L) -> (values (B,), ascent directions (B, 3, L, L))``: values in the natural sign,
#: directions in each spin's tangent plane, pointing where the objective improves
Evaluator = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _per_iteration(run: dict) -> int:
    try:
        return int(run[STATES_PER_ITERATION[run["algorithm"]]])
    except KeyError as exc:
        raise ValueError(f"run: expected an algorithm of {tuple(STATES_PER_ITERATION)} with its "
                         f"states-per-iteration setting, got {run}") from exc


def latent_evaluations(run: dict, iterations: int) -> int:
    """Objective evaluations (states scored) of a latent run that recorded ``iterations`` iterations.

    Parameters
    ----------
    run : dict
        The run block (``algorithm`` and ``population``, ``samples`` or ``codes``).
    iterations : int
        Entries of the run's ``objective`` trace (``restarts * generations`` for genetic,
        the iterations run for stochastic, ``iterations`` for single-code).

    Returns
    -------
    int
        ``population * iterations``, ``samples * iterations`` or ``codes * (iterations + 1)``
        (module docstring).

    Raises
    ------
    ValueError
        On an unknown algorithm or a negative ``iterations``.
    """
    if int(iterations) < 0:
        raise ValueError(f"iterations: expected >= 0, got {iterations}")
    extra = 1 if run.get("algorithm") == "single_code" else 0
    return _per_iteration(run) * (int(iterations) + extra)


def search_plan(run: dict, iterations: int) -> tuple[int, int]:
    """``(B, steps)`` of the direct search matching a latent run: states and steps, ``B * steps`` evaluations.

    ``B * steps == latent_evaluations(run, iterations)`` exactly.
    """
    batch = _per_iteration(run)
    return batch, latent_evaluations(run, iterations) // batch


def _energy_evaluator(model: ChiralMagnet, sign: float) -> Evaluator:
    b = torch.as_tensor(np.asarray(model.B, dtype=np.float64)).reshape(1, 3, 1, 1)
    n_sites = model.L ** 2

    def evaluate(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = tp.effective_field(x, model)
        e = -0.5 * ((h + b.to(x)) * x).sum(dim=(1, 2, 3)) / n_sites
        return e, spheres.project_tangent(x, -sign * h)  # min (sign -1): along +h, max: along -h

    return evaluate


def _gradient_evaluator(objective: Objective) -> Evaluator:
    """Values and directions of M_z, C, C_BC: the autograd gradient of the objective itself."""
    def evaluate(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            xx = x.detach().requires_grad_(True)
            f = objective.value(xx)
            (g,) = torch.autograd.grad(f.sum(), xx)
        return f.detach(), spheres.project_tangent(x, objective.sign * g)

    return evaluate


def _charge_evaluator(objective: Objective) -> Evaluator:
    """Values of W (Berg & Luscher, in float64) and directions from the chirality's closed-form gradient."""
    def evaluate(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, g = tp.chirality_charge_gradient(x)
        return objective.value(x.double()).to(x.dtype), spheres.project_tangent(x, objective.sign * g)

    return evaluate


def evaluator(objective: Objective, model: ChiralMagnet) -> tuple[Evaluator, str]:
    """The function giving values and ascent directions of states for ``objective`` (module docstring).

    Parameters
    ----------
    objective : Objective
        Without ``relax_steps`` (states are scored as they are).
    model : ChiralMagnet
        The Hamiltonian (energy objective).

    Returns
    -------
    evaluate : callable
        :data:`Evaluator`.
    form : str
        The differentiable form that gives the directions: ``"field"`` (energy),
        ``"chirality"`` (W), ``"exact"`` (M_z, C, C_BC).

    Raises
    ------
    ValueError
        If the objective has ``relax_steps``.
    """
    if objective.relax_steps:
        raise ValueError("direct search: expected an objective without relax_steps (states are scored as they are)")
    if objective.name == "energy":
        return _energy_evaluator(model, objective.sign), "field"
    if objective.name == "W":
        return _charge_evaluator(objective), "chirality"
    return _gradient_evaluator(objective), "exact"


def initial_states(n: int, L: int, init: str, seed: int, dataset: np.ndarray | None = None) -> np.ndarray:
    """``n`` initial states ``(n, 3, L, L)`` (float32): ``random`` unit spins or ``heatbath`` data-set states.

    ``heatbath`` draws ``n`` states of ``dataset`` (X_IN, ``(m, 3, L, L)``) without
    replacement when ``n <= m``, else with replacement, using ``seed``.

    Raises
    ------
    ValueError
        On an unknown ``init``, ``heatbath`` without a data set or with states of another size.
    """
    from latentopt.physics.states import random_states

    rng = np.random.default_rng(int(seed))
    if init == "random":
        return random_states(int(n), int(L), rng).astype(np.float32)
    if init != "heatbath":
        raise ValueError(f"baseline.init: expected 'random' or 'heatbath', got {init!r}")
    if dataset is None or len(dataset) == 0:
        raise ValueError("baseline.init heatbath: needs the data set's states")
    if tuple(dataset.shape[1:]) != (3, L, L):
        raise ValueError(f"baseline.init heatbath: data set states {dataset.shape[1:]}, expected (3, {L}, {L})")
    pick = rng.choice(len(dataset), size=int(n), replace=int(n) > len(dataset))
    return np.asarray(dataset[np.sort(pick)], dtype=np.float32)


@dataclass
class DirectResult:
    """What :func:`direct_search` produces.

    Attributes
    ----------
    result : OptimizationResult
        ``objective (steps,)`` best value of each step, ``best_spins (3, L, L)``,
        ``best_value``, ``snapshots``; ``best_z`` is ``[index]``, the best state's row in the
        batch, ``traces["mean_objective"]`` the batch mean per step.
    evaluations : ndarray of int, shape (steps,)
        Evaluations spent up to and including each step (``B``, ``2B``, ...).
    wall_time : float
        Seconds of the search (excluding polishing).
    form : str
        The differentiable form that gave the steps (:func:`evaluator`).
    """

    result: OptimizationResult
    evaluations: np.ndarray
    wall_time: float
    form: str


def direct_search(objective: Objective, model: ChiralMagnet, states: np.ndarray | torch.Tensor, steps: int, *,
                  max_angle: float = 0.1, n_snapshots: int = 8, device: torch.device | str = "cpu",
                  evaluate: Evaluator | None = None, progress: bool = False) -> DirectResult:
    """Search spin space from ``states`` for ``steps`` steps of one evaluation per state (module docstring).

    Parameters
    ----------
    objective : Objective
        The latent run's objective without ``relax_steps`` (natural sign, direction).
    model : ChiralMagnet
    states : array, shape (B, 3, L, L)
        Initial spins (normalized here); float32 like decoded states.
    steps : int
        Evaluations per state (>= 1): ``B * steps`` in all.
    max_angle : float
        Largest turn of any spin in one step of the non-energy objectives (radians, (0, pi]).
    n_snapshots : int
        Steps whose best state is kept.
    device : torch device
    evaluate : callable, optional
        Replaces :func:`evaluator` (tests count evaluations with it).
    progress : bool
        Show a progress bar.

    Returns
    -------
    DirectResult

    Raises
    ------
    ValueError
        On states that are not ``(B, 3, L, L)`` of the model's L, ``steps < 1`` or a bad ``max_angle``.
    DivergedError
        If an objective value is not finite (:class:`latentopt.optimizers.common.Recorder`).
    """
    x = torch.as_tensor(np.asarray(states) if not torch.is_tensor(states) else states)
    if x.ndim != 4 or x.shape[1] != 3 or x.shape[-1] != model.L or x.shape[-2] != model.L:
        raise ValueError(f"states: expected (B, 3, {model.L}, {model.L}), got {tuple(x.shape)}")
    if int(steps) < 1:
        raise ValueError(f"steps: expected >= 1, got {steps}")
    if not 0 < max_angle <= np.pi:
        raise ValueError(f"max_angle: expected an angle in (0, pi], got {max_angle}")
    form = "custom"
    if evaluate is None:
        evaluate, form = evaluator(objective, model)
    x = spheres.normalize(x.to(device, torch.float32))
    index = torch.arange(len(x), dtype=torch.float32)[:, None]
    rec = Recorder(objective.sign, snapshot_iterations(int(steps), n_snapshots))
    eta = descent_step(model) if objective.name == "energy" else None
    t0 = time.perf_counter()
    with torch.no_grad():
        for t in tqdm(range(int(steps)), desc=f"direct {objective.name}", disable=not progress):
            values, d = evaluate(x)
            rec.record(t, index, x, values, mean_objective=values.mean())
            if t == int(steps) - 1:
                break  # the last state is scored, not moved
            if eta is not None:  # fixed step of descend(): s <- normalize(s + eta d)
                x = spheres.normalize(x + eta * d)
            else:  # normalized step: the largest tangent displacement is tan(max_angle)
                big = spheres.spin_norm(d, 1).flatten(1).max(dim=1).values
                alpha = np.tan(max_angle) / big.clamp_min(torch.finfo(d.dtype).tiny)
                x = spheres.normalize(x + alpha.reshape(-1, 1, 1, 1) * d)
    wall = time.perf_counter() - t0
    evaluations = np.arange(1, int(steps) + 1, dtype=np.int64) * len(x)
    return DirectResult(result=rec.result(), evaluations=evaluations, wall_time=wall, form=form)
