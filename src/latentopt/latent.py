"""Latent-space utilities shared by the study kinds.

- a trained decoder for optimization (:func:`load_decoder`, :func:`frozen_decoder`): eval
  mode (batch-norm running statistics), weights frozen, so gradients flow only to ``z``;
- prior codes ``z ~ N(0, I)`` (:func:`prior_codes`);
- a regular grid spanning encoded codes, decoded and feasibility-filtered
  (:func:`latent_grid`, :func:`feasible`, :func:`make_grid`; Biswas et al. 2023, Table 1
  steps 3-4), the candidate set of latent Bayesian optimization.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import torch

from latentopt.models.vae import SpinVAE, load_model, prefer_memory_format


def frozen_decoder(model: SpinVAE) -> Callable[[torch.Tensor], torch.Tensor]:
    """Put ``model`` in eval mode, freeze its weights and return ``model.decode``.

    The returned callable maps ``z (m, N)`` to float32 states ``(m, 3, L, L)`` and is
    differentiable in ``z``. The weights are put in the memory format that is fastest on
    their device (:func:`~latentopt.models.vae.prefer_memory_format`: channels-last on the
    CPU); decoding stays float32, since the energies that optimizers compare differ in the
    4th decimal.
    """
    prefer_memory_format(model.eval())
    for p in model.parameters():
        p.requires_grad_(False)
    return model.decode


def load_decoder(path: str | Path, device: torch.device | str) -> tuple[SpinVAE, Callable]:
    """Load ``vae/model.pt`` onto ``device``; return the model and its frozen decoder."""
    model = load_model(path, device=device)
    return model, frozen_decoder(model)


def prior_codes(n: int, latent_dim: int, seed: int) -> np.ndarray:
    """``n`` codes ``z ~ N(0, I)`` of dimension ``latent_dim`` from ``seed``; ``(n, N)`` float32.

    Drawn with a seeded CPU ``torch.Generator`` so the same seed gives the same codes on any device.
    """
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randn(n, latent_dim, generator=gen).numpy()


def feasible(trajectories: np.ndarray, minimum: float | None = None, maximum: float | None = None,
             max_step: float | None = None) -> np.ndarray:
    """Feasibility mask of decoded trajectories (Biswas et al. 2023, Table 1 step 4).

    A trajectory is feasible if it is finite, every value lies in ``[minimum, maximum]``
    and every step-to-step change ``|x_{k+1} - x_k|`` is at most ``max_step`` (bounds
    given as None are not checked).

    Parameters
    ----------
    trajectories : ndarray, shape (n, T)
    minimum, maximum, max_step : float or None

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    x = np.asarray(trajectories, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"trajectories: expected shape (n, T), got {x.shape}")
    ok = np.isfinite(x).all(axis=1)
    if minimum is not None:
        ok &= (x >= minimum).all(axis=1)
    if maximum is not None:
        ok &= (x <= maximum).all(axis=1)
    if max_step is not None and x.shape[1] > 1:
        ok &= (np.abs(np.diff(x, axis=1)) <= max_step).all(axis=1)
    return ok


def latent_grid(z: np.ndarray, size: int, margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A regular grid of ``size`` points per axis spanning latent codes (the lecture's 100 x 100 = 10,000).

    Each axis runs from the minimum to the maximum of ``z`` along it, widened by
    ``margin`` times the span on both sides.

    Parameters
    ----------
    z : ndarray, shape (n, d)
        Encoded training means.
    size : int
        Points per axis, ``>= 2``.
    margin : float
        Relative widening, ``>= 0``.

    Returns
    -------
    grid : ndarray of float64, shape (size**d, d)
        Row-major with the *last* latent axis slowest: for d = 2 point ``i * size + j`` is
        ``(axes[0][j], axes[1][i])``, so ``values.reshape(size, size)`` is an image with
        ``z_1`` along columns and ``z_2`` along rows.
    axes : ndarray of float64, shape (d, size)
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 1 or len(z) == 0:
        raise ValueError(f"z: expected shape (n, d) with n >= 1, got {z.shape}")
    if int(size) < 2 or margin < 0:
        raise ValueError(f"size >= 2 and margin >= 0 expected, got {size}, {margin}")
    lo, hi = z.min(axis=0), z.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - margin * span, hi + margin * span
    axes = np.stack([np.linspace(a, b, int(size)) for a, b in zip(lo, hi)])
    mesh = np.meshgrid(*axes[::-1], indexing="ij")  # slowest = last latent axis
    return np.stack([m.ravel() for m in mesh[::-1]], axis=1), axes


def make_grid(z_train: np.ndarray, decode: Callable[[np.ndarray], np.ndarray],
              latent: Mapping) -> dict[str, np.ndarray]:
    """Decode a grid spanning the encoded training means and mark the feasible points.

    Parameters
    ----------
    z_train : ndarray, shape (n, d)
        Encoded training means.
    decode : callable
        ``decode(z (m, d)) -> trajectories (m, T)`` (batched).
    latent : mapping
        Validated ``latent:`` block (``grid``, ``margin``, ``constraints`` with ``min``,
        ``max``, ``max_step``).

    Returns
    -------
    dict
        ``z (G^d, d)``, ``trajectories (G^d, T)`` (float32), ``feasible (G^d,)``,
        ``z_train (n, d)``, ``axes (d, G)``.
    """
    z, axes = latent_grid(z_train, latent["grid"], latent["margin"])
    x = decode(z)
    c = latent["constraints"]
    ok = feasible(x, c["min"], c["max"], c["max_step"])
    return {"z": z, "trajectories": x.astype(np.float32), "feasible": ok, "z_train": np.asarray(z_train),
            "axes": axes}
