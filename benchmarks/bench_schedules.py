"""KL-schedule studies: the cost of one zBO evaluation (one jrVAE training + the SSIM objective).

Each evaluation is its own workflow job with one thread, so two run side by side under
``snakemake --cores 2``. This times one evaluation in one process, single-threaded, for a
few fixed schedules (constant 1, constant 10, pyroVED's 40 -> 3 cool-down) at the settings
of a study in a config file (default: ``config/config.yaml``'s ``kl-schedule``), and reports
wall and CPU time (the machine may be shared: CPU time is what the job costs an idle core)
with the objective and class accuracy each schedule reaches.

Usage::

    python benchmarks/bench_schedules.py [--config config/config.yaml] [--study kl-schedule] [--quick]

``--quick`` shrinks the study (tiny images and epochs) to check that the benchmark runs.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "config/config.yaml"))
    ap.add_argument("--study", default="kl-schedule")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs (tests)")
    args = ap.parse_args()
    from latentopt.config import validate_config
    from latentopt.schedule_objective import evaluate_schedule
    from latentopt.studies import schedules

    torch.set_num_threads(args.threads)
    cfg = validate_config(yaml.safe_load(Path(args.config).read_text()), REPO / "workflow/schemas/config.schema.yaml",
                          root=REPO)["studies"][args.study]
    if args.quick:
        cfg["data"].update(size=16, train_subset=60)
        cfg["jrvae"].update(epochs=3, hidden=[32, 32])
        cfg["objective"].update(grid=4)
    data, _ = schedules.images(cfg["data"])
    sub = data["train_index"]
    N = cfg["jrvae"]["epochs"]
    t = np.linspace(0, 1, N)
    print(f"study {args.study}: {len(sub)} of {len(data['labels'])} images of {data['images'].shape[1:]} px, "
          f"jrVAE {N} epochs ({cfg['jrvae']['decoder']} decoder, {cfg['jrvae']['discrete']}), {args.threads} thread(s), "
          f"load average {os.getloadavg()[0]:.1f}")
    for name, beta in {"constant 1": np.ones(N), "constant 10": np.full(N, 10.0),
                       "cool-down 40 -> 3": np.where(t < 0.1, 40.0, np.maximum(3.0, 40 - (t - 0.1) / 0.4 * 37))
                       }.items():
        t0, c0 = time.perf_counter(), time.process_time()
        ev = evaluate_schedule(data["images"][sub], data["labels"][sub], beta, cfg["jrvae"], cfg["objective"])
        print(f"  {name:18s}: {time.perf_counter() - t0:6.2f} s wall, {time.process_time() - c0:6.2f} s CPU "
              f"(training {ev['seconds']:.2f} s); objective {ev['objective']:.3f}, accuracy {ev['accuracy']:.3f}")


if __name__ == "__main__":
    main()
