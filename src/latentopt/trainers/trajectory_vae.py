"""Training the trajectory VAE (Biswas et al. 2023, Table 1 step 2) and using it.

:func:`train_trajectory_vae` shares the loop of the spin VAE (:func:`latentopt.trainers.common.fit`):
seeded, checkpointed after every epoch, and resumed exactly after an interruption.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from latentopt.models.trajectory_vae import TrajectoryVAE, trajectory_vae_loss
from latentopt.models.vae import as_device
from latentopt.trainers.common import batched_apply, data_checksum, fit, split_indices

__all__ = ["decode_trajectories", "encode_trajectories", "train_trajectory_vae"]


def train_trajectory_vae(
    trajectories: np.ndarray,
    *,
    latent_dim: int = 2,
    hidden: tuple[int, ...] = (256, 128),
    sigma: float = 0.3,
    beta: float = 1.0,
    epochs: int = 200,
    batch_size: int = 128,
    lr: float = 1e-3,
    val_fraction: float = 0.1,
    seed: int = 0,
    device: str | torch.device = "cpu",
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
) -> tuple[TrajectoryVAE, dict]:
    """Train a :class:`~latentopt.models.trajectory_vae.TrajectoryVAE` with Adam.

    The standardization (``offset``, ``scale``) is the mean and standard deviation of the
    training trajectories. Seeding, checkpointing and resuming follow
    :func:`latentopt.trainers.common.fit`; the checkpoint fingerprint holds every setting
    except ``epochs``, ``device``, ``progress``, plus the data shape and a checksum.

    Parameters
    ----------
    trajectories : ndarray, shape (n, T)
        Finite training trajectories (physical units), ``n >= 2``.
    latent_dim, hidden, sigma
        Architecture, see :class:`TrajectoryVAE`.
    beta : float
        KL weight, ``>= 0``.
    epochs, batch_size : int
    lr : float
        Adam learning rate.
    val_fraction : float
        Held-out fraction in ``[0, 1)``.
    seed : int
        Seed of the split, the weights, the batch order and the noise.
    device : str or torch.device
    checkpoint : path, optional
    progress : bool

    Returns
    -------
    model : TrajectoryVAE
        Trained, in eval mode, on ``device``.
    history : dict
        Per-epoch ``loss``, ``reconstruction``, ``kl``, ``val_loss``, ``val_reconstruction``,
        ``epoch_time``; ``train_indices``, ``val_indices``.

    Raises
    ------
    ValueError
        On a malformed ``trajectories`` array or out-of-range settings.
    """
    x = np.asarray(trajectories)
    if x.ndim != 2 or len(x) < 2 or not np.isfinite(x).all():
        raise ValueError(f"trajectories: expected a finite array (n >= 2, T), got shape {x.shape}")
    if epochs < 1 or batch_size < 1 or not lr > 0 or not beta >= 0:
        raise ValueError(f"epochs >= 1, batch_size >= 1, lr > 0 and beta >= 0 expected, got {epochs}, "
                         f"{batch_size}, {lr}, {beta}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    device = as_device(device)
    train_idx, val_idx = split_indices(len(x), val_fraction, seed)
    if len(train_idx) < 2:
        raise ValueError(f"trajectories: need at least 2 training samples, got {len(train_idx)}")
    train = x[train_idx]
    offset, scale = float(train.mean(dtype=np.float64)), float(train.std(dtype=np.float64))
    scale = scale if scale > 0 else 1.0
    fingerprint = dict(latent_dim=int(latent_dim), hidden=[int(h) for h in hidden], sigma=float(sigma),
                       beta=float(beta), batch_size=int(batch_size), lr=float(lr), val_fraction=float(val_fraction),
                       seed=int(seed), shape=list(x.shape), checksum=data_checksum(x))
    torch.manual_seed(seed)
    model = TrajectoryVAE(x.shape[1], latent_dim, hidden, sigma, offset, scale).to(device)
    data = torch.from_numpy(x)

    def loss_fn(m, batch, sample):
        return trajectory_vae_loss(m, batch, sample, beta)

    history = fit(model, loss_fn, data[torch.from_numpy(train_idx)], data[torch.from_numpy(val_idx)],
                  epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device, checkpoint=checkpoint,
                  fingerprint=fingerprint, progress=progress, desc="train trajectory VAE")
    return model, {**history, "train_indices": train_idx, "val_indices": val_idx}


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def encode_trajectories(model: TrajectoryVAE, trajectories: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Posterior means ``mu (n, latent_dim)`` (float64) of trajectories ``(n, T)``."""
    model.eval()
    mu = batched_apply(lambda x: model.encode(x)[0], trajectories, _device_of(model), batch_size, (model.latent_dim,))
    return mu.astype(np.float64)


def decode_trajectories(model: TrajectoryVAE, z: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Decoded trajectories ``(n, T)`` (float64, physical units) of codes ``z (n, latent_dim)``.

    Batched over codes, so a whole latent grid is decoded in one call.
    """
    model.eval()
    return batched_apply(model.decode, z, _device_of(model), batch_size, (model.T,)).astype(np.float64)
