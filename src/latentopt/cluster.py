"""Cluster resource estimates (memory in MB, runtime in minutes) for each workflow stage.

The rules pass these to Snakemake as ``resources: mem_mb=..., runtime=...`` so that
``--profile slurm`` requests what a study needs: a paper-scale study (35,000 states of
128 x 128) asks for far more than the quickstart. Estimates are deliberately generous
(about 2x the CPU timings measured on a 2-core laptop, plus a fixed start-up allowance);
the torch stages assume a GPU is ``GPU_SPEEDUP`` times faster when they request one.
Functions take a study's validated config block (and a run block) and return
``{"mem_mb": int, "runtime": int}``.
"""

from __future__ import annotations

import math

#: seconds per heat-bath spin update and per thread (measured: ~65-110 M updates/s/thread with the kernel
#: vectorized across samples; 3x margin)
SEC_PER_SPIN_UPDATE = 1.0 / 3e7
#: seconds per decoded (or encoded) 64 x 64 state, forward + backward, on 2 CPU threads
SEC_PER_STATE_TRAIN = 6e-3
SEC_PER_STATE_DECODE = 2e-3
SEC_PER_STATE_GRAD = 4e-3
BASE_MEM_MB = 1500      # python + torch + numba
#: conservative speed-up of the torch stages on a GPU over 2 CPU threads
GPU_SPEEDUP = 10.0
BASE_MINUTES = 5


def _state_mb(L: int, n: int, bytes_per_value: int = 4) -> float:
    return n * 3 * L * L * bytes_per_value / 2**20


def _scale(L: int) -> float:
    return (L / 64) ** 2


def _minutes(seconds: float, gpu: bool = False) -> int:
    """Runtime request: start-up allowance plus twice the estimated compute time."""
    return int(math.ceil(BASE_MINUTES + 2 * seconds / (GPU_SPEEDUP if gpu else 1.0) / 60))


def _mb(mb: float) -> int:
    return int(math.ceil(BASE_MEM_MB + mb))


def simulate_shard(study: dict, threads: int) -> dict[str, int]:
    """One shard: ``ceil(n_samples / shards)`` chains of ``n_sweeps`` sweeps of L^2 updates."""
    L, sim = study["system"]["L"], study["simulate"]
    m = math.ceil(sim["n_samples"] / sim["shards"])
    seconds = m * sim["n_sweeps"] * L * L * SEC_PER_SPIN_UPDATE / max(1, threads)
    return {"mem_mb": _mb(3 * _state_mb(L, m, 8)), "runtime": _minutes(seconds)}


def train_vae(study: dict, gpu: bool = False) -> dict[str, int]:
    """Training: ``epochs`` passes over the data set (held in memory, float32)."""
    L, n = study["system"]["L"], study["simulate"]["n_samples"]
    seconds = study["vae"]["epochs"] * n * _scale(L) * SEC_PER_STATE_TRAIN
    return {"mem_mb": _mb(3 * _state_mb(L, n) + 500 * _scale(L)), "runtime": _minutes(seconds, gpu)}


def generate(study: dict, gpu: bool = False) -> dict[str, int]:
    L, n = study["system"]["L"], study["generate"]["n_samples"]
    return {"mem_mb": _mb(2 * _state_mb(L, n)), "runtime": _minutes(n * _scale(L) * SEC_PER_STATE_DECODE, gpu)}


def relax(study: dict, gpu: bool = False) -> dict[str, int]:
    """Single-code modification of all X_VAE codes (decoder forward + backward each step)."""
    L, n = study["system"]["L"], study["generate"]["n_samples"]
    seconds = study["relax"]["iterations"] * n * _scale(L) * SEC_PER_STATE_GRAD
    return {"mem_mb": _mb(40 * _state_mb(L, min(n, study["relax"]["batch_size"]))), "runtime": _minutes(seconds, gpu)}


def optimize(study: dict, run: dict, gpu: bool = False) -> dict[str, int]:
    """One optimization run: decoded states per iteration x iterations."""
    L = study["system"]["L"]
    if run["algorithm"] == "genetic":
        states, iters, cost = run["population"], run["generations"], SEC_PER_STATE_DECODE
    elif run["algorithm"] == "stochastic":
        states, iters, cost = run["samples"], run["iterations"], SEC_PER_STATE_GRAD
    else:
        states, iters, cost = run["codes"], run["iterations"], SEC_PER_STATE_GRAD
    seconds = states * iters * _scale(L) * cost
    return {"mem_mb": _mb(40 * _state_mb(L, min(states, run["batch_size"]))), "runtime": _minutes(seconds, gpu)}


def evaluate(study: dict, gpu: bool = False) -> dict[str, int]:
    """Metrics over the data set (chunked) and the figures."""
    L, n = study["system"]["L"], study["simulate"]["n_samples"]
    seconds = n * _scale(L) * 5e-3
    return {"mem_mb": _mb(2 * _state_mb(L, n) + 200), "runtime": _minutes(seconds, gpu)}


# ---------------------------------------------------------------- trajectory studies
#: seconds per FerroSIM site update on 2 threads (measured: ~3e9 site-steps in 10 s)
SEC_PER_SITE_STEP = 3.3e-9
#: seconds per trajectory and epoch (T = 900, hidden 256-128) on 2 CPU threads
SEC_PER_TRAJECTORY_EPOCH = 6e-5
#: BO overhead per iteration (GP fit + posterior over 10,000 candidates, 600 observations)
SEC_PER_BO_ITERATION = 0.5


def _grid_points(study: dict) -> int:
    return study["latent"]["grid"] ** study["vae"]["latent_dim"]


def _site_steps(study: dict, histories: int) -> float:
    s, T = study["system"], study["trajectories"]["steps"] + study["objective"]["equilibration"]
    return histories * T * s["substeps"] * s["N"] ** 2


def trajectories(study: dict) -> dict[str, int]:
    t = study["trajectories"]
    return {"mem_mb": _mb(3 * t["n"] * t["steps"] * 8 / 2**20), "runtime": _minutes(t["n"] * t["steps"] * 1e-7)}


def train_trajectory_vae(study: dict, gpu: bool = False) -> dict[str, int]:
    t, v = study["trajectories"], study["vae"]
    seconds = v["epochs"] * t["n"] * (t["steps"] / 900) * SEC_PER_TRAJECTORY_EPOCH
    return {"mem_mb": _mb(4 * t["n"] * t["steps"] * 4 / 2**20 + 200), "runtime": _minutes(seconds, gpu)}


def latent_grid(study: dict, gpu: bool = False) -> dict[str, int]:
    m, T = _grid_points(study), study["trajectories"]["steps"]
    return {"mem_mb": _mb(4 * m * T * 8 / 2**20), "runtime": _minutes(m * T * 1e-6, gpu)}


def ground_truth(study: dict) -> dict[str, int]:
    m, T = _grid_points(study), study["trajectories"]["steps"]
    return {"mem_mb": _mb(3 * m * T * 8 / 2**20), "runtime": _minutes(_site_steps(study, m) * SEC_PER_SITE_STEP)}


def bayes(study: dict, run: dict) -> dict[str, int]:
    """GP iterations, one simulation per evaluation, and random search (simulated without a ground truth)."""
    m, T = _grid_points(study), study["trajectories"]["steps"]
    evals = run["n_initial"] + run["iterations"]
    sims = evals * (1 + (0 if study["ground_truth"] else run["random_seeds"]))
    seconds = run["iterations"] * SEC_PER_BO_ITERATION * max(1.0, evals / 600) ** 2 \
        + _site_steps(study, sims) * SEC_PER_SITE_STEP
    return {"mem_mb": _mb(3 * m * T * 8 / 2**20 + 8 * m * min(evals, 5000) * 8 / 2**20 + 200),
            "runtime": _minutes(seconds)}


def evaluate_trajectories(study: dict, gpu: bool = False) -> dict[str, int]:
    m, T, n = _grid_points(study), study["trajectories"]["steps"], study["trajectories"]["n"]
    return {"mem_mb": _mb(3 * (m + n) * T * 8 / 2**20 + 300), "runtime": _minutes(60 + m * 1e-4, gpu)}


# ------------------------------------------------------------------ KL-schedule studies (kind: schedules)
#: seconds per image and epoch of jrVAE training on one CPU thread at 24 x 24 pixels: image decoder (measured
#: ~3e-4) and coordinate decoder (per-pixel MLP, ~30x)
SEC_PER_IMAGE_EPOCH = {"image": 4e-4, "coordinate": 1.2e-2}


def _n_images(study: dict) -> int:
    """Images of the study's data set (digits: about 180 per class and copy)."""
    d = study["data"]
    if d["name"] == "particles":
        return len(d.get("counts", (1, 2, 3))) * d.get("n_per_count", 150)
    return 180 * len(d.get("classes", (0, 1, 4))) * d.get("copies", 1)


def _jrvae_seconds(study: dict, n_images: int) -> float:
    j, size = study["jrvae"], study["data"]["size"]
    return j["epochs"] * n_images * (size / 24) ** 2 * SEC_PER_IMAGE_EPOCH[j["decoder"]]


def images(study: dict, gpu: bool = False) -> dict[str, int]:
    n, size = _n_images(study), study["data"]["size"]
    return {"mem_mb": _mb(4 * n * size * size * 4 / 2**20), "runtime": _minutes(n * size * size * 2e-6)}


def propose_round(study: dict, gpu: bool = False) -> dict[str, int]:
    """A GP fit and the acquisition over the feasible grid (a few hundred observations at most)."""
    m = _grid_points(study)
    return {"mem_mb": _mb(16 * m * 200 * 8 / 2**20), "runtime": _minutes(30 + m * 1e-3)}


def train_jrvae(study: dict, gpu: bool = False) -> dict[str, int]:
    """One zBO evaluation: a jrVAE trained on the BO subset, then its manifolds scored."""
    n = study["data"]["train_subset"] or _n_images(study)
    size = study["data"]["size"]
    return {"mem_mb": _mb(10 * n * size * size * 4 / 2**20 + 300), "runtime": _minutes(_jrvae_seconds(study, n), gpu)}


def final_jrvae(study: dict, gpu: bool = False) -> dict[str, int]:
    """A final model, trained on the full image set."""
    n, size = _n_images(study), study["data"]["size"]
    return {"mem_mb": _mb(10 * n * size * size * 4 / 2**20 + 300), "runtime": _minutes(_jrvae_seconds(study, n), gpu)}


def evaluate_schedules(study: dict, gpu: bool = False) -> dict[str, int]:
    return {"mem_mb": _mb(4 * _n_images(study) * study["data"]["size"] ** 2 * 4 / 2**20 + 300), "runtime": _minutes(60)}


# ------------------------------------------------------------------ transition studies (kind: transitions)
#: seconds per image, spin and NEB iteration (energy and autograd gradient on one thread; measured ~1.2e-6)
SEC_PER_IMAGE_SPIN_ITERATION = 3e-6


def end_states(study: dict, gpu: bool = False) -> dict[str, int]:
    L = study["system"]["L"]
    return {"mem_mb": _mb(50 * _state_mb(L, 2, 8)), "runtime": _minutes(L * L * 5e-3)}


def meta_learn(study: dict, gpu: bool = False) -> dict[str, int]:
    m = study["meta"]
    seconds = 0.2 * m["epochs"] * m["steps_per_epoch"] * m["n_paths"] / 30 + 0.01 * m["benchmark"]["max_iter"]
    return {"mem_mb": _mb(500), "runtime": _minutes(seconds)}


def neb(study: dict, gpu: bool = False) -> dict[str, int]:
    """One NEB run (up to ``max_iter`` iterations, 2 m - 1 images for the doubled check) and the Hessian."""
    L, n = study["system"]["L"], study["neb"]
    images = 2 * n["images"] - 1
    seconds = min(n["max_iter"], 5000) * images * L * L * SEC_PER_IMAGE_SPIN_ITERATION
    return {"mem_mb": _mb(30 * _state_mb(L, images, 8)), "runtime": _minutes(seconds, gpu)}


def evaluate_transitions(study: dict, gpu: bool = False) -> dict[str, int]:
    return {"mem_mb": _mb(500), "runtime": _minutes(60)}
