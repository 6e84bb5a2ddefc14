"""Dispatch a config run block to its latent optimizer (:func:`run`)."""

from __future__ import annotations

import torch

from .genetic import genetic
from .objectives import Objective
from .common import OptimizationResult
from .single_code import single_code
from .stochastic import stochastic

ALGORITHMS = ("genetic", "stochastic", "single_code")

__all__ = ["ALGORITHMS", "run"]

# run settings that are not keyword arguments of the algorithms
_RUN_KEYS = {"algorithm", "objective", "direction", "a", "boundary", "polish", "relax_steps", "baseline"}


def run(algorithm: str, decode, objective: Objective, latent_dim: int, settings: dict, *,
        device: torch.device | str = "cpu", checkpoint=None, progress: bool = False,
        context: dict | None = None) -> OptimizationResult:
    """Run one optimizer from a config run block.

    Parameters
    ----------
    algorithm : {"genetic", "stochastic", "single_code"}
    decode : callable
        ``decode(z (m, N)) -> (m, 3, L, L)`` on ``device``.
    objective : Objective
    latent_dim : int
    settings : dict
        The run block (``config/README.md``); algorithm keyword arguments are taken from it.
        ``single_code`` draws its ``codes`` initial codes from N(0, I) with ``seed``.
    context : dict, optional
        Extra checkpoint fingerprint (decoder digest, system, boundary digest).

    Raises
    ------
    ValueError
        On an unknown algorithm.
    """
    kwargs = {k: v for k, v in settings.items() if k not in _RUN_KEYS}
    common = dict(device=device, checkpoint=checkpoint, progress=progress, context=context)
    if algorithm == "genetic":
        return genetic(decode, objective, latent_dim, **kwargs, **common)
    if algorithm == "stochastic":
        return stochastic(decode, objective, latent_dim, **kwargs, **common)
    if algorithm == "single_code":
        codes, seed = kwargs.pop("codes", 16), kwargs.pop("seed", 0)
        z0 = torch.randn(codes, latent_dim, generator=torch.Generator().manual_seed(int(seed)))
        return single_code(decode, objective, z0, **kwargs, **common)
    raise ValueError(f"algorithm: expected one of {ALGORITHMS}, got {algorithm!r}")
