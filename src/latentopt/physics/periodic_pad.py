"""Periodic (circular) padding of lattice tensors, with a cheap backward (torch).

One site of padding on each side of the last two axes turns every nearest and
next-nearest neighbour of a periodic lattice into a slice of one tensor: the spin VAE's
periodic convolutions pad their input with it (:class:`latentopt.models.vae.CircularConv2d`),
and the batched energies and observables of :mod:`latentopt.physics.torch_physics` take
their neighbours as views of one padded copy instead of a ``torch.roll`` per neighbour.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["circular_pad"]


class _CircularPad(torch.autograd.Function):
    """Circular padding of 1 site on each side of the last two axes, with a cheap backward.

    Same values as ``F.pad(x, (1, 1, 1, 1), mode="circular")``; the gradient folds the
    four padded edges (and corners) back onto the opposite edges of the input, instead of
    autograd's chain of full-size copies and fills through the slices of ``F.pad``.
    Keeps the input's memory format (contiguous or channels-last).
    """

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        out = torch.empty((n, c, h + 2, w + 2), dtype=x.dtype, device=x.device, memory_format=_memory_format(x))
        out[:, :, 1:-1, 1:-1] = x
        out[:, :, 1:-1, 0] = x[:, :, :, -1]
        out[:, :, 1:-1, -1] = x[:, :, :, 0]
        out[:, :, 0, :] = out[:, :, -2, :]
        out[:, :, -1, :] = out[:, :, 1, :]
        return out

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        def fold_columns(rows: Tensor) -> Tensor:  # (..., w + 2) -> (..., w)
            folded = rows[..., 1:-1].clone()
            folded[..., -1] += rows[..., 0]
            folded[..., 0] += rows[..., -1]
            return folded

        g = grad[:, :, 1:-1, 1:-1].clone(memory_format=torch.preserve_format)
        g[:, :, -1, :] += fold_columns(grad[:, :, 0, :])
        g[:, :, 0, :] += fold_columns(grad[:, :, -1, :])
        g[:, :, :, -1] += grad[:, :, 1:-1, 0]
        g[:, :, :, 0] += grad[:, :, 1:-1, -1]
        return g


def _memory_format(x: Tensor) -> torch.memory_format:
    """``torch.channels_last`` for a (strictly) channels-last 4D tensor, else ``torch.contiguous_format``."""
    if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def circular_pad(x: Tensor) -> Tensor:
    """Periodic padding of one site on each side: ``(n, c, H, W) -> (n, c, H + 2, W + 2)``.

    Equal to ``F.pad(x, (1, 1, 1, 1), mode="circular")`` (values and gradient), faster on
    the CPU; keeps a channels-last input channels-last.

    Parameters
    ----------
    x : Tensor, shape (n, c, H, W)

    Returns
    -------
    Tensor, shape (n, c, H + 2, W + 2)
        ``out[..., i, j] = x[..., (i - 1) % H, (j - 1) % W]``.
    """
    return _CircularPad.apply(x)
