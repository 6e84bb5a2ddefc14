"""Hooks of the spin studies (``kind: spins``, Park et al. 2022): config check, resources, rule inputs.

Light (numpy only), like every hooks module (:mod:`latentopt.studies.hooks`): the config
validation and the Snakefile import it on every invocation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from latentopt import cluster
from latentopt.cluster import SEC_PER_STATE_DECODE, SEC_PER_STATE_DESCENT, SEC_PER_STATE_GRAD, SEC_PER_STATE_TRAIN
from latentopt.config import ConfigError, check_training_split
from latentopt.physics.boundary import boundary_from_config
from latentopt.studies import KINDS

KIND = KINDS["spins"]

# ------------------------------------------------------------------ config check
#: direction used when a run does not give one
DEFAULT_DIRECTION = {"energy": "min", "W": "max", "Mz": "max", "C": "max", "C_BC": "max"}
DEFAULT_BOUNDARY = {"shape": "ring", "radius": 0.35, "width": 2.0, "direction": "up"}


def check(prefix: str, study: dict[str, Any], root: Path, studies: Mapping) -> None:
    """L divisible by 16, an annealing schedule that cools, shards <= samples, a training split that
    leaves data, each run's direction (and ``a`` of C, ``boundary`` of C_BC) filled in and its
    boundary map readable, elitism below the population.

    Raises
    ------
    ConfigError
        Naming the key, e.g. ``studies.labyrinth.system.L: 60 is not divisible by 16``.
    """
    system, sim, vae = study["system"], study["simulate"], study["vae"]
    L = system["L"]
    if L % 16:
        raise ConfigError(f"{prefix}.system.L: {L} is not divisible by 16 (the VAE pools four times by 2)")
    if not sim["T_end"] < sim["T_start"]:
        raise ConfigError(f"{prefix}.simulate.T_end: must be below T_start ({sim['T_end']} >= {sim['T_start']})")
    if sim["shards"] > sim["n_samples"]:
        raise ConfigError(f"{prefix}.simulate.shards: {sim['shards']} shards for {sim['n_samples']} samples; "
                          "expected shards <= n_samples")
    check_training_split(prefix, sim["n_samples"], "simulate.n_samples", vae, "states")
    for run_name, run in study.get("optimize", {}).items():
        key = f"{prefix}.optimize.{run_name}"
        run.setdefault("direction", DEFAULT_DIRECTION[run["objective"]])
        if run["objective"] == "C":
            run.setdefault("a", [1, 0])
        if run["objective"] == "C_BC":
            run.setdefault("boundary", {})
            if "file" not in run["boundary"]:
                run["boundary"] = {**DEFAULT_BOUNDARY, **run["boundary"]}
            try:
                boundary_from_config(run["boundary"], L, root)
            except (ValueError, FileNotFoundError) as exc:
                raise ConfigError(f"{key}.boundary: {exc}") from exc
        if run["algorithm"] == "genetic" and run["elitism"] >= run["population"]:
            raise ConfigError(f"{key}.elitism: must be below population ({run['elitism']} >= {run['population']})")


# ------------------------------------------------------------------ resources (latentopt.cluster's model)
def simulate_shard(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """One shard: ``ceil(n_samples / shards)`` chains of ``n_sweeps`` sweeps of L^2 updates."""
    sim = study["simulate"]
    return cluster.heat_bath_shard(study["system"]["L"], math.ceil(sim["n_samples"] / sim["shards"]), sim["n_sweeps"],
                                   threads)


def train_vae(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """Training: ``epochs`` passes over the data set (held in memory, float32)."""
    L, n = study["system"]["L"], study["simulate"]["n_samples"]
    seconds = study["vae"]["epochs"] * n * cluster.lattice_scale(L) * SEC_PER_STATE_TRAIN
    return {"mem_mb": cluster.mb(3 * cluster.state_mb(L, n) + 500 * cluster.lattice_scale(L)),
            "runtime": cluster.minutes(seconds, gpu)}


def generate(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """Decoding ``generate.n_samples`` prior codes (X_VAE)."""
    L, n = study["system"]["L"], study["generate"]["n_samples"]
    return {"mem_mb": cluster.mb(2 * cluster.state_mb(L, n)),
            "runtime": cluster.minutes(n * cluster.lattice_scale(L) * SEC_PER_STATE_DECODE, gpu)}


def modify(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """Single-code modification of all X_VAE codes (decoder forward + backward each step)."""
    L, n = study["system"]["L"], study["generate"]["n_samples"]
    seconds = study["relax"]["iterations"] * n * cluster.lattice_scale(L) * SEC_PER_STATE_GRAD
    return {"mem_mb": cluster.mb(40 * cluster.state_mb(L, min(n, study["relax"]["batch_size"]))),
            "runtime": cluster.minutes(seconds, gpu)}


def optimize(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """One optimization run: decoded states per iteration x iterations (x restarts), each scored after
    ``relax_steps`` descent steps."""
    L = study["system"]["L"]
    if run["algorithm"] == "genetic":
        states, iters, cost = run["population"], run["generations"] * run.get("restarts", 1), SEC_PER_STATE_DECODE
    elif run["algorithm"] == "stochastic":
        states, iters, cost = run["samples"], run["iterations"], SEC_PER_STATE_GRAD
    else:
        states, iters, cost = run["codes"], run["iterations"], SEC_PER_STATE_GRAD
    cost += run.get("relax_steps", 0) * SEC_PER_STATE_DESCENT
    seconds = states * iters * cluster.lattice_scale(L) * cost
    return {"mem_mb": cluster.mb(40 * cluster.state_mb(L, min(states, run["batch_size"]))),
            "runtime": cluster.minutes(seconds, gpu)}


def baseline(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """One direct search: as many states scored as the latent run, each a field or gradient evaluation."""
    L = study["system"]["L"]
    per = {"genetic": "population", "stochastic": "samples", "single_code": "codes"}[run["algorithm"]]
    iters = run["restarts"] * run["generations"] if run["algorithm"] == "genetic" else run["iterations"] + 1
    seconds = run[per] * iters * cluster.lattice_scale(L) * SEC_PER_STATE_DECODE
    return {"mem_mb": cluster.mb(12 * cluster.state_mb(L, run[per]) + 300), "runtime": cluster.minutes(seconds, gpu)}


def evaluate(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """Metrics over the data set (chunked) and the figures."""
    L, n = study["system"]["L"], study["simulate"]["n_samples"]
    seconds = n * cluster.lattice_scale(L) * 5e-3
    return {"mem_mb": cluster.mb(2 * cluster.state_mb(L, n) + 200), "runtime": cluster.minutes(seconds, gpu)}


#: the estimator of each rule ``spins_<step>`` that runs on the cluster
ESTIMATES = {"simulate": simulate_shard, "train": train_vae, "generate": generate, "modify": modify,
             "optimize": optimize, "baseline": baseline, "evaluate": evaluate}


# ------------------------------------------------------------------ rule inputs
def run_files(wc, studies: Mapping, repo: Path) -> list[str]:
    """The files of the study's optimization runs, ``optimize/<run>.h5``."""
    return [KIND.path(wc.study, "optimize", f"{r}.h5") for r in KIND.runs(studies[wc.study])]


def latent_settings(wc, studies: Mapping, repo: Path) -> dict:
    """A run's settings without its ``baseline`` block: the params of spins_optimize and spins_plot.

    The direct search's settings are not the latent run's, so changing them reruns only
    spins_baseline.
    """
    run = KIND.run_settings(studies[wc.study], wc.run)
    return {k: v for k, v in run.items() if k != "baseline"}


def baseline_runs(study: Mapping) -> list[str]:
    """The runs of a study whose direct search is enabled (``baseline.enabled``, on by default)."""
    return [r for r in KIND.runs(study) if KIND.run_settings(study, r).get("baseline", {}).get("enabled", True)]


def baseline_files(wc, studies: Mapping, repo: Path) -> list[str]:
    """The files of the study's direct searches, ``baseline/<run>.h5`` (runs with ``baseline.enabled``)."""
    return [KIND.path(wc.study, "baseline", f"{r}.h5") for r in baseline_runs(studies[wc.study])]


def baseline_inputs(wc, studies: Mapping, repo: Path) -> dict[str, str]:
    """The latent run's file (its evaluations are the budget), plus ``dataset.h5`` for ``init: heatbath``."""
    inputs = {"optimized": KIND.path(wc.study, "optimize", f"{wc.run}.h5")}
    if KIND.run_settings(studies[wc.study], wc.run)["baseline"]["init"] == "heatbath":
        inputs["dataset"] = KIND.path(wc.study, "data", "dataset.h5")
    return inputs


def optimize_inputs(wc, studies: Mapping, repo: Path) -> dict[str, str]:
    """The trained model, plus the boundary map file of a C_BC run that names one (in the repository)."""
    inputs = {"model": KIND.path(wc.study, "vae", "model.pt")}
    boundary = KIND.run_settings(studies[wc.study], wc.run).get("boundary", {})
    if "file" in boundary:
        inputs["boundary"] = str(repo / boundary["file"])  # resolved like the script does
    return inputs
