"""Stochastic algorithm: optimise a Gaussian in the latent space (Park et al. 2022, Fig. 2c, Fig. 5).

Trainable ``mu*`` (init 0) and ``sigma*`` (init 1), both ``(N,)``. Each iteration draws
``K`` codes ``z = mu* + sigma* eps`` (reparameterisation, eps ~ N(0, I)), decodes them and
minimises with Adam

    L = <Q> + gamma * KL(N(mu*, sigma*^2) || N(0, I)),
    KL = 1/2 sum_n (sigma_n^2 + mu_n^2 - ln sigma_n^2 - 1)        (the paper's Eq. 2),

with ``Q = -value`` for maximisation and ``Q = value`` for minimisation, averaged over the
K samples. ``gamma`` starts at ``gamma0`` and is divided by 10 every ``gamma_every``
iterations (paper: gamma0 = 1, every 10,000 iterations). The run stops when
``max |sigma*| < sigma_tol`` (the distribution has collapsed onto one code) or at
``iterations``.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from latentopt.torch_startup import optimizer_step

from .common import Checkpointer, Decoder, OptimizationResult, Recorder, decode_chunked, snapshot_iterations
from .objectives import Objective


def gaussian_kl(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, sigma^2) || N(0, I)) = 1/2 sum (sigma^2 + mu^2 - ln sigma^2 - 1)`` (scalar)."""
    var = sigma**2
    return 0.5 * (var + mu**2 - torch.log(var) - 1.0).sum()


def stochastic(decode: Decoder, objective: Objective, latent_dim: int, *, samples: int = 100,
               iterations: int = 1000, lr: float = 1e-2, gamma0: float = 1.0, gamma_every: int = 10000,
               sigma_tol: float = 1e-3, seed: int = 0, batch_size: int = 128, n_snapshots: int = 8,
               device: torch.device | str = "cpu", checkpoint=None, checkpoint_every: int = 25,
               progress: bool = False, context: dict | None = None) -> OptimizationResult:
    """Run the stochastic algorithm (module docstring).

    Parameters
    ----------
    decode : callable
        ``decode(z: Tensor (m, N)) -> Tensor (m, 3, L, L)``, differentiable in ``z``.
    objective : Objective
    latent_dim : int
    samples : int
        K, codes drawn per iteration (paper: 100).
    iterations : int
        Iteration cap.
    lr : float
        Adam learning rate (paper: 1e-2, betas 0.9/0.999).
    gamma0, gamma_every : float, int
        KL weight schedule.
    sigma_tol : float
        Convergence threshold on ``max |sigma*|``.
    seed : int
        Seeds the eps draws.

    context : dict, optional
        Part of the checkpoint fingerprint (see :func:`latentopt.optimizers.genetic.genetic`).
    checkpoint, checkpoint_every, progress, device, batch_size, n_snapshots
        As for :func:`latentopt.optimizers.genetic.genetic`.

    Returns
    -------
    OptimizationResult
        ``objective``: best sampled value per iteration; traces ``mean_objective``,
        ``max_sigma``, ``gamma``, ``loss``; final ``mu`` and ``sigma`` ``(N,)``.
    """
    if samples < 1:
        raise ValueError(f"samples: expected >= 1, got {samples}")
    settings = dict(algorithm="stochastic", objective=objective.name, direction=objective.direction,
                    relax_steps=objective.relax_steps,
                    latent_dim=latent_dim, samples=samples, iterations=iterations, lr=lr, gamma0=gamma0,
                    gamma_every=gamma_every, sigma_tol=sigma_tol, seed=seed, n_snapshots=n_snapshots,
                    context=context or {})
    ckpt = Checkpointer(checkpoint, settings, checkpoint_every)
    gen = torch.Generator().manual_seed(int(seed))
    mu = torch.zeros(latent_dim, device=device, requires_grad=True)
    sigma = torch.ones(latent_dim, device=device, requires_grad=True)
    opt = torch.optim.Adam([mu, sigma], lr=lr, betas=(0.9, 0.999))
    rec = Recorder(objective.sign, snapshot_iterations(iterations, n_snapshots))
    start = 0
    state = ckpt.load()
    if state is not None:
        with torch.no_grad():
            mu.copy_(state["mu"])
            sigma.copy_(state["sigma"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        rec.load_state_dict(state["recorder"])
        start = iterations if state["converged"] else state["next"]
    completed = start
    for it in tqdm(range(start, iterations), desc=f"stochastic {objective.name}", disable=not progress,
                   initial=start, total=iterations):
        gamma = gamma0 * 0.1 ** (it // gamma_every)
        eps = torch.randn(samples, latent_dim, generator=gen).to(device)
        z = mu + sigma * eps
        spins = decode_chunked(decode, z, batch_size)
        values = objective.value(spins)
        loss = (-objective.sign * values).mean() + gamma * gaussian_kl(mu, sigma)
        opt.zero_grad()
        loss.backward()
        optimizer_step(opt)
        max_sigma = float(sigma.detach().abs().max())
        converged = max_sigma < sigma_tol
        if converged:
            rec.snapshot_at.add(it)
        rec.record(it, z.detach(), spins.detach(), values.detach(), mean_objective=values.mean(),
                   max_sigma=max_sigma, gamma=gamma, loss=loss)
        completed = it + 1
        ckpt.maybe_save(it, lambda: dict(mu=mu.detach().cpu(), sigma=sigma.detach().cpu(),
                                         optimizer=opt.state_dict(), generator=gen.get_state(),
                                         recorder=rec.state_dict(), next=completed, converged=converged),
                        force=converged)
        if converged:
            break
    return rec.result(final=dict(mu=mu.detach().cpu().numpy(), sigma=sigma.detach().cpu().numpy(),
                                 iterations_run=len(rec.objective)))
