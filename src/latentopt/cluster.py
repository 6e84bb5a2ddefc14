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

#: seconds per heat-bath spin update and per thread (measured: ~16 M updates/s/thread)
SEC_PER_SPIN_UPDATE = 1.0 / 8e6
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
