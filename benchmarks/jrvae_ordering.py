"""Class accuracy of the KL-schedule study's final models over seeds (issue 22).

Trains, with :func:`latentopt.studies.schedules.final_model` (what the ``schedules_final``
rule calls) on the full image set of the ``kl-schedule`` study, the vanilla VAE, the
jrVAE with constant ``beta_c = 1`` and with ``beta_c = 0.01`` ("scaled"), and a
cooldown schedule standing in for a zBO result (``beta_c = high`` for the first fifth of
the epochs, then a linear fall to 1 at three fifths, then 1: the shape of the
``cooldown`` family), for each ``jrvae.seed`` (the vanilla VAE takes it too), and prints the
accuracy of ``argmax q(c|x)`` (k-means for the vanilla VAE), the SSIM objective and the
training seconds.

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/jrvae_ordering.py [--seeds 3 4 5] \
        [--set key=value ...] [--models vanilla jrvae_constant jrvae_scaled cooldown] [--high 20]
"""

from __future__ import annotations

import argparse

import numpy as np
import yaml

from latentopt.studies.schedules import final_model, make_dataset


def cooldown(N: int, high: float) -> np.ndarray:
    """``high`` for ``N // 5`` epochs, linear to 1 at ``3 N // 5``, then 1."""
    a, b = N // 5, 3 * N // 5
    beta = np.ones(N)
    beta[:a] = high
    beta[a:b] = np.linspace(high, 1.0, b - a)
    return beta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[3, 4, 5])
    ap.add_argument("--set", nargs="*", default=[], help="jrvae block overrides key=value (YAML values)")
    ap.add_argument("--models", nargs="*", default=["vanilla", "jrvae_constant", "jrvae_scaled", "cooldown"])
    ap.add_argument("--high", type=float, default=20.0, help="the cooldown schedule's initial beta_c")
    args = ap.parse_args()
    study = yaml.safe_load(open("config/config.yaml"))["studies"]["kl-schedule"]
    jr = dict(study["jrvae"])
    for kv in args.set:
        k, v = kv.split("=", 1)
        jr[k] = yaml.safe_load(v)
    data = {k: v for k, v in study["data"].items() if k not in ("seed", "train_subset")}
    d = make_dataset(data, int(study["data"]["seed"]))
    print(f"n = {len(d['labels'])}; jrvae {jr}")
    acc = {m: [] for m in args.models}
    for seed in args.seeds:
        for m in args.models:
            kind = "jrvae_zbo" if m == "cooldown" else m
            best = cooldown(int(jr["epochs"]), args.high) if m == "cooldown" else None
            _, out = final_model(kind, d["images"], d["labels"], {**jr, "seed": seed}, study["objective"],
                                 study["final"], best)
            acc[m].append(out["accuracy"])
            print(f"seed {seed} {m:15s} accuracy {out['accuracy']:.3f} objective {out['objective']:.4f} "
                  f"{out['seconds']:.1f} s", flush=True)
    for m, a in acc.items():
        print(f"{m:15s} accuracy {np.round(a, 3).tolist()} mean {np.mean(a):.3f}")


if __name__ == "__main__":
    main()
