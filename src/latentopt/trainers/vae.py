"""Training loop of the spin VAE (Park et al. 2022, Sci. Rep., Methods; loss Eq. 1-2).

:func:`train_vae` is deterministic given ``seed`` and checkpoints after every epoch: a
run that is interrupted and started again with the same checkpoint file ends with
exactly the same weights and history (on the CPU) as an uninterrupted run.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from latentopt.io import atomic_path, write_h5
from latentopt.models.vae import SpinVAE, as_device, vae_loss

__all__ = ["HISTORY_KEYS", "decode", "encode_mean", "split_indices", "train_vae", "write_history"]

#: Per-epoch series recorded by :func:`train_vae`.
HISTORY_KEYS = ("loss", "reconstruction", "kl", "val_loss", "val_reconstruction", "epoch_time")


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of ``range(n)`` into training and validation indices.

    The validation set has ``round(n * val_fraction)`` samples, at least one when
    ``val_fraction > 0`` and ``n > 1``.

    Parameters
    ----------
    n : int
        Number of samples.
    val_fraction : float
        Fraction of samples held out, in ``[0, 1)``.
    seed : int
        Seed of the :func:`numpy.random.default_rng` permutation.

    Returns
    -------
    train_idx, val_idx : ndarray of int64
        Sorted, disjoint, together ``range(n)``.

    Raises
    ------
    ValueError
        If ``val_fraction`` is outside ``[0, 1)`` or the training set would be empty.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction: expected a value in [0, 1), got {val_fraction}")
    n_val = int(round(n * val_fraction))
    if val_fraction > 0 and n > 1:
        n_val = max(n_val, 1)
    if n - n_val < 1:
        raise ValueError(f"split_indices: no training samples left (n={n}, val_fraction={val_fraction})")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_val:]).astype(np.int64), np.sort(perm[:n_val]).astype(np.int64)


def _validate_spins(spins: np.ndarray) -> np.ndarray:
    """Check ``spins`` is a finite ``(n, 3, L, L)`` array; return it as float32."""
    spins = np.asarray(spins)
    if spins.ndim != 4 or spins.shape[1] != 3 or spins.shape[2] != spins.shape[3]:
        raise ValueError(f"spins: expected shape (n, 3, L, L), got {spins.shape}")
    if spins.shape[0] < 2:
        raise ValueError(f"spins: need at least 2 samples, got {spins.shape[0]}")
    if not np.issubdtype(spins.dtype, np.floating):
        raise ValueError(f"spins: expected a float array, got dtype {spins.dtype}")
    if not np.isfinite(spins).all():
        raise ValueError("spins: contains NaN or inf")
    return np.ascontiguousarray(spins, dtype=np.float32)


def _data_checksum(spins: np.ndarray) -> list[float]:
    """Cheap fingerprint of a data set: total sum and index-weighted sum of sample sums.

    The second number changes when samples are reordered, which the first does not see.
    """
    per_sample = spins.reshape(len(spins), -1).sum(axis=1, dtype=np.float64)
    weights = np.arange(1, len(spins) + 1, dtype=np.float64)
    return [float(per_sample.sum()), float(per_sample @ weights)]


def _batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches of ``range(n)``.

    A trailing batch of a single sample is merged into the previous one, since
    BatchNorm cannot normalise a batch of one in training mode.
    """
    batches = list(torch.randperm(n, generator=generator).split(batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2:] = [torch.cat(batches[-2:])]
    return batches


def random_translations(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shift each state of ``x (n, 3, L, L)`` by its own random periodic lattice translation.

    Translations are an exact symmetry of the periodic Hamiltonian (any DMI type, field and
    anisotropy), so translated states are equally valid training data.
    """
    n, _, L_y, L_x = x.shape
    dy = torch.randint(0, L_y, (n,), generator=generator)
    dx = torch.randint(0, L_x, (n,), generator=generator)
    rows = (torch.arange(L_y)[None, :] - dy[:, None]) % L_y  # (n, L_y): source row of each target row
    cols = (torch.arange(L_x)[None, :] - dx[:, None]) % L_x
    return x[torch.arange(n)[:, None, None, None], torch.arange(3)[None, :, None, None],
             rows[:, None, :, None], cols[:, None, None, :]]


def _train_epoch(model: SpinVAE, optimizer: torch.optim.Optimizer, data: torch.Tensor, beta: float,
                 batch_size: int, generator: torch.Generator, device: torch.device,
                 augment: bool = False) -> list[float]:
    """One pass over ``data`` (CPU tensor); return sample-averaged ``[loss, reconstruction, kl]``."""
    model.train()
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    for idx in _batches(len(data), batch_size, generator):
        x = data[idx]
        if augment:
            x = random_translations(x, generator)
        x = x.to(device, non_blocking=True)
        x_out, mu, logvar = model(x, sample=True)
        terms = vae_loss(x, x_out, mu, logvar, beta)
        optimizer.zero_grad(set_to_none=True)
        terms[0].backward()
        optimizer.step()
        totals += torch.stack(terms).detach().double() * len(idx)
    return (totals / len(data)).tolist()


@torch.no_grad()
def _evaluate(model: SpinVAE, data: torch.Tensor, beta: float, batch_size: int,
              device: torch.device) -> list[float]:
    """Sample-averaged ``[loss, reconstruction]`` in eval mode with ``z = mu``; NaN if no data."""
    if len(data) == 0:
        return [math.nan, math.nan]
    model.eval()
    totals = torch.zeros(2, dtype=torch.float64, device=device)
    for x in data.split(batch_size):
        x = x.to(device, non_blocking=True)
        loss, reconstruction, _ = vae_loss(x, *model(x, sample=False), beta)
        totals += torch.stack([loss, reconstruction]).double() * len(x)
    return (totals / len(data)).tolist()


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _load_checkpoint(path: Path, fingerprint: dict[str, Any], epochs: int) -> dict[str, Any] | None:
    """Read a checkpoint to resume from, or return None (with a warning) if it does not fit."""
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        warnings.warn(f"{path}: unreadable checkpoint ignored, training from scratch ({exc})",
                      RuntimeWarning, stacklevel=3)
        return None
    if not isinstance(state, dict) or state.get("fingerprint") != fingerprint:
        warnings.warn(f"{path}: checkpoint was made with other settings or data; ignored, "
                      "training from scratch", RuntimeWarning, stacklevel=3)
        return None
    if state["epoch"] > epochs:
        warnings.warn(f"{path}: checkpoint is at epoch {state['epoch']} > epochs={epochs}; ignored, "
                      "training from scratch", RuntimeWarning, stacklevel=3)
        return None
    return state


def train_vae(
    spins: np.ndarray,
    *,
    latent_dim: int,
    beta: float,
    epochs: int,
    batch_size: int,
    lr: float,
    val_fraction: float,
    seed: int,
    device: str | torch.device = "cpu",
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    channels: Sequence[int] = (16, 32, 64, 128),
    hidden: int = 512,
    augment: bool = False,
) -> tuple[SpinVAE, dict[str, Any]]:
    """Train a :class:`~latentopt.models.vae.SpinVAE` with Adam on the loss of Eq. 1-2.

    The data are split by :func:`split_indices`; each epoch visits the training set in
    a fresh random order (mini-batches of ``batch_size``), then evaluates the
    validation set in eval mode with ``z = mu``.

    Reproducibility: the global torch RNG is seeded with ``seed`` before the model is
    built (it then drives the reparameterisation noise) and the batch order comes from a
    separate ``torch.Generator`` seeded with ``seed``. Note that this reseeds the
    caller's global torch RNG.

    Checkpointing: with ``checkpoint`` set, the model, optimizer, RNG states and history
    are saved there (atomically) after every epoch. A later call with the same
    checkpoint resumes after the last saved epoch if the checkpoint's fingerprint -- all
    settings except ``epochs``, ``device``, ``progress`` and ``checkpoint``, plus the
    data shape and a checksum -- matches. ``epochs`` is left out so that a longer run can
    continue a shorter one; a checkpoint past ``epochs``, or with another fingerprint,
    is ignored with a :class:`RuntimeWarning` and overwritten. On the CPU a resumed run
    reproduces the uninterrupted one exactly (apart from ``epoch_time``).

    Parameters
    ----------
    spins : ndarray, shape (n, 3, L, L)
        Finite float spin states (unit vectors), ``n >= 2``.
    latent_dim : int
        Dimension of the latent space.
    beta : float
        Weight of the KL term, ``>= 0``.
    epochs : int
        Total number of epochs (including those of a resumed checkpoint), ``>= 1``.
    batch_size : int
        Mini-batch size, ``>= 2``.
    lr : float
        Adam learning rate (betas 0.9, 0.999).
    val_fraction : float
        Fraction of samples held out for validation, in ``[0, 1)``.
    seed : int
        Seed of the split, the initial weights, the batch order and the noise.
    device : str or torch.device
        ``"auto"``, ``"cpu"``, ``"cuda"`` or any torch device.
    checkpoint : str or PathLike, optional
        Checkpoint file to resume from and write to.
    progress : bool
        Show a tqdm progress bar over epochs.
    channels, hidden
        Architecture, see :class:`~latentopt.models.vae.SpinVAE`.
    augment : bool
        Shift every training state by a random periodic translation each time it is
        visited (:func:`random_translations`); an exact symmetry of the Hamiltonian that
        multiplies the effective data set by up to L^2. Not used by Park et al. (2022).

    Returns
    -------
    model : SpinVAE
        The trained model, in eval mode, on ``device``.
    history : dict
        ``loss``, ``reconstruction``, ``kl`` (training averages per sample),
        ``val_loss``, ``val_reconstruction`` (NaN without a validation set) and
        ``epoch_time`` (seconds): lists of ``epochs`` floats; ``train_indices`` and
        ``val_indices``: int64 arrays.

    Raises
    ------
    ValueError
        On a malformed ``spins`` array (shape, dtype, NaN/inf, ``L`` not a multiple of
        16) or out-of-range settings.
    """
    spins = _validate_spins(spins)
    if epochs < 1:
        raise ValueError(f"epochs: expected a positive int, got {epochs}")
    if batch_size < 2:
        raise ValueError(f"batch_size: expected an int >= 2 (BatchNorm), got {batch_size}")
    if not lr > 0:
        raise ValueError(f"lr: expected a positive float, got {lr}")
    if not beta >= 0:
        raise ValueError(f"beta: expected a float >= 0, got {beta}")
    device = as_device(device)
    n, _, L, _ = spins.shape
    train_idx, val_idx = split_indices(n, val_fraction, seed)
    if len(train_idx) < 2:
        raise ValueError(f"spins: need at least 2 training samples, got {len(train_idx)}")

    fingerprint = dict(latent_dim=int(latent_dim), beta=float(beta), batch_size=int(batch_size),
                       lr=float(lr), val_fraction=float(val_fraction), seed=int(seed),
                       channels=[int(c) for c in channels], hidden=int(hidden), augment=bool(augment), n=int(n), L=int(L),
                       shape=list(spins.shape), checksum=_data_checksum(spins))

    torch.manual_seed(seed)
    model = SpinVAE(L, latent_dim, channels=channels, hidden=hidden).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999))
    generator = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
    start = 0

    checkpoint = Path(checkpoint) if checkpoint is not None else None
    state = _load_checkpoint(checkpoint, fingerprint, epochs) if checkpoint is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng_state"])
        if device.type == "cuda" and state.get("cuda_rng_state") is not None:
            torch.cuda.set_rng_state(state["cuda_rng_state"], device)
        generator.set_state(state["generator_state"])
        history = {key: list(state["history"][key]) for key in HISTORY_KEYS}
        start = int(state["epoch"])

    data = torch.from_numpy(spins)
    train_data, val_data = data[torch.from_numpy(train_idx)], data[torch.from_numpy(val_idx)]
    bar = tqdm(range(start, epochs), initial=start, total=epochs, disable=not progress,
               desc="train VAE", unit="epoch")
    for epoch in bar:
        t0 = time.perf_counter()
        loss, reconstruction, kl = _train_epoch(model, optimizer, train_data, beta, batch_size,
                                                generator, device, augment)
        val_loss, val_reconstruction = _evaluate(model, val_data, beta, batch_size, device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        for key, value in zip(HISTORY_KEYS, (loss, reconstruction, kl, val_loss, val_reconstruction,
                                             time.perf_counter() - t0)):
            history[key].append(float(value))
        bar.set_postfix(loss=f"{loss:.4g}", val_loss=f"{val_loss:.4g}")
        if checkpoint is not None:
            _save_checkpoint(checkpoint, {
                "epoch": epoch + 1,
                "fingerprint": fingerprint,
                "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "optimizer": optimizer.state_dict(),
                "torch_rng_state": torch.get_rng_state(),
                "cuda_rng_state": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                "generator_state": generator.get_state(),
                "history": history,
            })
    bar.close()

    model.eval()
    return model, {**history, "train_indices": train_idx, "val_indices": val_idx}


def write_history(path: str | os.PathLike, history: Mapping[str, Any],
                  attrs: Mapping[str, Any] | None = None) -> None:
    """Atomically write a training history to HDF5 (``history.h5``).

    Datasets: ``loss``, ``reconstruction``, ``kl``, ``val_loss``, ``val_reconstruction``,
    ``epoch_time`` (float64, shape ``(epochs,)``), ``train_indices`` and
    ``val_indices`` (int64). File attributes come from ``attrs``; dict and list values
    are stored as JSON strings (see :func:`latentopt.io.write_h5`).

    Parameters
    ----------
    path : str or PathLike
    history : mapping
        As returned by :func:`train_vae`.
    attrs : mapping, optional
        Settings to record (e.g. the config section).

    Raises
    ------
    KeyError
        If ``history`` lacks one of the datasets above.
    """
    datasets = {key: np.asarray(history[key], dtype=np.float64) for key in HISTORY_KEYS}
    for key in ("train_indices", "val_indices"):
        datasets[key] = np.asarray(history[key], dtype=np.int64)
    write_h5(path, datasets, attrs)


def _model_device(model: torch.nn.Module, device: str | torch.device | None) -> torch.device:
    return as_device(device) if device is not None else next(model.parameters()).device


@torch.no_grad()
def encode_mean(model: SpinVAE, spins: np.ndarray, device: str | torch.device | None = None,
                batch_size: int = 256) -> np.ndarray:
    """Posterior means ``mu`` of spin states (the deterministic encoding).

    The model is put in eval mode and moved to ``device`` (in place).

    Parameters
    ----------
    model : SpinVAE
    spins : ndarray, shape (n, 3, L, L)
    device : str or torch.device, optional
        Defaults to the model's current device.
    batch_size : int

    Returns
    -------
    ndarray of float32, shape (n, latent_dim)
    """
    device = _model_device(model, device)
    model.to(device).eval()
    data = torch.from_numpy(np.ascontiguousarray(spins, dtype=np.float32))
    out = [model.encode(x.to(device))[0].cpu() for x in data.split(batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, model.latent_dim), np.float32)


@torch.no_grad()
def decode(model: SpinVAE, z: np.ndarray, device: str | torch.device | None = None,
           batch_size: int = 256) -> np.ndarray:
    """Spin states of latent codes.

    The model is put in eval mode and moved to ``device`` (in place).

    Parameters
    ----------
    model : SpinVAE
    z : ndarray, shape (n, latent_dim)
    device : str or torch.device, optional
        Defaults to the model's current device.
    batch_size : int

    Returns
    -------
    ndarray of float32, shape (n, 3, L, L)
        Unit vectors at every site.
    """
    device = _model_device(model, device)
    model.to(device).eval()
    codes = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32))
    out = [model.decode(c.to(device)).cpu() for c in codes.split(batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, 3, model.L, model.L), np.float32)
