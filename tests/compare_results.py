"""Compare two ``results/`` trees: every HDF5 array, every model's weights and every ``metrics.json``.

Used by the tests (a Slurm run against a local run) and by hand to check that a change is
behaviour-preserving, e.g. the default run before and after a refactor::

    python tests/compare_results.py old/results new/results

Arrays must be bit-identical (NaN equal to NaN); per-epoch wall times (``epoch_time``),
per-iteration BO overheads (``fit_seconds``), training wall times (``seconds``, ``*epoch_time``),
rates (``*_per_s``) and logs, benchmarks, figures and the report
are not compared, since they measure the machine, not the result. Exits 0 when the trees
agree, 1 with one line per difference otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import h5py
import numpy as np
import torch

#: datasets that time the machine rather than record a result
TIMINGS = {"epoch_time", "seconds", "fit_seconds"}


def _is_timing(key: str) -> bool:
    return key in TIMINGS or key.endswith(("_seconds", "epoch_time", "_per_s"))


def strip_timings(obj):
    """``obj`` (parsed JSON) without the entries that time the machine (``*_seconds``, ``epoch_time``)."""
    if isinstance(obj, dict):
        return {k: strip_timings(v) for k, v in obj.items() if not _is_timing(k)}
    if isinstance(obj, list):
        return [strip_timings(v) for v in obj]
    return obj


def h5_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every dataset of an HDF5 file (groups flattened to ``group/name``)."""
    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob(pattern) if ".checkpoints" not in p.parts)


def compare_trees(a: Path, b: Path) -> list[str]:
    """Differences between results trees ``a`` and ``b``; empty when they agree.

    Compares the set of ``*.h5``, ``*.pt`` and ``metrics.json`` files, every HDF5 dataset
    (bit for bit), every model's ``state_dict`` and every ``metrics.json`` (as JSON).
    """
    a, b = Path(a), Path(b)
    problems = []
    for pattern in ("*.h5", "*.pt", "metrics.json"):
        fa, fb = _files(a, pattern), _files(b, pattern)
        if fa != fb:
            problems.append(f"{pattern}: only in {a}: {sorted(set(fa) - set(fb))}; only in {b}: "
                            f"{sorted(set(fb) - set(fa))}")
        for rel in sorted(set(fa) & set(fb)):
            if pattern == "*.h5":
                xa, xb = h5_arrays(a / rel), h5_arrays(b / rel)
                if xa.keys() != xb.keys():
                    problems.append(f"{rel}: datasets differ: {sorted(xa.keys() ^ xb.keys())}")
                for key in sorted(k for k in xa.keys() & xb.keys() if not _is_timing(k.rsplit("/", 1)[-1])):
                    same = xa[key].shape == xb[key].shape and xa[key].dtype == xb[key].dtype and (
                        np.array_equal(xa[key], xb[key], equal_nan=xa[key].dtype.kind in "fc"))
                    if not same:
                        problems.append(f"{rel}:{key}: arrays differ")
            elif pattern == "*.pt":
                wa = torch.load(a / rel, weights_only=True)["state_dict"]
                wb = torch.load(b / rel, weights_only=True)["state_dict"]
                if wa.keys() != wb.keys() or not all(torch.equal(wa[k], wb[k]) for k in wa):
                    problems.append(f"{rel}: weights differ")
            elif strip_timings(json.loads((a / rel).read_text())) != strip_timings(json.loads((b / rel).read_text())):
                problems.append(f"{rel}: contents differ")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0] + "\nusage: python tests/compare_results.py RESULTS_A RESULTS_B")
        return 2
    problems = compare_trees(Path(argv[0]), Path(argv[1]))
    for line in problems:
        print(line)
    print(f"{len(problems)} difference(s)" if problems else "identical")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
