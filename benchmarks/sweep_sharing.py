"""One VAE for the whole sweep, or one per point? (spin studies with ``sweep:``)

A sweep trains one VAE on the states pooled from every point and runs each point's latent
search with that point's Hamiltonian (config/README.md, "Sharing"). The alternative at the
same cost trains one VAE per point on that point's own states only (the same epochs over
``1 / n_points`` of the data each, so the same number of state-epochs in all). This script
takes a finished sweep, trains such a per-point VAE at the points asked for, repeats every
``optimize`` run of the study there with it (same settings and seeds, polished the same way)
and prints, per point, the polished energy per spin and the phase of the per-point optimum
next to the shared one and the reference (the lowest relaxed candidate).

Usage (after ``snakemake --cores 2 --configfile config/sweeps.yaml``)::

    python benchmarks/sweep_sharing.py --config config/sweeps.yaml --points "B_z~0.0" "B_z~0.05" "B_z~0.1"
    python benchmarks/sweep_sharing.py --config config/sweeps.yaml --jobs 2   # every point, two at a time

Reads ``results/<study>/points/<point>/shards/``, ``.../reference.h5`` and ``sweep/metrics.json``;
writes its models and runs under ``--out`` (default ``results/<study>/sharing``) and a JSON
summary there. ``--jobs`` runs points in parallel processes of one torch thread each.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]


def per_point(study_dir: str, out_dir: str, point: str, system: dict, study: dict) -> dict:
    """Train a VAE on one point's states, run the study's optimize runs with it; the point's summary."""
    import torch

    from latentopt.io import read_h5
    from latentopt.models.vae import save_model
    from latentopt.physics import phases
    from latentopt.studies.spins import merge_dataset, optimize, train

    torch.set_num_threads(1)
    study_dir, out = Path(study_dir), Path(out_dir) / point
    out.mkdir(parents=True, exist_ok=True)
    shards = sorted((study_dir / "points" / point / "shards").glob("shard*.h5"))
    if not shards:
        raise FileNotFoundError(f"{study_dir / 'points' / point / 'shards'}: no shard files (run the sweep first)")
    merge_dataset(shards, out / "dataset.h5", system, study["simulate"])
    t0 = time.perf_counter()
    model, history = train(out / "dataset.h5", dict(study["vae"]))
    train_s = time.perf_counter() - t0
    save_model(out / "model.pt", model)
    runs = {}
    for name, run in study["optimize"].items():
        t0 = time.perf_counter()
        data, _ = optimize(out / "model.pt", system, dict(run), root=REPO, key=f"optimize.{name}")
        runs[name] = dict(energy=float(data["polished_energy"]), W=float(data["polished_W"]),
                          phase=phases.classify(np.asarray(data["polished_spins"], np.float64), system["J"],
                                                system["D"]),
                          seconds=time.perf_counter() - t0)
    best = min(runs, key=lambda r: runs[r]["energy"])
    return dict(point=point, n_states=int(len(read_h5(out / "dataset.h5", ["energy"])["energy"])),
                train_seconds=train_s, val_loss=float(history["val_loss"][-1]), runs=runs, best_run=best,
                energy=runs[best]["energy"], phase=runs[best]["phase"])


def main(argv=None) -> int:
    from latentopt.config import validate_config
    from latentopt.sweeps import expand_sweep

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="config/sweeps.yaml")
    p.add_argument("--study", help="the sweep study (default: the config's first study with sweep:)")
    p.add_argument("--points", nargs="*", help="point names (default: every point)")
    p.add_argument("--out", help="default results/<study>/sharing")
    p.add_argument("--jobs", type=int, default=1)
    args = p.parse_args(argv)

    cfg = validate_config(yaml.safe_load(Path(args.config).read_text()), REPO / "workflow/schemas/config.schema.yaml",
                          root=REPO)
    name = args.study or next(s for s, v in cfg["studies"].items() if v.get("sweep"))
    study = cfg["studies"][name]
    points = expand_sweep(study["system"], study["sweep"])
    chosen = args.points or list(points)
    unknown = sorted(set(chosen) - set(points))
    if unknown:
        raise SystemExit(f"--points: {unknown} are not points of {name}; expected some of {list(points)}")
    study_dir = Path("results") / name
    metrics = json.loads((study_dir / "sweep" / "metrics.json").read_text())
    shared = {r["point"]: r for r in metrics["points"]}
    out = Path(args.out or study_dir / "sharing")
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pt: pool.submit(per_point, str(study_dir), str(out), pt, points[pt]["system"], study)
                   for pt in chosen}
        rows = {pt: f.result() for pt, f in futures.items()}

    print(f"{name}: one VAE on the states pooled from {len(points)} points vs one per point on its own "
          f"{next(iter(rows.values()))['n_states']} states (polished energies per spin, J; gap to the reference)")
    print(f"{'point':14s} {'reference':>10s} {'phase':>17s} | {'shared':>10s} {'gap':>9s} {'phase':>17s} | "
          f"{'per point':>10s} {'gap':>9s} {'phase':>17s} {'train s':>8s}")
    for pt, r in rows.items():
        s = shared[pt]
        ref = s["reference_energy"]
        print(f"{pt:14s} {ref:10.6f} {s['reference_phase']:>17s} | {s['latent_energy']:10.6f} "
              f"{s['latent_energy'] - ref:9.2e} {s['latent_phase']:>17s} | {r['energy']:10.6f} "
              f"{r['energy'] - ref:9.2e} {r['phase']:>17s} {r['train_seconds']:8.1f}")
        r.update(reference_energy=ref, reference_phase=s["reference_phase"], shared_energy=s["latent_energy"],
                 shared_phase=s["latent_phase"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
