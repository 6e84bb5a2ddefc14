"""Training loop of the spin VAE (Park et al. 2022, Sci. Rep., Methods; loss Eq. 1-2).

:func:`train_vae` is deterministic given ``seed`` and checkpoints after every epoch: a
run that is interrupted and started again with the same checkpoint file ends with
exactly the same weights and history (on the CPU) as an uninterrupted run.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from latentopt.io import write_h5
from latentopt.models.vae import SpinVAE, as_device, init_posterior_logvar, prefer_memory_format, vae_loss
from latentopt.trainers.common import HISTORY_KEYS, batched_apply, data_checksum, fit, split_indices

__all__ = ["HISTORY_KEYS", "PRECISIONS", "decode", "encode_mean", "native_bf16", "resolve_precision", "split_indices",
           "train_vae", "write_history"]

#: Values of the ``precision`` setting of :func:`train_vae` (``vae.precision``).
PRECISIONS = ("fp32", "bf16", "auto")


def native_bf16(device: str | torch.device) -> bool:
    """Whether ``device`` computes bfloat16 convolutions and matrix products natively.

    On the CPU: oneDNN's bf16 support (AVX512-BF16 or AMX-BF16 instructions; without
    them bf16 is emulated and slower than float32). On CUDA: ``torch.cuda.is_bf16_supported()``.
    """
    device = as_device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def resolve_precision(precision: str, device: str | torch.device) -> str:
    """The training precision, ``"fp32"`` or ``"bf16"``, of a ``precision`` setting on ``device``.

    ``"auto"`` is ``"bf16"`` on a CPU with native bf16 (:func:`native_bf16`) and ``"fp32"``
    everywhere else; ``"fp32"`` and ``"bf16"`` are taken as given.

    Raises
    ------
    ValueError
        If ``precision`` is not one of :data:`PRECISIONS`.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        device = as_device(device)
        return "bf16" if device.type == "cpu" and native_bf16(device) else "fp32"
    return precision

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


def _spin_loss(beta: float):
    def loss_fn(model: SpinVAE, x: torch.Tensor, sample: bool):
        return vae_loss(x, *model(x, sample=sample), beta)
    return loss_fn


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
    precision: str = "fp32",
    lr_schedule: str = "constant",
    logvar_init: float | None = None,
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
        Adam learning rate (betas 0.9, 0.999); the peak rate of a schedule.
    lr_schedule : {"constant", "onecycle", "cosine"}
        Per-step learning-rate schedule over all epochs
        (:func:`~latentopt.trainers.common.make_lr_scheduler`); with any but ``"constant"``
        the checkpoint fingerprint includes ``epochs``.
    logvar_init : float, optional
        Initial posterior log-variance (:func:`~latentopt.models.vae.init_posterior_logvar`);
        ``None`` keeps PyTorch's initialisation. ``-4`` is needed for states with a net
        magnetization (field sweeps), where the default start collapses to the ferromagnet.
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
    precision : {"fp32", "bf16", "auto"}
        Arithmetic of the training forward pass (:func:`resolve_precision`): ``"bf16"``
        runs it under :func:`torch.autocast` with bfloat16 (convolutions and linear
        layers in bf16, e.g. on AMX units; weights, gradients, Adam and the loss stay
        float32; the validation pass is float32). Part of the checkpoint fingerprint.
        On the CPU the model is trained in the channels-last layout
        (:func:`~latentopt.models.vae.prefer_memory_format`) in either precision.

    Returns
    -------
    model : SpinVAE
        The trained model, in eval mode, on ``device``.
    history : dict
        ``loss``, ``reconstruction``, ``kl`` (training averages per sample),
        ``val_loss``, ``val_reconstruction`` (NaN without a validation set) and
        ``epoch_time`` (seconds): lists of ``epochs`` floats; ``train_indices`` and
        ``val_indices``: int64 arrays; ``precision``: the resolved precision (str).

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
    precision = resolve_precision(precision, device)
    n, _, L, _ = spins.shape
    train_idx, val_idx = split_indices(n, val_fraction, seed)
    if len(train_idx) < 2:
        raise ValueError(f"spins: need at least 2 training samples, got {len(train_idx)}")

    fingerprint = dict(latent_dim=int(latent_dim), beta=float(beta), batch_size=int(batch_size),
                       lr=float(lr), val_fraction=float(val_fraction), seed=int(seed),
                       channels=[int(c) for c in channels], hidden=int(hidden), augment=bool(augment), n=int(n), L=int(L),
                       shape=list(spins.shape), checksum=data_checksum(spins), precision=precision,
                       lr_schedule=lr_schedule)
    if logvar_init is not None:
        fingerprint["logvar_init"] = float(logvar_init)
    if lr_schedule != "constant":
        fingerprint["epochs"] = int(epochs)  # the schedule spans exactly these epochs

    torch.manual_seed(seed)
    model = SpinVAE(L, latent_dim, channels=channels, hidden=hidden)
    if logvar_init is not None:
        init_posterior_logvar(model, float(logvar_init))
    model = prefer_memory_format(model.to(device))
    data = torch.from_numpy(spins)
    train_data, val_data = data[torch.from_numpy(train_idx)], data[torch.from_numpy(val_idx)]
    history = fit(model, _spin_loss(beta), train_data, val_data, epochs=epochs, batch_size=batch_size, lr=lr,
                  seed=seed, device=device, checkpoint=checkpoint, fingerprint=fingerprint, progress=progress,
                  transform=random_translations if augment else None, desc="train VAE",
                  autocast_dtype=torch.bfloat16 if precision == "bf16" else None, lr_schedule=lr_schedule)
    return model, {**history, "train_indices": train_idx, "val_indices": val_idx, "precision": precision}


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


def encode_mean(model: SpinVAE, spins: np.ndarray, device: str | torch.device | None = None,
                batch_size: int = 256) -> np.ndarray:
    """Posterior means ``mu`` of spin states (the deterministic encoding).

    The model is put in eval mode and moved to ``device`` (in place, in the memory
    format of :func:`~latentopt.models.vae.prefer_memory_format`; outside inference mode, so
    that its parameters stay usable with autograd); float32, inference mode.

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
    prefer_memory_format(model.to(device).eval())
    return batched_apply(lambda x: model.encode(x)[0], spins, device, batch_size, (model.latent_dim,))


def decode(model: SpinVAE, z: np.ndarray, device: str | torch.device | None = None,
           batch_size: int = 256) -> np.ndarray:
    """Spin states of latent codes.

    The model is put in eval mode and moved to ``device`` (in place, in the memory
    format of :func:`~latentopt.models.vae.prefer_memory_format`; outside inference mode, so
    that its parameters stay usable with autograd); float32, inference mode.

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
    prefer_memory_format(model.to(device).eval())
    return batched_apply(model.decode, z, device, batch_size, (3, model.L, model.L))
