"""Training of the energy-conditioned RUGAN: WGAN-GP with a consistency term.

Loss terms (WGAN-GP with a consistency term, Mills et al. 2019): :mod:`latentopt.trainers.wgan_losses`;
settings checks and the checkpoint fingerprint: :mod:`latentopt.trainers.gan_settings`; weight
averaging and batch-norm standing statistics: :mod:`latentopt.trainers.weight_averaging`; the
history file: :mod:`latentopt.trainers.gan_history`.

Optimizer: Adam with lr 1e-4, betas (0, 0.9), eps 1e-8 for both networks; ``n_critic``
(paper: 10) critic updates, each on a fresh batch of real states, per generator update.
Fakes for a critic update use the labels of that real batch; the generator update draws
its labels from the training labels. An epoch is one pass over the (shuffled) training
states in critic batches.

Every random draw comes from one ``torch.Generator`` seeded with ``seed`` (batch order,
translations, noise, labels, interpolation weights), apart from dropout, which uses the
global torch RNG (seeded with ``seed``; its state is checkpointed). With ``checkpoint``
set, everything is saved after every epoch and a later call resumes exactly.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from latentopt.models.rugan import RUGANCritic, RUGANGenerator
from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.torch_startup import optimizer_step
from latentopt.trainers.common import _load_checkpoint, _save_checkpoint
from latentopt.trainers.gan_history import GAN_HISTORY_KEYS, read_gan_history, write_gan_history
from latentopt.trainers.gan_settings import GANSettings, check_data, check_settings, checkpoint_fingerprint
from latentopt.trainers.vae import random_translations
from latentopt.trainers.wgan_losses import (consistency_term, energy_loss, generated_energy_monitor,
                                             gradient_penalty)
from latentopt.trainers.weight_averaging import recalibrate_batchnorm, update_average

__all__ = ["GAN_HISTORY_KEYS", "consistency_term", "gradient_penalty", "read_gan_history", "recalibrate_batchnorm",
           "train_rugan", "write_gan_history"]


def train_rugan(
    spins: np.ndarray,
    energies: np.ndarray,
    *,
    epochs: int,
    seed: int,
    batch_size: int = 64,
    n_critic: int = 10,
    lr: float = 1e-4,
    lr_critic: float | None = None,
    betas: Sequence[float] = (0.0, 0.9),
    lambda_gp: float = 10.0,
    lambda_ct: float = 2.0,
    ct_margin: float = 0.0,
    augment: bool = True,
    ema: float = 0.0,
    energy_weight: float = 0.0,
    energy_scales: Sequence[int] = (1,),
    generator: Mapping[str, Any] | None = None,
    critic: Mapping[str, Any] | None = None,
    model: ChiralMagnet | None = None,
    n_monitor: int = 256,
    device: str | torch.device = "cpu",
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
) -> tuple[RUGANGenerator, RUGANCritic, dict[str, Any]]:
    """Train an energy-conditioned RUGAN (WGAN-GP + consistency term) on states and their energies.

    Parameters
    ----------
    spins : ndarray, shape (n, 3, L, L)
        Training states (unit vectors), ``n >= 2``.
    energies : ndarray, shape (n,)
        Their labels, energy per spin (units of J).
    epochs : int
        Total epochs (including those of a resumed checkpoint), ``>= 1``.
    seed : int
        Seeds the initial weights, the dropout RNG and the training generator.
    batch_size : int
        Critic (and generator) batch size, ``>= 2``; capped at ``n``. A trailing partial
        batch of an epoch is dropped.
    n_critic : int
        Critic updates per generator update, ``>= 1`` (paper: 10).
    lr, betas : float, (float, float)
        Adam settings of both networks (paper: 1e-4, (0, 0.9)).
    lr_critic : float, optional
        A different critic learning rate (two time-scale update rule, Heusel et al.,
        NeurIPS 2017); ``lr`` when None.
    lambda_gp, lambda_ct : float
        Weights of the gradient penalty and the consistency term (paper: 10, 2).
    ct_margin : float
        Margin ``M'`` of the consistency term.
    augment : bool
        Random periodic translations of the real states (an exact symmetry of the
        Hamiltonian, :func:`latentopt.trainers.vae.random_translations`).
    ema : float
        Decay of an exponential moving average of the generator weights, updated after
        every generator update (Yazici et al., ICLR 2019); the averaged generator (with
        the batch-norm statistics of the live one) is monitored and returned. 0 returns
        the live generator.
    energy_weight : float
        Weight of an exact-energy term in the generator loss (not in the paper; 0 turns it
        off): ``mean(((e(G(z, l)) - l) / label_std)^2)`` with the differentiable exact
        energy per spin (:func:`latentopt.physics.torch_physics.energy_per_spin`),
        summed over ``energy_scales``. Requires ``model``.
    energy_scales : sequence of int
        Noise-block scales at which that term is evaluated (1: the generator batch;
        ``s > 1``: ``max(2, batch_size / s^2)`` extra states of ``s`` times the size, so
        the generator is also told the energy of its larger states, whose receptive
        field no longer wraps around the small torus).
    generator, critic : dict, optional
        Architecture keywords of :class:`RUGANGenerator` (except ``L`` and the label
        standardization) and :class:`RUGANCritic`.
    model : ChiralMagnet, optional
        When given, each epoch records the exact energy MAE and Pearson r between
        requested and realized energies of ``n_monitor`` states generated (eval mode)
        from fixed noise and fixed training labels (``energy_mae``, ``energy_r``).
    n_monitor : int
        States of that check.
    device : str or torch.device
    checkpoint : str or PathLike, optional
        Resume from / write to this file after every epoch. The fingerprint covers all
        settings but ``epochs``, ``device``, ``progress`` and ``checkpoint``, plus the
        data; a checkpoint that does not fit is ignored with a :class:`RuntimeWarning`.
        On the CPU a resumed run is bit-identical to an uninterrupted one (apart from
        ``epoch_time``).
    progress : bool
        tqdm bar over epochs.

    Returns
    -------
    generator : RUGANGenerator
        In eval mode, on ``device`` (the weight average with ``ema > 0``), with batch-norm
        statistics re-estimated for its final weights (:func:`recalibrate_batchnorm`, on
        ``max(4 batch_size, 256)`` fixed noise blocks and training labels); its hparams
        hold the label standardization.
    critic : RUGANCritic
        In eval mode.
    history : dict
        :data:`GAN_HISTORY_KEYS` -> lists of ``epochs`` floats (per-epoch means over the
        updates of the epoch; ``generator_loss`` is NaN in an epoch without a generator
        update), plus ``generator_steps`` (int).

    Raises
    ------
    ValueError
        On malformed data or out-of-range settings (the message names the argument).
    """
    spins, energies = check_data(spins, energies)
    cfg = check_settings(len(spins), epochs, batch_size=batch_size, n_critic=n_critic, lr=lr, lr_critic=lr_critic,
                         betas=betas, lambda_gp=lambda_gp, lambda_ct=lambda_ct, ct_margin=ct_margin, augment=augment,
                         ema=ema, energy_weight=energy_weight, energy_scales=energy_scales, seed=seed,
                         generator=generator, critic=critic, model=model, n_monitor=n_monitor, device=device)
    spins32 = np.ascontiguousarray(spins, dtype=np.float32)
    fingerprint = checkpoint_fingerprint(cfg, spins32, energies)
    run = _new_training(cfg, spins.shape[-1], float(energies.mean()), float(energies.std()) or 1.0)
    inputs = _training_inputs(cfg, spins32, energies, run.G)
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    state = _load_checkpoint(checkpoint, fingerprint, epochs) if checkpoint is not None else None
    if state is not None:
        _restore(run, state, cfg.device)
    _run_epochs(run, cfg, inputs, epochs, checkpoint, fingerprint, progress)
    recalibrate_batchnorm(run.G_avg, inputs.cal_z, inputs.cal_e, cfg.batch_size)
    run.C.eval()
    return run.G_avg, run.C, {**run.history, "generator_steps": run.g_steps}


# --- the steps of train_rugan -----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Inputs:
    """The training set on the CPU and the fixed noise of the monitoring and batch-norm calibration passes.

    ``data (n, 3, L, L)`` and ``labels (n,)`` float32; ``mon_z (n_mon, ...)``, ``mon_e (n_mon,)``
    (:func:`_monitor`) and ``cal_z (n_cal, ...)``, ``cal_e (n_cal,)`` (:func:`recalibrate_batchnorm`) on the device.
    """

    data: torch.Tensor
    labels: torch.Tensor
    mon_z: torch.Tensor
    mon_e: torch.Tensor
    cal_z: torch.Tensor
    cal_e: torch.Tensor


@dataclasses.dataclass
class _Training:
    """What a training run updates and a checkpoint holds.

    ``G_avg`` is ``G`` itself without EMA; ``epoch`` counts the finished epochs, ``step`` the
    critic updates and ``g_steps`` the generator updates (all across resumes).
    """

    G: RUGANGenerator
    C: RUGANCritic
    G_avg: RUGANGenerator
    opt_g: torch.optim.Adam
    opt_c: torch.optim.Adam
    rng: torch.Generator
    history: dict[str, list[float]]
    epoch: int = 0
    step: int = 0
    g_steps: int = 0


#: checkpoint entry -> the :class:`_Training` field whose ``state_dict`` it holds, in the order of loading
_CHECKPOINT_PARTS = {"generator": "G", "generator_avg": "G_avg", "critic": "C", "opt_generator": "opt_g",
                     "opt_critic": "opt_c"}


def _new_training(cfg: GANSettings, L: int, label_mean: float, label_std: float) -> _Training:
    """Fresh networks (weights from the global torch RNG, seeded with ``cfg.seed``), Adam and the training RNG."""
    torch.manual_seed(cfg.seed)
    G = RUGANGenerator(L, **cfg.generator, label_mean=label_mean, label_std=label_std).to(cfg.device)
    C = RUGANCritic(**cfg.critic, label_mean=label_mean, label_std=label_std).to(cfg.device)
    adam = dict(betas=tuple(cfg.betas), eps=1e-8)
    return _Training(G=G, C=C, G_avg=copy.deepcopy(G) if cfg.ema > 0 else G,
                     opt_g=torch.optim.Adam(G.parameters(), lr=cfg.lr, **adam),
                     opt_c=torch.optim.Adam(C.parameters(), lr=cfg.lr_critic, **adam),
                     rng=torch.Generator().manual_seed(cfg.seed), history={k: [] for k in GAN_HISTORY_KEYS})


def _training_inputs(cfg: GANSettings, spins32: np.ndarray, energies: np.ndarray, G: RUGANGenerator) -> _Inputs:
    """The training tensors and the fixed monitoring and calibration noise and labels.

    The fixed draws come from their own stream (seed ``cfg.seed + 1_000_003``), not from
    the training RNG; ``min(n_monitor, n)`` monitoring states (none without ``model``) and
    ``max(4 batch_size, 256)`` calibration states.
    """
    data = torch.from_numpy(spins32)
    labels = torch.from_numpy(energies.astype(np.float32))
    mon_rng = torch.Generator().manual_seed(cfg.seed + 1_000_003)
    n, noise_shape = len(labels), G.noise_shape(1)
    n_mon = int(min(cfg.n_monitor, n)) if cfg.model is not None else 0
    mon_z = torch.randn((n_mon, *noise_shape), generator=mon_rng).to(cfg.device)
    mon_e = labels[torch.randint(0, n, (n_mon,), generator=mon_rng)].to(cfg.device)
    n_cal = max(4 * cfg.batch_size, 256)
    cal_z = torch.randn((n_cal, *noise_shape), generator=mon_rng).to(cfg.device)
    cal_e = labels[torch.randint(0, n, (n_cal,), generator=mon_rng)].to(cfg.device)
    return _Inputs(data=data, labels=labels, mon_z=mon_z, mon_e=mon_e, cal_z=cal_z, cal_e=cal_e)


def _critic_step(run: _Training, cfg: GANSettings, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """One critic update on real states ``x (b, 3, L, L)`` with labels ``e (b,)`` (CPU).

    ``L_C = -W + lambda_gp GP + lambda_ct CT`` (module docstring) with fakes generated,
    without gradients, for the same labels. Draws from ``run.rng`` in this order: the
    translations (with ``augment``), the noise ``z``, the interpolation weights ``eps``.

    Returns
    -------
    Tensor, shape (4,), float64, CPU
        ``[L_C, W, GP, CT]`` of the update.
    """
    if cfg.augment:
        x = random_translations(x, run.rng)
    x, e = x.to(cfg.device), e.to(cfg.device)
    z = torch.randn((cfg.batch_size, *run.G.noise_shape(1)), generator=run.rng).to(cfg.device)
    eps = torch.rand(cfg.batch_size, generator=run.rng).to(cfg.device)
    with torch.no_grad():
        fake = run.G(z, e)
    ct, real_score = consistency_term(run.C, x, e, cfg.ct_margin)
    fake_score = run.C(fake, e)
    gp = gradient_penalty(run.C, x, fake, e, eps)
    w_est = real_score.mean() - fake_score.mean()
    loss_c = -w_est + cfg.lambda_gp * gp + cfg.lambda_ct * ct
    run.opt_c.zero_grad(set_to_none=True)
    loss_c.backward()
    optimizer_step(run.opt_c)
    return torch.stack([loss_c, w_est, gp, ct]).detach().double().cpu()


def _energy_term(run: _Training, cfg: GANSettings, fake: torch.Tensor, e: torch.Tensor,
                 labels: torch.Tensor) -> torch.Tensor:
    """The generator's exact-energy term (``energy_weight`` in :func:`train_rugan`), summed over ``energy_scales``.

    Scale 1 is the generator batch ``fake`` with labels ``e``; each scale ``s > 1`` adds
    ``max(2, batch_size // s^2)`` states of ``s`` times the size, from noise and labels drawn
    from ``run.rng``.
    """
    G = run.G
    loss = energy_loss(fake, e, cfg.model, G.label_std)
    for s in cfg.energy_scales:
        if s == 1:
            continue
        m = max(2, cfg.batch_size // (s * s))
        z = torch.randn((m, *G.noise_shape(s)), generator=run.rng).to(cfg.device)
        e_big = labels[torch.randint(0, len(labels), (m,), generator=run.rng)].to(cfg.device)
        loss = loss + energy_loss(G(z, e_big), e_big, cfg.model, G.label_std)
    return loss


def _generator_step(run: _Training, cfg: GANSettings, labels: torch.Tensor) -> tuple[float, float]:
    """One generator update, ``L_G = -E[C(G(z, l), l)]`` plus the weighted exact-energy term when it is on.

    The noise and then the labels (from the training labels ``(n,)``) are drawn from
    ``run.rng``. Returns ``(L_G, energy term)``, the latter 0 when ``energy_weight`` is 0.
    """
    z = torch.randn((cfg.batch_size, *run.G.noise_shape(1)), generator=run.rng).to(cfg.device)
    e = labels[torch.randint(0, len(labels), (cfg.batch_size,), generator=run.rng)].to(cfg.device)
    fake = run.G(z, e)
    loss_g = -run.C(fake, e).mean()
    loss_e = _energy_term(run, cfg, fake, e, labels) if cfg.energy_weight > 0 else None
    loss_total = loss_g if loss_e is None else loss_g + cfg.energy_weight * loss_e
    run.opt_g.zero_grad(set_to_none=True)
    loss_total.backward()
    optimizer_step(run.opt_g)
    run.g_steps += 1
    return float(loss_g.detach()), 0.0 if loss_e is None else float(loss_e.detach())


def _train_epoch(run: _Training, cfg: GANSettings, inputs: _Inputs) -> tuple[float, ...]:
    """One pass over the shuffled training states in critic batches (a trailing partial batch is dropped).

    A generator update (and the EMA update of ``G_avg``) follows every ``n_critic``-th
    critic update, counted across epochs.

    Returns
    -------
    tuple of 6 floats
        Means over the epoch's critic updates of ``L_C, W, GP, CT``, then over its
        generator updates of ``L_G`` and the energy term (NaN without a generator update;
        the energy term NaN when it is off).
    """
    run.G.train()
    run.C.train()
    n, b = len(inputs.data), cfg.batch_size
    sums = torch.zeros(4, dtype=torch.float64)  # critic_loss, wasserstein, gp, ct
    g_sum, e_sum, n_c, n_g = 0.0, 0.0, 0, 0
    perm = torch.randperm(n, generator=run.rng)
    for idx in perm[:n - n % b].split(b):
        sums += _critic_step(run, cfg, inputs.data[idx], inputs.labels[idx])
        n_c += 1
        run.step += 1
        if run.step % cfg.n_critic:
            continue
        loss_g, loss_e = _generator_step(run, cfg, inputs.labels)
        if cfg.ema > 0:
            update_average(run.G_avg, run.G, cfg.ema)
        g_sum, e_sum, n_g = g_sum + loss_g, e_sum + loss_e, n_g + 1
    means = (sums / max(n_c, 1)).tolist()
    e_mean = e_sum / n_g if (n_g and cfg.energy_weight > 0) else math.nan
    return (*means, g_sum / n_g if n_g else math.nan, e_mean)


def _record_epoch(history: dict[str, list[float]], values: Sequence[float]) -> None:
    """Append one epoch's values, in the order of :data:`GAN_HISTORY_KEYS`, to ``history``."""
    for key, value in zip(GAN_HISTORY_KEYS, values, strict=True):
        history[key].append(float(value))


def _checkpoint_state(run: _Training, fingerprint: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Everything a later call needs to resume exactly (weights on the CPU, optimizers, RNG states, history)."""
    return {
        "epoch": run.epoch, "step": run.step, "generator_steps": run.g_steps, "fingerprint": fingerprint,
        "generator": {k: v.detach().cpu() for k, v in run.G.state_dict().items()},
        "generator_avg": {k: v.detach().cpu() for k, v in run.G_avg.state_dict().items()},
        "critic": {k: v.detach().cpu() for k, v in run.C.state_dict().items()},
        "opt_generator": run.opt_g.state_dict(), "opt_critic": run.opt_c.state_dict(),
        "torch_rng_state": torch.get_rng_state(),
        "cuda_rng_state": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        "rng_state": run.rng.get_state(), "history": run.history,
    }


def _restore(run: _Training, state: Mapping[str, Any], device: torch.device) -> None:
    """Load a checkpoint of :func:`_checkpoint_state` into ``run`` (and the global torch RNG)."""
    for key, attr in _CHECKPOINT_PARTS.items():
        getattr(run, attr).load_state_dict(state[key])
    torch.set_rng_state(state["torch_rng_state"])
    if device.type == "cuda" and state.get("cuda_rng_state") is not None:
        torch.cuda.set_rng_state(state["cuda_rng_state"], device)
    run.rng.set_state(state["rng_state"])
    run.history = {k: list(state["history"][k]) for k in GAN_HISTORY_KEYS}
    run.epoch, run.step, run.g_steps = int(state["epoch"]), int(state["step"]), int(state["generator_steps"])


def _run_epochs(run: _Training, cfg: GANSettings, inputs: _Inputs, epochs: int, checkpoint: Path | None,
                fingerprint: dict[str, Any], progress: bool) -> None:
    """Train from epoch ``run.epoch`` to ``epochs``: each epoch's updates, monitoring, history and checkpoint."""
    bar = tqdm(range(run.epoch, epochs), initial=run.epoch, total=epochs, disable=not progress, desc="train RUGAN",
               unit="epoch")
    for epoch in bar:
        t0 = time.perf_counter()
        losses = _train_epoch(run, cfg, inputs)
        if cfg.ema > 0:  # the averaged weights need their own batch-norm statistics
            recalibrate_batchnorm(run.G_avg, inputs.cal_z, inputs.cal_e, cfg.batch_size)
        mae, r = generated_energy_monitor(run.G_avg, cfg.model, inputs.mon_z, inputs.mon_e)
        if cfg.device.type == "cuda":
            torch.cuda.synchronize(cfg.device)
        _record_epoch(run.history, (*losses, mae, r, time.perf_counter() - t0))
        run.epoch = epoch + 1
        bar.set_postfix(W=f"{losses[1]:.3g}", mae=f"{mae:.3g}", r=f"{r:.3f}")
        if checkpoint is not None:
            _save_checkpoint(checkpoint, _checkpoint_state(run, fingerprint, cfg.device))
    bar.close()
