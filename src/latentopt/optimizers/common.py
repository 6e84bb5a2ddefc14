"""Pieces shared by the latent optimizers: results, snapshots, batched decoding, checkpoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from latentopt.errors import DivergedError
from latentopt.optimizers.checkpoint import Checkpointer, fingerprint  # noqa: F401  (re-exported)

Decoder = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class OptimizationResult:
    """What a latent-space optimization run produces (the ``optimize/<run>.h5`` contract).

    Attributes
    ----------
    objective : ndarray, shape (iters,)
        Best objective value of each iteration, natural sign.
    best_z : ndarray, shape (N,)
        Latent code of the best state seen.
    best_spins : ndarray, shape (3, L, L)
        Its decoded state.
    best_value : float
        Its objective value.
    snapshots : ndarray, shape (k, 3, L, L)
        Best state of the iterations in ``snapshot_iteration``.
    snapshot_iteration : ndarray, shape (k,)
    snapshot_value : ndarray, shape (k,)
    best_z_per_iteration : ndarray, shape (iters, N)
        Latent code of each iteration's best candidate (e.g. every generation's best individual).
    traces : dict of str to ndarray
        Algorithm-specific per-iteration traces (e.g. ``mean_objective``, ``max_sigma``).
    final : dict of str to ndarray
        Algorithm-specific final state (e.g. ``mu``, ``sigma``, ``population``).
    """

    objective: np.ndarray
    best_z: np.ndarray
    best_spins: np.ndarray
    best_value: float
    snapshots: np.ndarray
    snapshot_iteration: np.ndarray
    snapshot_value: np.ndarray
    best_z_per_iteration: np.ndarray
    traces: dict = field(default_factory=dict)
    final: dict = field(default_factory=dict)


def snapshot_iterations(n_iterations: int, n_snapshots: int) -> set[int]:
    """Evenly spaced iteration indices (first and last included) at which to keep a snapshot."""
    if n_snapshots <= 0 or n_iterations <= 0:
        return set()
    return set(np.unique(np.linspace(0, n_iterations - 1, min(n_snapshots, n_iterations)).round().astype(int)).tolist())


class Recorder:
    """Collects the per-iteration best value, the overall best state and snapshots.

    All values passed in are in the natural sign; ``sign`` (+1 max, -1 min) ranks them.
    """

    def __init__(self, sign: float, snapshot_at: set[int]):
        self.sign = sign
        self.snapshot_at = snapshot_at
        self.objective: list[float] = []
        self.best_z_per_iteration: list[np.ndarray] = []
        self.best_value = -np.inf * sign
        self.best_z = None
        self.best_spins = None
        self.snapshots: list[np.ndarray] = []
        self.snapshot_iteration: list[int] = []
        self.snapshot_value: list[float] = []
        self.traces: dict[str, list[float]] = {}

    def record(self, iteration: int, z: torch.Tensor, spins: torch.Tensor, values: torch.Tensor, **traces):
        """Record iteration ``iteration`` given its candidates ``z (m, N)``, states ``(m, 3, L, L)`` and values ``(m,)``.

        Raises
        ------
        DivergedError
            If a value is not finite (a diverging optimizer or a broken decoder; NaN would
            otherwise rank as the best candidate).
        """
        finite = torch.isfinite(values)
        if not bool(finite.all()):
            raise DivergedError(f"the objective is not finite at iteration {iteration} "
                                f"({int((~finite).sum())} of {len(values)} candidates)")
        i = int(torch.argmax(self.sign * values))
        v = float(values[i])
        self.objective.append(v)
        self.best_z_per_iteration.append(z[i].detach().cpu().numpy().copy())
        if self.best_z is None or self.sign * v > self.sign * self.best_value:
            self.best_value = v
            self.best_z = z[i].detach().cpu().numpy().copy()
            self.best_spins = spins[i].detach().cpu().numpy().copy()
        if iteration in self.snapshot_at:
            self.snapshots.append(spins[i].detach().cpu().numpy().copy())
            self.snapshot_iteration.append(iteration)
            self.snapshot_value.append(v)
        for k, val in traces.items():
            val = val.detach() if torch.is_tensor(val) else val
            self.traces.setdefault(k, []).append(float(val))

    def state_dict(self) -> dict:
        return dict(self.__dict__)

    def load_state_dict(self, state: dict) -> None:
        self.__dict__.update(state)

    def result(self, final: dict | None = None) -> OptimizationResult:
        L = self.best_spins.shape[-1]
        snaps = np.stack(self.snapshots) if self.snapshots else np.zeros((0, 3, L, L), np.float32)
        return OptimizationResult(
            objective=np.asarray(self.objective), best_z=self.best_z, best_spins=self.best_spins,
            best_value=float(self.best_value), snapshots=snaps,
            snapshot_iteration=np.asarray(self.snapshot_iteration, dtype=np.int64),
            snapshot_value=np.asarray(self.snapshot_value),
            best_z_per_iteration=np.asarray(self.best_z_per_iteration, dtype=np.float32),
            traces={k: np.asarray(v) for k, v in self.traces.items()}, final=final or {})


def decode_chunked(decode: Decoder, z: torch.Tensor, chunk: int) -> torch.Tensor:
    """Decode ``z (m, N)`` in chunks of at most ``chunk`` codes (bounds memory); keeps autograd."""
    if z.shape[0] <= chunk:
        return decode(z)
    return torch.cat([decode(z[i:i + chunk]) for i in range(0, z.shape[0], chunk)])


def result_datasets(result: OptimizationResult) -> dict[str, np.ndarray]:
    """The arrays of the ``optimize/<run>.h5`` contract (docs/design.md) plus traces and final state.

    Contract: ``objective (iters,)``, ``best_z (N,)``, ``best_spins (3, L, L)``,
    ``snapshots (k, 3, L, L)``, ``snapshot_iteration (k,)``; extras: ``snapshot_value (k,)``,
    ``best_value ()``, ``best_z_per_iteration (iters, N)``, ``trace/<name> (iters,)`` and
    ``final/<name>``.
    """
    out = dict(objective=result.objective, best_z=result.best_z, best_spins=result.best_spins.astype(np.float32),
               best_value=np.float64(result.best_value), snapshots=result.snapshots.astype(np.float32),
               snapshot_iteration=result.snapshot_iteration, snapshot_value=result.snapshot_value,
               best_z_per_iteration=result.best_z_per_iteration)
    out.update({f"trace/{k}": v for k, v in result.traces.items()})
    out.update({f"final/{k}": np.asarray(v) for k, v in result.final.items()})
    return out
