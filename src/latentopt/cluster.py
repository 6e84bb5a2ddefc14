"""The cluster resource model: memory in MB and runtime in minutes of a job, from a study's sizes.

The rules pass the estimates to Snakemake as ``resources: mem_mb=..., runtime=...`` so that
``--profile slurm`` requests what a study needs: a paper-scale study (35,000 states of
128 x 128) asks for far more than the quickstart. Estimates are deliberately generous
(about 2x the CPU timings measured on a 2-core laptop, plus a fixed start-up allowance);
the torch stages assume a GPU is ``GPU_SPEEDUP`` times faster when they request one.

This module holds what the kinds share: the measured rates, :func:`minutes` and :func:`mb`,
and the estimators of the shared trajectory layers (families, trajectory VAE, decoded latent
grid). Each kind's own estimators are in its hooks module (``latentopt.studies.hooks.<kind>``,
table ``ESTIMATES``, asked through :meth:`latentopt.studies.Kind.estimate`). Every estimator
has one signature, ``estimator(study, run=None, *, threads=1, gpu=False)``: the study's
validated config block, the run's block for a rule with a run wildcard, the job's threads and
whether it asks for a GPU; it returns ``{"mem_mb": int, "runtime": int}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

#: seconds per heat-bath spin update and per thread (measured: ~65-110 M updates/s/thread with the kernel
#: vectorized across samples; 3x margin)
SEC_PER_SPIN_UPDATE = 1.0 / 3e7
#: seconds per decoded (or encoded) 64 x 64 state, forward + backward, on 2 CPU threads
SEC_PER_STATE_TRAIN = 6e-3
SEC_PER_STATE_DECODE = 2e-3
SEC_PER_STATE_GRAD = 4e-3
#: one fixed-size descent step in spin space (relax_steps; closed-form field, one Xeon thread)
SEC_PER_STATE_DESCENT = 3e-4
BASE_MEM_MB = 1500      # python + torch + numba
#: conservative speed-up of the torch stages on a GPU over 2 CPU threads
GPU_SPEEDUP = 10.0
BASE_MINUTES = 5


def state_mb(L: int, n: int, bytes_per_value: int = 4) -> float:
    """Megabytes of ``n`` states of ``3 x L x L`` values."""
    return n * 3 * L * L * bytes_per_value / 2**20


def lattice_scale(L: int) -> float:
    """Cost of an ``L x L`` state relative to the 64 x 64 of the measured rates."""
    return (L / 64) ** 2


def minutes(seconds: float, gpu: bool = False) -> int:
    """Runtime request: start-up allowance plus twice the estimated compute time."""
    return int(math.ceil(BASE_MINUTES + 2 * seconds / (GPU_SPEEDUP if gpu else 1.0) / 60))


def mb(megabytes: float) -> int:
    """Memory request: the interpreter's and libraries' base plus ``megabytes``."""
    return int(math.ceil(BASE_MEM_MB + megabytes))


def heat_bath_shard(L: int, chains: int, sweeps: int, threads: int) -> dict[str, int]:
    """One shard of heat-bath states: ``chains`` chains of ``sweeps`` sweeps of ``L^2`` updates on ``threads``."""
    seconds = chains * sweeps * L * L * SEC_PER_SPIN_UPDATE / max(1, threads)
    return {"mem_mb": mb(3 * state_mb(L, chains, 8)), "runtime": minutes(seconds)}


# ---------------------------------------------------------------- trajectory layers (trajectories and schedules)
#: seconds per trajectory and epoch (T = 900, hidden 256-128) on 2 CPU threads
SEC_PER_TRAJECTORY_EPOCH = 6e-5


def grid_points(study: Mapping) -> int:
    """Points of the study's latent grid (``latent.grid`` per latent dimension)."""
    return study["latent"]["grid"] ** study["vae"]["latent_dim"]


def trajectories(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """The training trajectories drawn from the families."""
    t = study["trajectories"]
    return {"mem_mb": mb(3 * t["n"] * t["steps"] * 8 / 2**20), "runtime": minutes(t["n"] * t["steps"] * 1e-7)}


def train_trajectory_vae(study: Mapping, run: Mapping | None = None, *, threads: int = 1,
                         gpu: bool = False) -> dict[str, int]:
    """Training the trajectory VAE: ``epochs`` passes over the trajectories."""
    t, v = study["trajectories"], study["vae"]
    seconds = v["epochs"] * t["n"] * (t["steps"] / 900) * SEC_PER_TRAJECTORY_EPOCH
    return {"mem_mb": mb(4 * t["n"] * t["steps"] * 4 / 2**20 + 200), "runtime": minutes(seconds, gpu)}


def latent_grid(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """Decoding the latent grid into trajectories and filtering the feasible ones."""
    m, T = grid_points(study), study["trajectories"]["steps"]
    return {"mem_mb": mb(4 * m * T * 8 / 2**20), "runtime": minutes(m * T * 1e-6, gpu)}
