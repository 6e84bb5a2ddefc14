"""Single-code modification algorithm (Park et al. 2022, Fig. 2a, Fig. 3 and Methods).

Each latent code ``z*`` (initialised at ``z`` ~ N(0, I)) is a trainable variable; Adam
(lr 1e-2, betas 0.9/0.999 in the paper) moves it to minimise the energy (or any
objective) of its decoded state, so the state relaxes towards a nearby local optimum of
the latent landscape: X_VAE -> X'_VAE, removing nodal points. Codes are independent;
a batch of them is optimised at once (the loss is the sum over codes).
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from latentopt.torch_startup import optimizer_step

from .common import Checkpointer, Decoder, OptimizationResult, Recorder, decode_chunked, snapshot_iterations
from .objectives import Objective


def single_code(decode: Decoder, objective: Objective, z0: torch.Tensor, *, iterations: int = 1000,
                lr: float = 1e-2, batch_size: int = 128, n_snapshots: int = 8,
                device: torch.device | str = "cpu", checkpoint=None, checkpoint_every: int = 25,
                progress: bool = False, context: dict | None = None) -> OptimizationResult:
    """Optimise each code of ``z0`` independently with Adam.

    Parameters
    ----------
    decode : callable
        ``decode(z: Tensor (m, N)) -> Tensor (m, 3, L, L)``, differentiable in ``z``.
    objective : Objective
        Usually energy / min.
    z0 : Tensor, shape (n, N)
        Initial codes.
    iterations : int
        Adam steps (paper: 10,000).
    lr : float
        Adam learning rate (paper: 1e-2).

    context : dict, optional
        Part of the checkpoint fingerprint (see :func:`latentopt.optimizers.genetic.genetic`).
    checkpoint, checkpoint_every, progress, device, batch_size, n_snapshots
        As for :func:`latentopt.optimizers.genetic.genetic`.

    Returns
    -------
    OptimizationResult
        ``objective``: best value over the codes at each iteration (before that
        iteration's step); ``final["z"] (n, N)`` the modified codes,
        ``final["spins"] (n, 3, L, L)`` their decoded states, ``final["value_history"]
        (iters, n)`` every code's value per iteration (the relax contract's
        ``energy_history`` for the energy objective), ``final["values"] (n,)`` the final values.
    """
    z0 = torch.as_tensor(z0, dtype=torch.float32)
    if z0.ndim != 2:
        raise ValueError(f"z0: expected (n, N) latent codes, got shape {tuple(z0.shape)}")
    settings = dict(algorithm="single_code", objective=objective.name, direction=objective.direction,
                    relax_steps=objective.relax_steps,
                    z0=z0.numpy().round(6).tolist(), iterations=iterations, lr=lr, n_snapshots=n_snapshots,
                    context=context or {})
    ckpt = Checkpointer(checkpoint, settings, checkpoint_every)
    z = z0.clone().to(device).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr, betas=(0.9, 0.999))
    rec = Recorder(objective.sign, snapshot_iterations(iterations, n_snapshots))
    history: list = []
    start = 0
    state = ckpt.load()
    if state is not None:
        with torch.no_grad():
            z.copy_(state["z"])
        opt.load_state_dict(state["optimizer"])
        rec.load_state_dict(state["recorder"])
        history, start = state["history"], state["next"]
    for it in tqdm(range(start, iterations), desc=f"single-code {objective.name}", disable=not progress,
                   initial=start, total=iterations):
        spins = decode_chunked(decode, z, batch_size)
        values = objective.value(spins)
        loss = (-objective.sign * values).sum()
        opt.zero_grad()
        loss.backward()
        optimizer_step(opt)
        history.append(values.detach().cpu().numpy())
        rec.record(it, z.detach(), spins.detach(), values.detach(), mean_objective=values.mean())
        ckpt.maybe_save(it, lambda: dict(z=z.detach().cpu(), optimizer=opt.state_dict(),
                                         recorder=rec.state_dict(), history=history, next=it + 1))
    with torch.inference_mode():
        spins = decode_chunked(decode, z, batch_size)
        values = objective.value(spins)
    return rec.result(final=dict(z=z.detach().cpu().numpy(), spins=spins.cpu().numpy(),
                                 values=values.cpu().numpy(),
                                 value_history=np.asarray(history).reshape(len(history), z.shape[0])))
