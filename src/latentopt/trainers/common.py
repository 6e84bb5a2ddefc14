"""The generic VAE training loop: seeded batches, Adam, per-epoch checkpoint and exact resume.

Used by the spin VAE (:mod:`latentopt.trainers.vae`) and the trajectory VAE
(:mod:`latentopt.trainers.trajectory_vae`); they differ only in the model, its loss and
an optional per-batch transform (data augmentation).
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from latentopt.errors import DivergedError
from latentopt.io import atomic_path
from latentopt.torch_startup import optimizer_step

log = logging.getLogger(__name__)

#: Per-epoch series recorded by :func:`fit`.
HISTORY_KEYS = ("loss", "reconstruction", "kl", "val_loss", "val_reconstruction", "epoch_time")

#: ``loss_fn(model, x, sample)`` -> ``(loss, reconstruction, kl)`` batch means
LossFunction = Callable[[torch.nn.Module, torch.Tensor, bool], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
#: ``transform(x, generator)`` -> augmented batch (on the CPU, before the move to the device)
Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

#: Values of the ``lr_schedule`` setting of :func:`fit` (``vae.lr_schedule``).
LR_SCHEDULES = ("constant", "onecycle", "cosine")


def n_batches(n: int, batch_size: int) -> int:
    """Number of mini-batches :func:`_batches` makes of ``n`` samples (a trailing batch of one is merged)."""
    full, rest = divmod(int(n), int(batch_size))
    return full + (rest > 1) if full else 1


def make_lr_scheduler(optimizer: torch.optim.Optimizer, schedule: str, lr: float,
                      total_steps: int) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The per-step learning-rate schedule of :func:`fit`, or None for ``"constant"``.

    - ``"onecycle"``: Smith & Topin, "Super-convergence" (2019), as
      :class:`torch.optim.lr_scheduler.OneCycleLR`: a cosine warm-up from ``lr / 25`` to
      ``lr`` over the first 30 % of the steps, then a cosine decay to ``lr / 25e4``; Adam's
      beta_1 moves inversely between 0.95 and 0.85. ``lr`` is the peak rate.
    - ``"cosine"``: Loshchilov & Hutter, SGDR (2017) without restarts: ``lr`` decays as
      ``lr (1 + cos(pi t / T)) / 2`` to 0 over the ``T = total_steps`` steps.

    Raises
    ------
    ValueError
        If ``schedule`` is not one of :data:`LR_SCHEDULES`.
    """
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule: expected one of {LR_SCHEDULES}, got {schedule!r}")
    if schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps)
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return None


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


def _batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches of ``range(n)``.

    A trailing batch of a single sample is merged into the previous one, since
    BatchNorm cannot normalise a batch of one in training mode.
    """
    batches = list(torch.randperm(n, generator=generator).split(batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2:] = [torch.cat(batches[-2:])]
    return batches


def _train_epoch(model: torch.nn.Module, loss_fn: LossFunction, optimizer: torch.optim.Optimizer,
                 data: torch.Tensor, batch_size: int, generator: torch.Generator, device: torch.device,
                 transform: Transform | None = None, autocast_dtype: torch.dtype | None = None,
                 scheduler: torch.optim.lr_scheduler.LRScheduler | None = None) -> list[float]:
    """One pass over ``data`` (CPU tensor); return sample-averaged ``[loss, reconstruction, kl]``.

    With ``autocast_dtype`` the forward pass and loss run under :func:`torch.autocast`
    (weights, gradients and the optimizer stay float32); a ``scheduler`` steps after every batch.
    """
    model.train()
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    for idx in _batches(len(data), batch_size, generator):
        x = data[idx]
        if transform is not None:
            x = transform(x, generator)
        x = x.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None):
            terms = loss_fn(model, x, True)
        optimizer.zero_grad(set_to_none=True)
        terms[0].backward()
        optimizer_step(optimizer)
        if scheduler is not None:
            scheduler.step()
        totals += torch.stack(terms).detach().double() * len(idx)
    return (totals / len(data)).tolist()


@torch.inference_mode()
def _evaluate(model: torch.nn.Module, loss_fn: LossFunction, data: torch.Tensor, batch_size: int,
              device: torch.device) -> list[float]:
    """Sample-averaged ``[loss, reconstruction]`` in eval mode with ``z = mu`` (float32); NaN if no data."""
    if len(data) == 0:
        return [math.nan, math.nan]
    model.eval()
    totals = torch.zeros(2, dtype=torch.float64, device=device)
    for x in data.split(batch_size):
        x = x.to(device, non_blocking=True)
        loss, reconstruction, _ = loss_fn(model, x, False)
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


def data_checksum(data: np.ndarray) -> list[float]:
    """Cheap fingerprint of a data set: total sum and index-weighted sum of sample sums.

    The second number changes when samples are reordered, which the first does not see.
    """
    per_sample = data.reshape(len(data), -1).sum(axis=1, dtype=np.float64)
    weights = np.arange(1, len(data) + 1, dtype=np.float64)
    return [float(per_sample.sum()), float(per_sample @ weights)]


def fit(model: torch.nn.Module, loss_fn: LossFunction, train_data: torch.Tensor, val_data: torch.Tensor, *,
        epochs: int, batch_size: int, lr: float, seed: int, device: torch.device,
        checkpoint: str | Path | None, fingerprint: dict[str, Any], progress: bool = True,
        transform: Transform | None = None, desc: str = "train VAE", lr_key: str = "vae.lr",
        autocast_dtype: torch.dtype | None = None, lr_schedule: str = "constant") -> dict[str, list[float]]:
    """Train ``model`` (already on ``device``) with Adam; checkpoint after every epoch.

    Each epoch visits ``train_data`` in a fresh random order (mini-batches of
    ``batch_size``, from a ``torch.Generator`` seeded with ``seed``), then evaluates
    ``val_data`` in eval mode. The caller seeds the global torch RNG before building the
    model; it then drives the reparameterisation noise.

    With ``checkpoint`` set, the model, optimizer, RNG states and history are saved there
    (atomically) after every epoch. A later call resumes after the last saved epoch if the
    stored ``fingerprint`` equals the given one (which must not contain ``epochs``, so
    that a longer run can continue a shorter one); a checkpoint past ``epochs``, or with
    another fingerprint, is ignored with a :class:`RuntimeWarning` and overwritten. On the
    CPU a resumed run reproduces the uninterrupted one exactly (apart from ``epoch_time``).

    Mixed precision (opt-in, ``autocast_dtype``, e.g. ``torch.bfloat16``): the training
    forward pass and loss run under :func:`torch.autocast` on ``device``; parameters,
    gradients and Adam's moments stay float32 (no loss scaling is needed for bfloat16),
    and the validation pass stays float32, so ``val_loss`` is comparable across
    precisions. The caller includes the precision in ``fingerprint``.

    Learning rate: constant ``lr``, or a per-step schedule (``lr_schedule``,
    :func:`make_lr_scheduler`) over all ``epochs``; its state is part of the checkpoint. A
    schedule depends on ``epochs``, so the caller includes ``epochs`` in ``fingerprint``
    for any schedule but ``"constant"`` (a longer run then starts afresh).

    Returns
    -------
    dict
        :data:`HISTORY_KEYS` -> lists of ``epochs`` floats. The model is left in eval mode.

    Raises
    ------
    DivergedError
        If the training or validation loss of an epoch is not finite; the message names the
        epoch and the learning-rate setting ``lr_key``. Nothing of that epoch is saved, so the
        checkpoint keeps the last finite epoch.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999))
    scheduler = make_lr_scheduler(optimizer, lr_schedule, lr, epochs * n_batches(len(train_data), batch_size))
    generator = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
    start = 0
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    state = _load_checkpoint(checkpoint, fingerprint, epochs) if checkpoint is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng_state"])
        if device.type == "cuda" and state.get("cuda_rng_state") is not None:
            torch.cuda.set_rng_state(state["cuda_rng_state"], device)
        generator.set_state(state["generator_state"])
        history = {key: list(state["history"][key]) for key in HISTORY_KEYS}
        start = int(state["epoch"])
        log.info("%s: resuming from %s after epoch %d of %d", desc, checkpoint, start, epochs)

    bar = tqdm(range(start, epochs), initial=start, total=epochs, disable=not progress, desc=desc, unit="epoch")
    for epoch in bar:
        t0 = time.perf_counter()
        loss, reconstruction, kl = _train_epoch(model, loss_fn, optimizer, train_data, batch_size, generator,
                                                device, transform, autocast_dtype, scheduler)
        val_loss, val_reconstruction = _evaluate(model, loss_fn, val_data, batch_size, device)
        if not math.isfinite(loss) or not (math.isfinite(val_loss) or len(val_data) == 0):
            bar.close()
            raise DivergedError(f"{desc}: the loss became {loss if not math.isfinite(loss) else val_loss} in epoch "
                                f"{epoch + 1} of {epochs}; lower {lr_key} (now {lr}) and rerun")
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
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "torch_rng_state": torch.get_rng_state(),
                "cuda_rng_state": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                "generator_state": generator.get_state(),
                "history": history,
            })
    bar.close()
    model.eval()
    return history


@torch.inference_mode()
def batched_apply(fn: Callable[[torch.Tensor], torch.Tensor], data: np.ndarray, device: torch.device,
                  batch_size: int, empty_shape: tuple[int, ...]) -> np.ndarray:
    """``fn`` applied to ``data`` (cast to float32) in batches on ``device``, in inference mode (no autograd).

    Parameters
    ----------
    fn : callable
        Maps a batch ``(m, ...)`` on ``device`` to ``(m, ...)``.
    data : ndarray, shape (n, ...)
    device : torch.device
    batch_size : int
    empty_shape : tuple of int
        Per-sample output shape, for ``n = 0``.

    Returns
    -------
    ndarray of float32, shape (n, ...)
    """
    x = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))
    out = [fn(b.to(device)).cpu() for b in x.split(batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, *empty_shape), np.float32)

