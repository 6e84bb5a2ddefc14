"""The settings of a RUGAN training run: their checks and the fingerprint a checkpoint must match.

:func:`latentopt.trainers.gan.train_rugan` takes its data and settings through
:func:`check_data` and :func:`check_settings` (each bad value is refused with a
``ValueError`` naming the argument) and resumes a checkpoint only if its
:func:`checkpoint_fingerprint` (every setting but the device, plus checksums of the data)
matches (:func:`latentopt.trainers.common._load_checkpoint`). The settings' meaning and the
paper's values (Mills, Casert & Tamblyn, NeurIPS 2019 ML4PS workshop) are documented at
:func:`~latentopt.trainers.gan.train_rugan`; energies are per spin in units of J
(docs/design.md, "Physics conventions").
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from latentopt.models.vae import as_device
from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.trainers.common import data_checksum

__all__ = ["GANSettings", "check_data", "check_settings", "checkpoint_fingerprint"]


@dataclasses.dataclass(frozen=True)
class GANSettings:
    """The checked settings of one RUGAN training run (:func:`~latentopt.trainers.gan.train_rugan`).

    Its parameters but ``epochs``, ``checkpoint``, ``progress``: ``batch_size`` is capped at
    the number of states, ``lr_critic`` is filled in, ``device`` a :class:`torch.device` and
    ``energy_scales`` a list of ints; the rest is as given.
    """

    batch_size: int
    n_critic: int
    lr: float
    lr_critic: float
    betas: Sequence[float]
    lambda_gp: float
    lambda_ct: float
    ct_margin: float
    augment: bool
    ema: float
    energy_weight: float
    energy_scales: list[int]
    seed: int
    generator: dict[str, Any]
    critic: dict[str, Any]
    model: ChiralMagnet | None
    n_monitor: int
    device: torch.device


def _raise_if(bad: bool, message: str) -> None:
    """Raise ``ValueError(message)`` when ``bad``."""
    if bad:
        raise ValueError(message)


def check_data(spins: np.ndarray, energies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training states ``(n, 3, L, L)`` (``n >= 2``, finite) and their labels as float64 ``(n,)``.

    Raises
    ------
    ValueError
        On a malformed array (the message names it).
    """
    spins = np.asarray(spins)
    _raise_if(spins.ndim != 4 or spins.shape[1] != 3 or spins.shape[2] != spins.shape[3],
              f"spins: expected shape (n, 3, L, L), got {spins.shape}")
    n = spins.shape[0]
    _raise_if(n < 2, f"spins: need at least 2 states, got {n}")
    _raise_if(not np.isfinite(spins).all(), "spins: contains NaN or inf")
    energies = np.asarray(energies, dtype=np.float64)
    _raise_if(energies.shape != (n,) or not np.isfinite(energies).all(),
              f"energies: expected {n} finite values, got shape {energies.shape}")
    return spins, energies


def check_settings(n: int, epochs: int, *, batch_size: int, n_critic: int, lr: float, lr_critic: float | None,
                   betas: Sequence[float], lambda_gp: float, lambda_ct: float, ct_margin: float, augment: bool,
                   ema: float, energy_weight: float, energy_scales: Sequence[int], seed: int,
                   generator: Mapping[str, Any] | None, critic: Mapping[str, Any] | None,
                   model: ChiralMagnet | None, n_monitor: int, device: str | torch.device) -> GANSettings:
    """Check the settings of :func:`~latentopt.trainers.gan.train_rugan` for ``n`` training states; fill in the rest.

    Raises
    ------
    ValueError
        On an out-of-range setting (the message names it).
    """
    _raise_if(epochs < 1, f"epochs: expected a positive int, got {epochs}")
    _raise_if(batch_size < 2, f"batch_size: expected an int >= 2 (BatchNorm), got {batch_size}")
    _raise_if(n_critic < 1, f"n_critic: expected an int >= 1, got {n_critic}")
    _raise_if(not lr > 0, f"lr: expected a positive float, got {lr}")
    lr_critic = float(lr if lr_critic is None else lr_critic)
    _raise_if(not lr_critic > 0, f"lr_critic: expected a positive float, got {lr_critic}")
    _raise_if(len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas),
              f"betas: expected two floats in [0, 1), got {betas}")
    _raise_if(not 0.0 <= ema < 1.0, f"ema: expected a decay in [0, 1), got {ema}")
    _raise_if(energy_weight < 0, f"energy_weight: expected a float >= 0, got {energy_weight}")
    _raise_if(energy_weight > 0 and model is None,
              "energy_weight: the exact-energy term needs the Hamiltonian (model)")
    energy_scales = [int(s) for s in energy_scales]
    _raise_if(not energy_scales or min(energy_scales) < 1,
              f"energy_scales: expected positive ints, got {energy_scales}")
    _raise_if(lambda_gp < 0 or lambda_ct < 0,
              f"lambda_gp, lambda_ct: expected floats >= 0, got {lambda_gp}, {lambda_ct}")
    device = as_device(device)
    gen_kw, crit_kw = dict(generator or {}), dict(critic or {})
    for key in ("L", "label_mean", "label_std"):
        _raise_if(key in gen_kw, f"generator: key {key!r} is set by the trainer")
    return GANSettings(batch_size=min(int(batch_size), n), n_critic=n_critic, lr=lr, lr_critic=lr_critic,
                       betas=betas, lambda_gp=lambda_gp, lambda_ct=lambda_ct, ct_margin=ct_margin, augment=augment,
                       ema=ema, energy_weight=energy_weight, energy_scales=energy_scales, seed=seed,
                       generator=gen_kw, critic=crit_kw, model=model, n_monitor=n_monitor, device=device)


def checkpoint_fingerprint(cfg: GANSettings, spins32: np.ndarray, energies: np.ndarray) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: every setting but the device, and the data.

    ``spins32 (n, 3, L, L)`` float32 and ``energies (n,)`` enter through checksums.
    """
    n = len(energies)
    return dict(batch_size=cfg.batch_size, n_critic=int(cfg.n_critic), lr=float(cfg.lr), lr_critic=cfg.lr_critic,
                betas=[float(b) for b in cfg.betas], lambda_gp=float(cfg.lambda_gp), lambda_ct=float(cfg.lambda_ct),
                ct_margin=float(cfg.ct_margin), augment=bool(cfg.augment), ema=float(cfg.ema),
                energy_weight=float(cfg.energy_weight), energy_scales=cfg.energy_scales, seed=int(cfg.seed),
                generator=_plain(cfg.generator), critic=_plain(cfg.critic),
                model=None if cfg.model is None else _plain(dataclasses.asdict(cfg.model)),
                n_monitor=int(cfg.n_monitor), shape=list(spins32.shape), checksum=data_checksum(spins32),
                label_checksum=[float(energies.sum()), float(energies @ np.arange(1, n + 1))])


def _plain(obj: Any) -> Any:
    """Settings as plain JSON-like python types (for fingerprints)."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in sorted(obj.items())}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    return obj
