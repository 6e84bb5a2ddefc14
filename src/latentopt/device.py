"""The torch device named in the config (``device: auto | cpu | cuda``) and torch's CPU thread count."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op CPU threads, then restore the previous count.

    Floating-point sums split over threads round differently for each thread count (MKL's
    AVX2 sgemm splits its reductions by thread; the AVX-512 path on the same matrices does
    not), so a torch computation that must give the same bits whatever thread count its job
    was granted runs inside ``torch_threads(1)`` (the KL-schedule study's jrVAE trainings:
    README, "Reproducibility").

    Raises
    ------
    ValueError
        If ``n < 1``.
    """
    if int(n) < 1:
        raise ValueError(f"threads: expected >= 1, got {n}")
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)
