"""KL-schedule study (zBO of a jrVAE's beta_c(i)): per-evaluation time and a small end-to-end run.

Issue 9's budget: the default ``schedules`` study may add at most 3 minutes to the
default run on the 2-core machine, where two evaluations (one jrVAE training each, one
thread each) run side by side. Measured here, in one process, single-threaded
(``torch.set_num_threads(1)``, as one workflow job):

1. ``evaluation``: one jrVAE training + SSIM objective at the study's settings for a few
   schedules (constant 1, constant 10, a cool-down), i.e. the per-job cost;
2. ``end-to-end`` (unless ``--skip-run``): data -> beta_c families -> trajectory VAE ->
   feasible grid -> zBO rounds (each :func:`propose_round`, then its evaluations one
   after the other) -> random-search pool evaluations -> gather -> the four final models
   on the full set -> metrics with the done-when checks. The estimated workflow wall time
   with 2 parallel job slots replays the measured job times greedily (a round's
   evaluations in parallel, rounds in sequence; random-pool and final jobs fill slots).

Settings: the ``DEFAULT`` dict below (the proposed default ``schedules`` study); ``--set
key=value`` overrides a dotted key (``--set jrvae.epochs=40 --set bo.q=1``), ``--config
paper-mnist`` / ``paper-particles`` picks the paper-scale studies (GPU-sized; do not run them
on the 2-core machine).

Measured on the shared 2-core machine (load average 10-14 throughout, so wall times are
2-4x the CPU times), ``DEFAULT`` settings, one thread:

- one evaluation: 4.2-6.1 s CPU (13-45 s wall under that load); with ``discrete: enumerate``
  and 60 epochs 7.0-7.5 s CPU;
- end-to-end: 24 zBO evaluations + 16 random-pool evaluations + 4 final models + trajectory
  VAE: 200 s CPU sequential (so about 100-110 s on two idle cores, before Snakemake's
  per-job start-up); zBO best 1.083 >= random median 0.874; accuracy zBO jrVAE 0.898,
  constant beta_c = 1 jrVAE 0.348, vanilla VAE 0.664 (done-when met).

The machine is shared: wall times grow with its load, so CPU times (``time.process_time``,
what the job would take on an idle core) are reported next to them, with the load average.

Usage: python benchmarks/bench_schedules.py [--skip-run] [--set k=v ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import heapq
import json
import os
import time

import numpy as np
import torch

#: the proposed default study (issue 9, "a small schedules study")
DEFAULT = {
    "data": {"name": "digits", "classes": [0, 1, 4], "size": 24, "fill": 0.7, "rotation": 90.0, "copies": 1,
             "train_subset": 300},
    "seed": 11,
    "bounds": [1.0, 50.0],
    "families": {"cooldown": {}, "segments": {}, "periodic": {}},
    "trajectories": {"n": 300},
    "trajectory_vae": {"latent_dim": 2, "hidden": [128, 64], "sigma": 0.3, "beta": 1.0, "epochs": 300,
                       "batch_size": 64, "lr": 1e-3},
    "latent": {"grid": 40, "margin": 0.05},
    "jrvae": {"epochs": 50, "discrete_dim": 3, "content_dim": 2, "translation": False, "hidden": [128, 128],
              "decoder": "image", "likelihood": "bernoulli", "sigma": 0.5, "discrete": "gumbel",
              "angle_prior": 1.0, "beta_d": 3.0, "temperature": [1.0, 0.5], "batch_size": 16, "lr": 2e-3,
              "seed": 3},
    "objective": {"grid": 8, "quantile": 0.05, "weight": 0.0, "pairs": 20, "seed": 0},
    "bo": {"n_initial": 8, "iterations": 16, "q": 2, "acquisition": "ei", "xi": 0.0, "tol": 0.0,
           "strategy": "constant_liar", "liar": "min", "n_restarts": 2, "random_seeds": 20, "random_pool": 24,
           "seed": 5},
    "final": {"scaled_beta_c": 0.01},
}

#: the paper's studies (Biswas et al. 2023 Secs. 3, 4), meant for a GPU
PAPER = {
    "paper-mnist": {
        # all ten digits: within +-45 degrees a 6 is no rotated 9
        "data": {"name": "digits", "classes": list(range(10)), "size": 28, "fill": 0.7, "rotation": 90.0,
                 "copies": 3, "train_subset": 2000},
        "jrvae": {"epochs": 120, "discrete_dim": 10, "decoder": "coordinate", "hidden": [128, 128],
                  "discrete": "enumerate", "likelihood": "bernoulli", "beta_d": 3.0, "batch_size": 100, "lr": 1e-3},
        "trajectory_vae": {"epochs": 1000, "lr": 1e-4, "sigma": 0.3},
        "families": {"cooldown": {}, "segments": {}},
        "objective": {"weight": 0.0},
        "bo": {"n_initial": 20, "iterations": 120, "q": 4, "random_pool": 140},
    },
    "paper-particles": {
        "data": {"name": "particles", "counts": [1, 2, 3], "n_per_count": 1000, "size": 32, "train_subset": 1500},
        "bounds": [0.001, 0.05],
        "families": {"cooldown": {"ranges": {"high": [0.01, 0.05], "low": [0.001, 0.01]}},
                     "segments": {"ranges": {"low": [0.001, 0.005], "high": [0.02, 0.05], "noise": [0, 0.002]}},
                     "periodic": {"ranges": {"low": [0.001, 0.01], "high": [0.01, 0.05]}}},
        "jrvae": {"epochs": 200, "discrete_dim": 3, "decoder": "coordinate", "discrete": "enumerate",
                  "likelihood": "gaussian", "sigma": 0.01, "beta_d": 0.01, "lr": 1e-4, "batch_size": 100,
                  "angle_prior": 3.1416},
        "trajectory_vae": {"epochs": 2000, "lr": 1e-4, "sigma": 0.3},
        "objective": {"weight": 1.0, "pairs": 20},
        "bo": {"n_initial": 20, "iterations": 100, "q": 4, "tol": 1e-3, "random_pool": 120},
        "final": {"scaled_beta_c": 0.01},
    },
}


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        replace = k in ("families", "data")  # these blocks are replaced whole
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) and not replace else v
    return out


def _set(cfg: dict, item: str) -> None:
    key, value = item.split("=", 1)
    *path, last = key.split(".")
    d = cfg
    for p in path:
        d = d[p]
    d[last] = json.loads(value) if value[:1] in "[{0123456789-tfn" else value


def per_evaluation(cfg: dict, data: dict) -> dict:
    from latentopt.studies.schedules import evaluate_schedule

    N = cfg["jrvae"]["epochs"]
    t = np.linspace(0, 1, N)
    sub = data["train_index"]
    out = {}
    for name, beta in {"constant_1": np.ones(N), "constant_10": np.full(N, 10.0),
                       "cooldown_40_3": np.where(t < 0.1, 40.0, np.maximum(3.0, 40 - (t - 0.1) / 0.4 * 37))}.items():
        t0, c0 = time.perf_counter(), time.process_time()
        ev = evaluate_schedule(data["images"][sub], data["labels"][sub], beta, cfg["jrvae"], cfg["objective"])
        out[name] = {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
                     "train_seconds": ev["seconds"], "objective": ev["objective"], "accuracy": ev["accuracy"]}
        print(f"  evaluation {name:14s} {out[name]['seconds']:6.2f} s wall, {out[name]['cpu_seconds']:6.2f} s CPU "
              f"(training {ev['seconds']:.2f} s)  objective {ev['objective']:.3f}  accuracy {ev['accuracy']:.3f}",
              flush=True)
    return out


def _two_slot_wall(jobs: list[list[float]], slots: int = 2) -> float:
    """Wall time of job groups run in order (a group's jobs in parallel over ``slots``), greedy list scheduling."""
    clock = 0.0
    for group in jobs:
        free = [clock] * slots
        heapq.heapify(free)
        end = clock
        for d in sorted(group, reverse=True):
            s = heapq.heappop(free)
            heapq.heappush(free, s + d)
            end = max(end, s + d)
        clock = end
    return clock


def end_to_end(cfg: dict, data: dict) -> dict:
    from latentopt.optimizers.bayes import round_sizes
    from latentopt.studies.schedules import (
        FINAL_MODELS,
        evaluate_schedule,
        final_model,
        gather_run,
        propose_round,
        random_pool_indices,
        sample_schedules,
        schedule_grid,
        study_metrics,
    )
    from latentopt.trainers.trajectory_vae import train_trajectory_vae

    seed, N = cfg["seed"], cfg["jrvae"]["epochs"]
    times: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    traj = sample_schedules(cfg["families"], cfg["trajectories"]["n"], N, cfg["bounds"], seed)
    tv = cfg["trajectory_vae"]
    model, _ = train_trajectory_vae(traj["trajectories"], latent_dim=tv["latent_dim"], hidden=tuple(tv["hidden"]),
                                    sigma=tv["sigma"], beta=tv["beta"], epochs=tv["epochs"],
                                    batch_size=tv["batch_size"], lr=tv["lr"], seed=seed, progress=False)
    grid = schedule_grid(model, traj["trajectories"], cfg["latent"], cfg["bounds"])
    times["trajectory_vae_and_grid"] = time.perf_counter() - t0
    print(f"  trajectory VAE + grid: {times['trajectory_vae_and_grid']:.1f} s, "
          f"{int(grid['feasible'].sum())} / {grid['feasible'].size} feasible", flush=True)
    sub = data["train_index"]
    x, lab = data["images"][sub], data["labels"][sub]
    bo = cfg["bo"]
    rounds, evals, groups, propose_s = [], [], [], []
    cache: dict[int, dict] = {}  # grid index -> evaluation (the objective is deterministic per schedule)
    for r in range(len(round_sizes(bo["n_initial"], bo["iterations"], bo["q"]))):
        idx = np.concatenate([p["index"] for p in rounds]) if rounds else np.zeros(0, np.int64)
        yy = np.array([e["objective"] for es in evals for e in es])
        t1 = time.perf_counter()
        prop = propose_round(grid, idx, yy, r, bo)
        propose_s.append(time.perf_counter() - t1)
        rounds.append(prop)
        evs, durations = [], []
        for g, beta in zip(prop["index"], prop["beta"]):
            t1 = time.perf_counter()
            ev = evaluate_schedule(x, lab, beta, cfg["jrvae"], cfg["objective"])
            durations.append(time.perf_counter() - t1)
            cache[int(g)] = ev
            evs.append(ev)
        evals.append(evs)
        groups.append([propose_s[-1]])
        groups.append(durations)
        best = max(e["objective"] for es in evals for e in es)
        print(f"  round {r}: {len(evs)} evaluations {'(skipped)' if prop['skip'] else ''} "
              f"y = {[round(e['objective'], 3) for e in evs]} acc = {[round(e['accuracy'], 3) for e in evs]} "
              f"best {best:.3f}  ({sum(durations):.1f} s)", flush=True)
    pool = random_pool_indices(grid, bo)
    pool_y, pool_jobs = [], []
    for g in pool:
        if int(g) not in cache:
            t1 = time.perf_counter()
            cache[int(g)] = evaluate_schedule(x, lab, grid["trajectories"][g], cfg["jrvae"], cfg["objective"])
            pool_jobs.append(time.perf_counter() - t1)
        pool_y.append(cache[int(g)]["objective"])
    print(f"  random pool: {len(pool)} points, {len(pool_jobs)} extra evaluations ({sum(pool_jobs):.1f} s)",
          flush=True)
    run, info = gather_run(grid, rounds, evals, pool, np.asarray(pool_y), bo)
    finals, final_jobs = {}, []
    for kind in FINAL_MODELS:
        t1 = time.perf_counter()
        _, res = final_model(kind, data["images"], data["labels"], cfg["jrvae"], cfg["objective"], cfg["final"],
                             best_beta=run["beta"][int(run["best_index"])])
        final_jobs.append(time.perf_counter() - t1)
        finals[kind] = res
        print(f"  final {kind:15s} objective {res['objective']:.3f}  accuracy {res['accuracy']:.3f}  "
              f"({final_jobs[-1]:.1f} s)", flush=True)
    metrics = study_metrics(finals, {"zbo": info})
    eval_times = [d for g in groups[1::2] for d in g]
    wall2 = (times["trajectory_vae_and_grid"] + _two_slot_wall(groups) + _two_slot_wall([pool_jobs])
             + _two_slot_wall([final_jobs]))
    summary = {"metrics": metrics, "evaluations": info["evaluations"], "extra_random_evaluations": len(pool_jobs),
               "evaluation_seconds_median": float(np.median(eval_times)),
               "propose_seconds_median": float(np.median(propose_s)),
               "final_seconds": dict(zip(FINAL_MODELS, final_jobs)),
               "sequential_seconds": time.perf_counter() - t0, "sequential_cpu_seconds": time.process_time() - c0,
               "estimated_wall_2_slots": wall2,
               "bo_y": run["y"].tolist(), "bo_accuracy": run["accuracy"].tolist(),
               "random_best_final": run["random_best"][:, -1].tolist(),
               "best_beta": run["beta"][int(run["best_index"])].round(2).tolist()}
    print(json.dumps({k: summary[k] for k in ("metrics", "evaluation_seconds_median", "propose_seconds_median",
                                              "sequential_seconds", "sequential_cpu_seconds",
                                              "estimated_wall_2_slots")}, indent=1))
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="default", choices=["default", *PAPER])
    ap.add_argument("--set", action="append", default=[], help="dotted.key=value override")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-run", action="store_true")
    ap.add_argument("--skip-evaluation", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = DEFAULT if args.config == "default" else _merge(DEFAULT, PAPER[args.config])
    cfg = copy.deepcopy(cfg)
    for item in args.set:
        _set(cfg, item)
    from latentopt.studies.schedules import make_dataset

    t0 = time.perf_counter()
    data = make_dataset(cfg["data"], cfg["seed"])
    print(f"data: {data['images'].shape}, train subset {len(data['train_index'])} "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)
    result = {"config": cfg, "threads": args.threads, "loadavg_start": os.getloadavg()}
    if not args.skip_evaluation:
        print("per evaluation (single job):")
        result["evaluation"] = per_evaluation(cfg, data)
    if not args.skip_run:
        print("end-to-end (in-process, sequential):")
        result["run"] = end_to_end(cfg, data)
    result["loadavg_end"] = os.getloadavg()
    print(f"load average (1, 5, 15 min) at start {result['loadavg_start']}, at end {result['loadavg_end']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1, default=float)


if __name__ == "__main__":
    main()
