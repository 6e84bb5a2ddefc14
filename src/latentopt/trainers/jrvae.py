"""Training the jrVAE with per-epoch KL weights (Biswas et al. 2023, Eq. 1), and using it.

:func:`train_jrvae` trains a :class:`~latentopt.models.jrvae.JointVAE` (the jrVAE, or
the vanilla VAE baseline) with Adam for ``N`` epochs; epoch ``i`` uses the weights
``beta_c[i]``, ``beta_d[i]`` and the Gumbel-softmax temperature ``temperature[i]``
(pyroVED's ``trainer.step(loader, scale_factor=[beta_c, beta_d])`` once per epoch).
Seeding and checkpoints follow :mod:`latentopt.trainers.common` (its batch order and
checkpoint files); the reparameterisation and Gumbel noise come from a dedicated CPU
``torch.Generator`` saved in the checkpoint, so a resumed run equals an uninterrupted
one bit for bit on the CPU.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentopt.models.jrvae import JointVAE, jrvae_loss
from latentopt.models.vae import as_device
from latentopt.torch_startup import optimizer_step
from latentopt.trainers.common import (
    _batches,
    _load_checkpoint,
    _save_checkpoint,
    data_checksum,
)

__all__ = ["HISTORY_KEYS", "encode_images", "schedule_array", "temperature_schedule", "train_jrvae"]

#: per-epoch series of :func:`train_jrvae`
HISTORY_KEYS = ("loss", "reconstruction", "kl_c", "kl_d", "beta_c", "beta_d", "temperature", "epoch_time")


def schedule_array(value: float | np.ndarray, epochs: int, name: str) -> np.ndarray:
    """A per-epoch schedule ``(epochs,)`` float64 from a scalar (constant) or an array of that length.

    Raises
    ------
    ValueError
        If the length differs from ``epochs`` or a value is negative or not finite
        (the message names the schedule).
    """
    arr = np.asarray(value, dtype=np.float64)
    arr = np.full(int(epochs), float(arr)) if arr.ndim == 0 else arr.reshape(-1)
    if len(arr) != int(epochs):
        raise ValueError(f"{name}: expected {epochs} per-epoch values (N = epochs), got {len(arr)}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(f"{name}: expected finite values >= 0")
    return arr


def temperature_schedule(epochs: int, start: float = 1.0, end: float = 0.5) -> np.ndarray:
    """Geometric Gumbel-softmax annealing ``tau_i = start (end / start)^(i / (N - 1))``, shape (N,).

    Jang et al. 2017 anneal the temperature exponentially towards a floor; here from
    ``start`` at the first epoch to ``end`` at the last.

    Raises
    ------
    ValueError
        Unless ``epochs >= 1`` and ``start, end > 0``.
    """
    if int(epochs) < 1 or not start > 0 or not end > 0:
        raise ValueError(f"epochs >= 1 and positive temperatures expected, got {epochs}, {start}, {end}")
    if epochs == 1:
        return np.array([float(start)])
    return start * (end / start) ** (np.arange(int(epochs)) / (int(epochs) - 1))


def train_jrvae(
    images: np.ndarray,
    beta_c: float | np.ndarray,
    beta_d: float | np.ndarray = 3.0,
    *,
    model: Mapping[str, Any] | None = None,
    epochs: int | None = None,
    temperature: float | np.ndarray = 0.67,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device = "cpu",
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 10,
) -> tuple[JointVAE, dict[str, np.ndarray]]:
    """Train a jrVAE (or the vanilla VAE) on images with per-epoch KL weights.

    Parameters
    ----------
    images : ndarray, shape (n, H, W)
        Values in ``[0, 1]``, ``n >= 2``.
    beta_c, beta_d : float or ndarray of shape (N,)
        KL weights of the continuous and discrete latents per epoch (Eq. 1); a scalar is
        a constant schedule.
    model : mapping, optional
        :class:`~latentopt.models.jrvae.JointVAE` keyword arguments except ``H, W``
        (e.g. ``{"discrete_dim": 3, "decoder": "image"}``).
    epochs : int, optional
        ``N``; default the length of ``beta_c`` (which must then be an array).
    temperature : float or ndarray of shape (N,)
        Gumbel-softmax temperature per epoch (:func:`temperature_schedule`); used with
        ``discrete="gumbel"`` only.
    batch_size : int
    lr : float
        Adam learning rate (the paper: 1e-3 for MNIST, 1e-4 for the particles).
    seed : int
        Seeds the weights, the batch order and the noise.
    device : str or torch.device
    checkpoint : path, optional
        Saved every ``checkpoint_every`` epochs and at the end; a later call with the
        same settings and data resumes from it (:func:`latentopt.trainers.common.fit`'s
        rules: other settings are ignored with a warning).
    checkpoint_every : int

    Returns
    -------
    model : JointVAE
        Trained, in eval mode, on ``device``.
    history : dict
        :data:`HISTORY_KEYS` -> ``(N,)`` float64 arrays (per-sample means over the epoch).

    Raises
    ------
    ValueError
        On malformed images, schedules of the wrong length, or bad settings.
    """
    x = np.asarray(images)
    if x.ndim != 3 or len(x) < 2 or not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ValueError(f"images: expected a finite (n >= 2, H, W) array in [0, 1], got shape {x.shape}")
    if epochs is None:
        if np.ndim(beta_c) == 0:
            raise ValueError("epochs: required when beta_c is a scalar")
        epochs = len(np.asarray(beta_c).reshape(-1))
    epochs = int(epochs)
    if epochs < 1 or int(batch_size) < 1 or not lr > 0 or int(checkpoint_every) < 1:
        raise ValueError(f"epochs >= 1, batch_size >= 1, lr > 0, checkpoint_every >= 1 expected, got {epochs}, "
                         f"{batch_size}, {lr}, {checkpoint_every}")
    bc = schedule_array(beta_c, epochs, "beta_c")
    bd = schedule_array(beta_d, epochs, "beta_d")
    tau = schedule_array(temperature, epochs, "temperature")
    if (tau <= 0).any():
        raise ValueError("temperature: expected values > 0")
    hparams = dict(model or {})
    device = as_device(device)
    torch.manual_seed(seed)
    net = JointVAE(x.shape[1], x.shape[2], **hparams).to(device)
    data = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    fingerprint = dict(hparams={k: (list(v) if isinstance(v, tuple) else v) for k, v in net.hparams.items()},
                       beta_c=bc.tolist(), beta_d=bd.tolist(), temperature=tau.tolist(), batch_size=int(batch_size),
                       lr=float(lr), seed=int(seed), shape=list(x.shape), checksum=data_checksum(x))
    optimizer = torch.optim.Adam(net.parameters(), lr=lr, foreach=True)
    order = torch.Generator().manual_seed(int(seed))
    noise = torch.Generator().manual_seed(int(seed) + 0x9E3779B9)
    history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
    start = 0
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    state = _load_checkpoint(checkpoint, fingerprint, epochs) if checkpoint is not None else None
    if state is not None:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        order.set_state(state["generator_state"])
        noise.set_state(state["noise_state"])
        history = {key: list(state["history"][key]) for key in HISTORY_KEYS}
        start = int(state["epoch"])

    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        totals = _train_epoch(net, optimizer, data, int(batch_size), order, noise, device,
                              float(bc[epoch]), float(bd[epoch]), float(tau[epoch]))
        for key, value in zip(HISTORY_KEYS, totals + [bc[epoch], bd[epoch], tau[epoch], time.perf_counter() - t0]):
            history[key].append(float(value))
        if checkpoint is not None and ((epoch + 1) % int(checkpoint_every) == 0 or epoch + 1 == epochs):
            _save_checkpoint(checkpoint, {
                "epoch": epoch + 1, "fingerprint": fingerprint,
                "model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
                "optimizer": optimizer.state_dict(), "generator_state": order.get_state(),
                "noise_state": noise.get_state(), "history": history})
    net.eval()
    return net, {key: np.asarray(history[key], dtype=np.float64) for key in HISTORY_KEYS}


def _train_epoch(net: JointVAE, optimizer: torch.optim.Optimizer, data: torch.Tensor, batch_size: int,
                 order: torch.Generator, noise: torch.Generator, device: torch.device, beta_c: float, beta_d: float,
                 temperature: float) -> list[float]:
    """One epoch of Adam steps on the jrVAE loss (Biswas et al. 2023, Eq. 1) over shuffled batches of ``data``.

    Parameters
    ----------
    net : JointVAE
        Trained in place (put in train mode), on ``device``.
    optimizer : torch.optim.Optimizer
    data : Tensor, shape (n, H, W)
        Images on the CPU.
    batch_size : int
    order, noise : torch.Generator
        The batch order (:func:`latentopt.trainers.common._batches`) and the
        reparameterisation / Gumbel noise.
    device : torch.device
    beta_c, beta_d, temperature : float
        The epoch's KL weights and Gumbel-softmax temperature.

    Returns
    -------
    list of 4 floats
        Per-sample means over the epoch of ``[loss, reconstruction, kl_c, kl_d]``.
    """
    net.train()
    totals = torch.zeros(4, dtype=torch.float64, device=device)
    for idx in _batches(len(data), batch_size, order):
        batch = data[idx].to(device, non_blocking=True)
        terms = jrvae_loss(net, batch, beta_c, beta_d, temperature=temperature, generator=noise)
        optimizer.zero_grad(set_to_none=True)
        terms[0].backward()
        optimizer_step(optimizer)
        totals += torch.stack(terms).detach().double() * len(idx)
    return (totals / len(data)).tolist()


def encode_images(model: JointVAE, images: np.ndarray, batch_size: int = 1024) -> dict[str, np.ndarray]:
    """Posterior of images under a trained model, batched, in inference mode.

    Returns
    -------
    dict
        ``mu (n, z_dim)``, ``logvar (n, z_dim)``, ``content (n, content_dim)`` (the content
        part of ``mu``), ``angle (n,)`` (``phi`` in radians, zeros without rotation),
        ``probs (n, D_c)`` = ``q(c|x)`` and ``classes (n,)`` its argmax (``-1`` without
        classes); float64 / int64.
    """
    device = next(model.parameters()).device
    model.eval()
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    mus, logvars, probs = [], [], []
    with torch.inference_mode():
        for b in x.split(batch_size):
            mu, logvar, logits = model.encode(b.to(device))
            mus.append(mu.cpu()), logvars.append(logvar.cpu()), probs.append(torch.softmax(logits, 1).cpu())
    mu = torch.cat(mus) if mus else torch.zeros(0, model.z_dim)
    logvar = torch.cat(logvars) if logvars else torch.zeros(0, model.z_dim)
    prob = torch.cat(probs) if probs else torch.zeros(0, model.discrete_dim)
    phi, _, content = model.split(mu)
    classes = prob.argmax(1) if model.discrete_dim else torch.full((len(mu),), -1)
    return {"mu": mu.double().numpy(), "logvar": logvar.double().numpy(), "content": content.double().numpy(),
            "angle": phi.double().numpy(), "probs": prob.double().numpy(), "classes": classes.long().numpy()}
