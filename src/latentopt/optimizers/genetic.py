"""Genetic algorithm in the latent space (Park et al. 2022, Fig. 2b, Fig. 4 and Methods).

Individuals are latent codes ``z`` (genes: their components). Each generation is decoded
and evaluated in batches; the next generation keeps the ``elitism`` best individuals and
fills the rest with children made by roulette-wheel selection of two parents, uniform
crossover and random-reset mutation (each gene replaced by a draw from N(0, 1) with
probability ``mutation_rate``, so offspring stay in the region the VAE prior covers).

Restarts: with ``restarts = R > 1`` the algorithm runs R independent populations one after
another, ``generations`` each; every restart begins from fresh N(0, I) codes (no elite is
carried over, so a restart cannot be pulled back into the basin of an earlier one) and the
run's best is the best over all of them. A population converges to one physical state
(its codes differ, their decoded states relax to the same minimum), so restarts are what
buys independent tries at a narrow optimum.

Selection pressure (the paper uses 8 for W and M_z, 5 for C and energy): with fitness
``f_i`` (objective value for maximisation, its negative for minimisation), individual i
is drawn with probability

    p_i = exp(P (f_i - f_max) / (f_max - f_min)) / sum_j exp(P (f_j - f_max) / (f_max - f_min)),

i.e. a Boltzmann weight of the min-max normalised fitness: the best individual is
``exp(P)`` times as likely as the worst, independent of the objective's scale and offset
(P = 0 is uniform selection). When all fitnesses are equal the selection is uniform.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from .common import Checkpointer, Decoder, OptimizationResult, Recorder, decode_chunked, snapshot_iterations
from .objectives import Objective


def selection_probabilities(fitness: torch.Tensor, pressure: float) -> torch.Tensor:
    """Roulette-wheel probabilities ``(m,)`` from fitness ``(m,)`` (larger is better); see module doc.

    Non-finite fitness values get the lowest finite fitness.
    """
    f = fitness.double()
    finite = torch.isfinite(f)
    if not finite.any():
        return torch.full_like(f, 1.0 / f.numel())
    f = torch.where(finite, f, f[finite].min())
    span = f.max() - f.min()
    if span <= 0:
        return torch.full_like(f, 1.0 / f.numel())
    w = torch.exp(pressure * (f - f.max()) / span)
    return w / w.sum()


def breed(population: torch.Tensor, fitness: torch.Tensor, *, selection_pressure: float,
          mutation_rate: float, elitism: int, generator: torch.Generator) -> torch.Tensor:
    """Next generation ``(P, N)`` from the current one ``(P, N)`` and its fitness ``(P,)`` (CPU tensors).

    The first ``elitism`` rows are the best current individuals, unchanged; each other row is
    a child of two roulette-selected parents (uniform crossover, random-reset mutation).
    """
    P, N = population.shape
    n_children = P - elitism
    probs = selection_probabilities(fitness, selection_pressure)
    parents = torch.multinomial(probs, 2 * n_children, replacement=True, generator=generator).view(n_children, 2)
    take_first = torch.rand(n_children, N, generator=generator) < 0.5
    children = torch.where(take_first, population[parents[:, 0]], population[parents[:, 1]])
    mutate = torch.rand(n_children, N, generator=generator) < mutation_rate
    children = torch.where(mutate, torch.randn(n_children, N, generator=generator), children)
    elite = population[torch.argsort(fitness, descending=True)[:elitism]]
    return torch.cat([elite, children])


def genetic(decode: Decoder, objective: Objective, latent_dim: int, *, population: int = 100,
            generations: int = 100, selection_pressure: float = 8.0, mutation_rate: float = 0.01,
            elitism: int = 1, restarts: int = 1, seed: int = 0, batch_size: int = 128, n_snapshots: int = 8,
            device: torch.device | str = "cpu", checkpoint=None, checkpoint_every: int = 25,
            progress: bool = False, context: dict | None = None) -> OptimizationResult:
    """Run the genetic algorithm; every generation's best individual is recorded.

    Parameters
    ----------
    decode : callable
        ``decode(z: Tensor (m, N)) -> Tensor (m, 3, L, L)`` on ``device`` (eval mode).
    objective : Objective
    latent_dim : int
        N, the latent dimension.
    population : int
        Individuals per generation (paper: 100).
    generations : int
        Number of generations evaluated (paper: 10,000 iterations).
    selection_pressure : float
        P of the roulette wheel (module docstring); paper: 8 (W, M_z), 5 (C, energy).
    mutation_rate : float
        Per-gene probability of a random reset (paper: 0.01).
    elitism : int
        Best individuals copied unchanged into the next generation (0 .. population - 1).
    restarts : int
        Independent populations run one after another (module docstring); >= 1.
    seed : int
        Seeds the initial population and all genetic operators.
    batch_size : int
        Decoding chunk size.
    n_snapshots : int
        Number of generations whose best state is kept.
    device : torch device
    checkpoint : path, optional
        File to checkpoint to every ``checkpoint_every`` generations and resume from.
    progress : bool
        Show a progress bar.
    context : dict, optional
        What else the run depends on (e.g. digests of the decoder weights, the Hamiltonian,
        the boundary map); part of the checkpoint fingerprint so that a checkpoint is never
        reused for another decoder or system.

    Returns
    -------
    OptimizationResult
        ``objective`` has one entry per generation (``restarts * generations``, restart r
        occupying entries ``r * generations`` to ``(r + 1) * generations - 1``);
        ``traces["mean_objective"]`` the population mean; ``final["population"]`` the last
        generation ``(P, N)``.

    Raises
    ------
    ValueError
        On a population below 2, an elitism outside [0, population) or restarts below 1.
    """
    if population < 2:
        raise ValueError(f"population: expected >= 2, got {population}")
    if not 0 <= elitism < population:
        raise ValueError(f"elitism: expected 0 <= elitism < population, got {elitism}")
    if restarts < 1:
        raise ValueError(f"restarts: expected >= 1, got {restarts}")
    settings = dict(algorithm="genetic", objective=objective.name, direction=objective.direction,
                    relax_steps=objective.relax_steps,
                    latent_dim=latent_dim, population=population, generations=generations,
                    selection_pressure=selection_pressure, mutation_rate=mutation_rate,
                    elitism=elitism, restarts=restarts, seed=seed, n_snapshots=n_snapshots, context=context or {})
    ckpt = Checkpointer(checkpoint, settings, checkpoint_every)
    gen = torch.Generator().manual_seed(int(seed))
    pop = torch.randn(population, latent_dim, generator=gen)
    total = restarts * generations
    rec = Recorder(objective.sign, snapshot_iterations(total, n_snapshots))
    start = 0
    state = ckpt.load()
    if state is not None:
        pop, start = state["population"], state["next"]
        gen.set_state(state["generator"])
        rec.load_state_dict(state["recorder"])
    for g in tqdm(range(start, total), desc=f"genetic {objective.name}", disable=not progress,
                  initial=start, total=total):
        with torch.inference_mode():
            spins = decode_chunked(decode, pop.to(device), batch_size)
            values = objective.value(spins)
        rec.record(g, pop, spins, values, mean_objective=values.mean())
        if g < total - 1:
            if (g + 1) % generations == 0:  # restart: fresh codes, nothing carried over
                pop = torch.randn(population, latent_dim, generator=gen)
            else:
                pop = breed(pop, (objective.sign * values).cpu(), selection_pressure=selection_pressure,
                            mutation_rate=mutation_rate, elitism=elitism, generator=gen)
        ckpt.maybe_save(g, lambda: dict(population=pop, next=g + 1, generator=gen.get_state(),
                                         recorder=rec.state_dict()))
    return rec.result(final=dict(population=pop.numpy()))
