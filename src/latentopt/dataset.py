"""Data sets of spin states: shards, the ``dataset.h5`` contract, merging and loading.

``results/<study>/data/dataset.h5`` holds ``spins (n, 3, L, L) f32``, ``energy (n,)``
(energy per spin, units of J), ``W (n,)`` and ``Mz (n,)``, with the system and simulate
settings, the seed and the package version as attributes (docs/design.md, "Data contracts").
Shard ``k`` of ``S`` simulates a contiguous block of global sample indices; because every
sample's random stream depends only on (seed, index) (:mod:`latentopt.physics.heatbath`),
the merged dataset is identical for any shard or thread count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentopt.errors import UnreadableFileError
from latentopt.io import read_attrs, read_h5, write_h5
from latentopt.physics.hamiltonian import ChiralMagnet, energy_per_spin
from latentopt.physics.observables import magnetization_z, topological_charge

DATASET_KEYS = ("spins", "energy", "W", "Mz")


def shard_indices(n_samples: int, shards: int, shard: int) -> np.ndarray:
    """Global sample indices of shard ``shard`` (0-based) of ``shards``: contiguous, balanced blocks.

    Raises
    ------
    ValueError
        If ``shard`` is not in ``[0, shards)``.
    """
    if not 0 <= shard < shards:
        raise ValueError(f"shard: expected 0 <= shard < {shards}, got {shard}")
    return np.array_split(np.arange(n_samples), shards)[shard]


def observables(spins: np.ndarray, model: ChiralMagnet) -> dict[str, np.ndarray]:
    """Energy per spin, W and M_z of states ``(n, 3, L, L)``; each ``(n,)``."""
    return {"energy": energy_per_spin(spins, model), "W": topological_charge(spins), "Mz": magnetization_z(spins)}


def merge_shards(paths: list[str | Path], out: str | Path, attrs: dict) -> None:
    """Concatenate shard files (in order of their sample indices) into ``dataset.h5``.

    Raises
    ------
    ValueError
        If the shards' indices do not form exactly ``0 .. n - 1``.
    """
    parts = sorted((read_h5(p) for p in paths), key=lambda d: int(d["index"][0]) if len(d["index"]) else 0)
    index = np.concatenate([p["index"] for p in parts])
    if not np.array_equal(index, np.arange(len(index))):
        raise ValueError(f"shards {list(map(str, paths))}: sample indices are not 0..{len(index) - 1}")
    data = {k: np.concatenate([p[k] for p in parts]) for k in DATASET_KEYS}
    write_h5(out, data, attrs)


def load_dataset(path: str | Path, L: int | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Read ``dataset.h5``: arrays (``spins``, ``energy``, ``W``, ``Mz``) and attributes.

    Parameters
    ----------
    path : path
    L : int, optional
        The expected lattice size (checked when given).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    UnreadableFileError
        If it is truncated or corrupt, or its arrays do not have the contracted shapes
        ``spins (n, 3, L, L)``, ``energy``, ``W``, ``Mz`` ``(n,)``.
    """
    data = read_h5(path, list(DATASET_KEYS), shapes={"spins": (None, 3, L, L), "energy": (None,), "W": (None,),
                                                      "Mz": (None,)})
    n = {k: len(v) for k, v in data.items()}
    if len(set(n.values())) != 1:
        raise UnreadableFileError(path, f"datasets have different lengths {n}")
    return data, read_attrs(path)
