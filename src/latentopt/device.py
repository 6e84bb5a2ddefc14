"""Resolve the torch device named in the config (``device: auto | cpu | cuda``)."""

from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """Return the torch device for a config value.

    Parameters
    ----------
    name : {"auto", "cpu", "cuda"}
        ``auto`` picks CUDA when :func:`torch.cuda.is_available` and the CPU otherwise.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`DEVICE_CHOICES`.
    RuntimeError
        If ``name == "cuda"`` but no CUDA device is available.
    """
    if name not in DEVICE_CHOICES:
        raise ValueError(f"device: expected one of {DEVICE_CHOICES}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: 'cuda' requested but torch.cuda.is_available() is False")
    return torch.device(name)
