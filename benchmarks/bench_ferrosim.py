"""FerroSIM kernel throughput: this checkout's ``simulate`` against the one of a git revision.

Loads ``src/latentopt/physics/ferrosim.py`` of ``--baseline`` (default ``main``) as a
separate module, drives both with the same batch of field histories (periodic lattice,
defects, the study's default kinetics) in alternating timed rounds, and prints the median
site updates per second of each, their ratio, and whether the final maps are bit-identical.
With ``--boundary ferrosim`` only this checkout is timed (the baseline lacks it), against
its own periodic run.

Usage: python benchmarks/bench_ferrosim.py [--baseline main] [--N 20] [--histories 32]
       [--steps 900] [--rounds 5] [--boundary periodic]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from latentopt.physics import ferrosim as current


def load_revision(rev: str):
    """``latentopt.physics.ferrosim`` as of git revision ``rev``, imported under another name.

    It is imported as a module of ``latentopt.physics``, so that its relative imports (the
    units, lattice and curl modules) resolve to this checkout's.
    """
    repo = Path(__file__).resolve().parents[1]
    src = subprocess.run(["git", "-C", str(repo), "show", f"{rev}:src/latentopt/physics/ferrosim.py"],
                         check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="bench_ferrosim_")) / "ferrosim_baseline.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("latentopt.physics.ferrosim_baseline", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def setup(mod, N: int, boundary: str):
    model = mod.FerroSim(N=N, gamma=5.0, dt=1 / 1800, substeps=2, boundary=boundary)
    return model, mod.initial_polarization(model, "poled", 7), mod.defect_fields(N, 0.1, 2.0, 7)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default="main")
    ap.add_argument("--N", type=int, default=20)
    ap.add_argument("--histories", type=int, default=32)
    ap.add_argument("--steps", type=int, default=900)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--boundary", default="periodic", choices=["periodic", "ferrosim", "open"])
    args = ap.parse_args()
    t = np.linspace(0, 1, args.steps)
    rng = np.random.default_rng(0)
    A, a, w, B = (rng.uniform(lo, hi, (args.histories, 1)) for lo, hi in
                  [(0, 0.75), (-2.75, 2.75), (2 * np.pi, 8 * np.pi / 3), (-0.5, 0.5)])
    fields = A * np.exp(a * t) * np.sin(w * t) + B
    if args.boundary == "periodic":
        runs = {f"baseline ({args.baseline})": (load_revision(args.baseline), "periodic"),
                "this checkout": (current, "periodic")}
    else:
        runs = {"this checkout, periodic": (current, "periodic"),
                f"this checkout, {args.boundary}": (current, args.boundary)}
    prepared = {name: setup(mod, args.N, b) for name, (mod, b) in runs.items()}
    out, times = {}, {name: [] for name in runs}
    for name, (mod, _) in runs.items():  # compile
        mod.simulate(prepared[name][0], fields[:2, :5], *prepared[name][1:])
    for _ in range(args.rounds):
        for name, (mod, _) in runs.items():
            t0 = time.perf_counter()
            out[name] = mod.simulate(prepared[name][0], fields, *prepared[name][1:], equilibration=50)
            times[name].append(time.perf_counter() - t0)
    updates = args.histories * (args.steps + 50) * 2 * args.N ** 2
    med = {name: float(np.median(v)) for name, v in times.items()}
    for name in runs:
        print(f"{name:32s} {updates / med[name] / 1e6:8.2f} M site updates/s (median of {args.rounds})")
    first, second = list(runs)
    print(f"time ratio {second} / {first}: {med[second] / med[first]:.3f}")
    if args.boundary == "periodic":
        print("final maps bit-identical:", bool(np.array_equal(out[first], out[second])))


if __name__ == "__main__":
    main()
