"""Working with a trained decoder: loading it for optimization, drawing prior codes.

The decoder is used in eval mode (batch-norm running statistics) with its weights frozen,
so gradients flow only to the latent codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from latentopt.models.vae import SpinVAE, load_model


def frozen_decoder(model: SpinVAE) -> Callable[[torch.Tensor], torch.Tensor]:
    """Put ``model`` in eval mode, freeze its weights and return ``model.decode``.

    The returned callable maps ``z (m, N)`` to states ``(m, 3, L, L)`` and is differentiable in ``z``.
    """
    model.eval()
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
