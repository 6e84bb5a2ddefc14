"""Transition-study benchmark: single-spin meta-learning speed-up and the skyrmion-collapse barrier.

Runs the steps of a default ``transitions`` study in one process and prints a timing
breakdown:

1. meta-learning of (gamma, mu, beta) on the single-spin benchmark (Bushuev & Lobanov 2020)
   and the convergence benchmark on held-out bent paths (initial vs learned parameters,
   median iterations to Delta < 1e-6; the speed-up is their ratio);
2. skyrmion collapse on the chiral magnet: relaxed end states, geodesic initial path, GNEB
   with climbing image per method (VP; the paper's step with the learned parameters; the
   paper's step with a hand-picked gamma), the Hessian check at the climbing image, and the
   barrier with the image count doubled (2m - 1 images).

Usage::

    PYTHONPATH=src python benchmarks/bench_neb.py            # the small default study
    PYTHONPATH=src python benchmarks/bench_neb.py --paper    # paper-scale meta-learning (100 paths, 200 epochs)

Single-threaded by default (``--threads``): on a shared 2-core machine torch's OpenMP threads
make the small per-image tensor operations of GNEB orders of magnitude slower.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--L", type=int, default=24)
    ap.add_argument("--D", type=float, default=0.3)
    ap.add_argument("--B", type=float, default=0.1, help="field along +z (units of J)")
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--paper", action="store_true", help="paper-scale meta-learning: 100 paths, 200 epochs of 20 steps")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--no-meta", action="store_true")
    ap.add_argument("--no-lattice", action="store_true")
    ap.add_argument("--extra-methods", action="store_true", help="also the paper step with gamma = 0.1 (slow)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="write the numbers to this file")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs (tests)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from latentopt.config import validate_config
    from latentopt.studies import transitions as tr

    if args.quick:
        args.L, args.B, args.images = 16, 0.08, 6

    system = dict(model="chiral_magnet", L=args.L, J=1.0, D=args.D, dmi="interfacial", K=0.0, B=[0.0, 0.0, args.B])
    study = {"kind": "transitions", "system": system, "neb": {"images": args.images}}
    if args.paper:  # config/paper.yaml's sizes (Bushuev & Lobanov 2020: 100 paths, 200 epochs of 20 steps)
        study["meta"] = {"epochs": 200, "steps_per_epoch": 20, "n_paths": 100, "n_test": 100,
                         "benchmark": {"n_paths": 100, "record": 60, "max_iter": 5000}}
    if args.quick:
        study["end_states"] = {"initial": {"kind": "skyrmion", "radius": 4.0}}
        study["meta"] = {"epochs": 1, "steps_per_epoch": 2, "n_paths": 4, "n_test": 4, "K": 3,
                         "benchmark": {"n_paths": 5, "record": 20, "max_iter": 300}}
        study["neb"].update(max_iter=300)
    if args.epochs is not None:
        study.setdefault("meta", {})["epochs"] = args.epochs
    schema = Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml"
    system = validate_config({"studies": {"bench": study}}, schema)["studies"]["bench"]["system"]
    cfg = tr.settings(validate_config({"studies": {"bench": study}}, schema)["studies"]["bench"])
    timings: dict[str, float] = {}
    report: dict = {"system": system, "images": args.images}
    t_all = time.perf_counter()

    meta_params = None
    if not args.no_meta:
        m = cfg["meta"]
        print(f"meta-learning: {m['epochs']} epochs x {m['steps_per_epoch']} steps, {m['n_paths']} paths of "
              f"{m['images'][0]}-{m['images'][1]} images, K = {m['K']}, {m['optimizer']} lr {m['lr']}", flush=True)
        every = max(1, m["epochs"] // 10)
        meta_params, arrays = tr.meta_learning(
            m, progress=lambda e, a, b: print(f"  epoch {e + 1}: train {a:.3f}, test {b:.3f}", flush=True)
            if (e + 1) % every == 0 else None)
        timings["meta: training"] = meta_params["train_seconds"]
        timings["meta: benchmark (initial + learned)"] = meta_params["benchmark_seconds"]
        print(f"  learned gamma = {meta_params['gamma']:.4f}, mu = {meta_params['mu']:.4f}, "
              f"beta = {meta_params['beta']:.4f}; test loss {meta_params['initial_test_loss']:.3f} -> "
              f"{meta_params['final_test_loss']:.3f}")
        print(f"  held-out bent paths ({meta_params['n_benchmark_paths']}): median iterations to Delta < "
              f"{meta_params['threshold']:g}: initial {meta_params['median_iterations_initial']:.0f} "
              f"(reached {meta_params['reached_initial']}), learned {meta_params['median_iterations_learned']:.0f} "
              f"(reached {meta_params['reached_learned']}); speed-up {meta_params['speedup']:.1f}x")
        report["meta"] = {k: v for k, v in meta_params.items() if k not in ("train_loss", "test_loss")}

    if not args.no_lattice:
        t0 = time.perf_counter()
        ends = tr.prepare_end_states(system, cfg)
        timings["relax end states"] = time.perf_counter() - t0
        dE_ends = ends["energy"][1] - ends["energy"][0]
        print(f"\nskyrmion collapse: L = {args.L}, J = 1, D/J = {args.D}, B = {args.B} J along +z, interfacial DMI; "
              f"W = {ends['W'].round(3).tolist()}, E(FM) - E(Sk) = {dE_ends:.4f} J")
        t0 = time.perf_counter()
        path0 = tr.initial_path(ends["initial"], ends["final"], cfg["images"], "geodesic")
        timings["geodesic initial path"] = time.perf_counter() - t0
        runs = dict(cfg["runs"])
        if args.extra_methods:
            runs["paper-gamma0.1"] = {"method": "paper", "tangent": "smooth", "gamma": 0.1, "mu": 1.0, "beta": 3.0}
            cfg["runs"] = runs
        results = {}
        print(f"{'run':<16}{'method':<8}{'tangent':<10}{'iterations':>11}{'force evals':>12}{'seconds':>9}"
              f"{'barrier (J)':>14}{'saddle':>7}")
        for name in runs:
            if runs[name].get("params") == "meta" and meta_params is None:
                continue
            kw = tr.method_settings(cfg, name, meta_params)
            res = tr.run_transition(system, path0, kw)
            timings[f"neb {name} ({cfg['images']} images)"] = res.wall_time
            results[name] = res
            print(f"{name:<16}{kw['method']:<8}{kw['tangent']:<10}{res.iterations:>11}{res.force_evaluations:>12}"
                  f"{res.wall_time:>9.2f}{res.barrier:>14.6f}{res.saddle_index:>7}"
                  + ("" if res.converged else "  NOT CONVERGED"))
            report.setdefault("runs", {})[name] = dict(method=kw, iterations=res.iterations,
                                                       force_evaluations=res.force_evaluations,
                                                       wall_time=res.wall_time, barrier=res.barrier,
                                                       converged=res.converged)
        first = cfg["double_images"] if cfg["double_images"] in results else next(iter(results))
        res = results[first]
        sad = tr.saddle_check(system, res, k=cfg["hessian"]["k"], threshold=cfg["hessian"]["threshold"])
        timings["hessian check"] = sad["wall_time"]
        W = tr.path_charge(res.path)
        print(f"\nsaddle check ({first}): lowest Hessian eigenvalues {np.round(sad['hessian_lowest'], 5).tolist()} "
              f"J/rad^2 -> {sad['negative_modes']} negative mode(s); force at the climbing image "
              f"{sad['saddle_force']:.2e} J/rad")
        print(f"W along the path: {np.round(W, 3).tolist()}")
        kw = tr.method_settings(cfg, first, meta_params)
        fine = tr.run_transition(system, tr.double_images(res.path), kw)
        fine0 = tr.run_transition(system, tr.initial_path(ends["initial"], ends["final"], 2 * cfg["images"] - 1),
                                  kw) if args.extra_methods else None
        timings[f"neb {first} ({2 * cfg['images'] - 1} images, from the converged path)"] = fine.wall_time
        print(f"doubled images ({2 * cfg['images'] - 1}, started from the converged path refined): barrier "
              f"{fine.barrier:.6f} J (change {fine.barrier - res.barrier:+.2e} J), {fine.iterations} iterations")
        if fine0 is not None:
            timings[f"neb {first} ({2 * cfg['images'] - 1} images, geodesic start)"] = fine0.wall_time
            print(f"doubled images from a geodesic start: barrier {fine0.barrier:.6f} J, "
                  f"{fine0.iterations} iterations, {fine0.wall_time:.2f} s")
        report["saddle"] = dict(hessian_lowest=sad["hessian_lowest"].tolist(), negative_modes=sad["negative_modes"],
                                saddle_force=sad["saddle_force"], W=W.tolist())
        report["doubled"] = dict(barrier=fine.barrier, change=fine.barrier - res.barrier, iterations=fine.iterations)

    total = time.perf_counter() - t_all
    print("\ntiming breakdown (s):")
    for k, v in timings.items():
        print(f"  {k:<62}{v:8.2f}")
    print(f"  {'total (incl. overhead)':<62}{total:8.2f}")
    report["timings"] = timings
    report["total_seconds"] = total
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2, default=float)


if __name__ == "__main__":
    main()
