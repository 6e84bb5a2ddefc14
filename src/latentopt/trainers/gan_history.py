"""The per-epoch training history of the RUGAN: its series and the file ``gan/history.h5``.

:func:`latentopt.trainers.gan.train_rugan` records one value per epoch of each series of
:data:`GAN_HISTORY_KEYS` (loss terms of WGAN-GP with a consistency term, Mills, Casert &
Tamblyn, NeurIPS 2019 ML4PS workshop; :mod:`latentopt.trainers.wgan_losses`). The file
layout is part of the upscaling study's data contract (docs/design.md, "Data contracts";
writes are atomic). No torch here: the evaluation step reads the history without it.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np

from latentopt.io import read_attrs, read_h5, write_h5

__all__ = ["GAN_HISTORY_KEYS", "read_gan_history", "write_gan_history"]

#: Per-epoch series recorded by :func:`latentopt.trainers.gan.train_rugan` (``history.h5``).
GAN_HISTORY_KEYS = ("critic_loss", "wasserstein", "gp", "ct", "generator_loss", "energy_loss", "energy_mae",
                    "energy_r", "epoch_time")


def write_gan_history(path: str | os.PathLike, history: Mapping[str, Any],
                      attrs: Mapping[str, Any] | None = None) -> None:
    """Atomically write a RUGAN training history (``gan/history.h5``).

    Datasets (float64, shape ``(epochs,)``): :data:`GAN_HISTORY_KEYS` -- ``critic_loss``
    (``-W + lambda1 GP + lambda2 CT``), ``wasserstein`` (``E C(x) - E C(G(z))``), ``gp``,
    ``ct``, ``generator_loss``, ``energy_mae`` and ``energy_r`` (exact energies of the
    monitoring states vs requested), ``epoch_time`` (s). The attribute
    ``generator_steps`` is added to ``attrs``.

    Raises
    ------
    KeyError
        If ``history`` lacks one of the series.
    """
    datasets = {k: np.asarray(history[k], dtype=np.float64) for k in GAN_HISTORY_KEYS}
    write_h5(path, datasets, {**dict(attrs or {}), "generator_steps": int(history.get("generator_steps", -1))})


def read_gan_history(path: str | os.PathLike) -> dict[str, Any]:
    """Read ``gan/history.h5`` (:func:`write_gan_history`): the series and ``generator_steps``.

    Returns
    -------
    dict
        :data:`GAN_HISTORY_KEYS` -> float64 arrays ``(epochs,)``, and ``generator_steps``
        (int; -1 when the file does not say).

    Raises
    ------
    latentopt.errors.UnreadableFileError
        If the file is missing, unreadable or lacks a series (the message names the file).
    """
    history: dict[str, Any] = read_h5(path, list(GAN_HISTORY_KEYS))
    history["generator_steps"] = int(read_attrs(path).get("generator_steps", -1))
    return history
