"""Checkpoints of long optimizations: saved every few iterations outside the declared outputs, resumed exactly.

Used by the latent optimizers, Bayesian optimization and NEB. torch (its ``save``/``load``
serialise tensors, numpy arrays and RNG states) is imported only when a checkpoint is read
or written, so that importing this module costs a torch-free job nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from pathlib import Path
from typing import Any, Callable

from latentopt.io import atomic_path

__all__ = ["Checkpointer", "fingerprint"]


def fingerprint(settings: dict) -> str:
    """A stable hash of JSON-serialisable settings (used to match checkpoints to runs)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


class Checkpointer:
    """Saves and restores an optimizer's state every ``every`` iterations, outside declared outputs.

    A checkpoint is reused only when its fingerprint matches the run's settings; otherwise it
    is ignored with a warning. ``path=None`` disables checkpointing.
    """

    def __init__(self, path: str | Path | None, settings: dict, every: int = 50):
        self.path = Path(path) if path else None
        self.key = fingerprint(settings)
        self.every = max(1, int(every))

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None (with a warning) when there is none, it is unreadable or from other settings.

        Checkpoints are the workflow's own files (outside the declared outputs), written
        atomically; they hold optimizer and RNG states, so they are read with
        ``weights_only=False``. Never point a checkpoint path at a file from elsewhere.
        """
        if self.path is None or not self.path.exists():
            return None
        try:
            import torch  # here, not at import: a torch-free job (a Gaussian process) does not load it

            state = torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception as exc:  # truncated or corrupt: start over rather than fail
            warnings.warn(f"{self.path}: unreadable checkpoint ignored, starting from scratch ({exc})")
            return None
        if not isinstance(state, dict) or state.get("fingerprint") != self.key:
            warnings.warn(f"{self.path}: checkpoint from other settings ignored")
            return None
        logging.getLogger(__name__).info("resuming from %s", self.path)
        return state

    def maybe_save(self, iteration: int, state_fn: Callable[[], dict], force: bool = False) -> None:
        if self.path is None or not (force or (iteration + 1) % self.every == 0):
            return
        import torch

        state = state_fn()
        state["fingerprint"] = self.key
        with atomic_path(self.path) as tmp:
            torch.save(state, tmp)
