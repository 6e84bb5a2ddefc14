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
from latentopt.sweeps import SweepError, check_sweep, expand_sweep

KIND = KINDS["spins"]

# ------------------------------------------------------------------ config check
#: direction used when a run does not give one
DEFAULT_DIRECTION = {"energy": "min", "W": "max", "Mz": "max", "C": "max", "C_BC": "max"}
DEFAULT_BOUNDARY = {"shape": "ring", "radius": 0.35, "width": 2.0, "direction": "up"}


def check(prefix: str, study: dict[str, Any], root: Path, studies: Mapping) -> None:
    """L divisible by 16, an annealing schedule that cools, shards <= samples, a training split that
    leaves data, each run's direction (and ``a`` of C, ``boundary`` of C_BC) filled in and its
    boundary map readable, elitism below the population; a valid ``sweep`` (:func:`check_study_sweep`).

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
    n_states, n_key = sim["n_samples"], "simulate.n_samples"
    if "sweep" in study:  # the VAE trains on the states of every point
        check_study_sweep(prefix, study)
        n_states, n_key = n_states * len(points(study)), "simulate.n_samples times the sweep's points"
    check_training_split(prefix, n_states, n_key, vae, "states")


#: the keys of a spin study's system block (a swept key must be one of them)
SYSTEM_KEYS = {"model", "L", "J", "D", "dmi", "K", "B"}


def check_study_sweep(prefix: str, study: dict[str, Any]) -> None:
    """A sweep study: a valid ``sweep`` (:func:`latentopt.sweeps.check_sweep`) and at least one optimize run, every
    run an energy minimization with ``polish: true`` (the latent search of each point).

    Raises
    ------
    ConfigError
        Naming the key.
    """
    try:
        check_sweep(prefix, study["sweep"], SYSTEM_KEYS)
    except SweepError as exc:
        raise ConfigError(str(exc)) from exc
    runs = study.get("optimize", {})
    if not runs:
        raise ConfigError(f"{prefix}.optimize: a sweep needs at least one run (an energy minimization with "
                          "polish: true) to search every point's latent space")
    for name, run in runs.items():
        if run["objective"] != "energy" or run["direction"] != "min" or not run.get("polish"):
            raise ConfigError(f"{prefix}.optimize.{name}: in a sweep every run searches the point's lowest energy; "
                              "expected objective: energy, direction: min, polish: true")


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


def reference(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """One point's reference candidates relaxed in spin space (about 60 s for eight candidates at L = 64 on one
    core, measured; scaled by L^2 and a relaxation that lengthens with L)."""
    L = study["system"]["L"]
    seconds = 60.0 * (L / 64) ** 3 * study["phases"]["max_iter"] / 5000
    return {"mem_mb": cluster.mb(400 + 60 * cluster.state_mb(L, 1)), "runtime": cluster.minutes(seconds, gpu)}


def sweep_evaluate(study: Mapping, run: Mapping | None = None, *, threads: int = 1,
                   gpu: bool = False) -> dict[str, int]:
    """The sweep's table and figures (classification and structure factors of a few states per point)."""
    n = max(1, len(points(study)))
    return {"mem_mb": cluster.mb(500), "runtime": cluster.minutes(5.0 * n, gpu)}


#: the sweep's rules: a point's shard and run cost what a study's do
ESTIMATES.update(sweep_simulate=simulate_shard, sweep_optimize=optimize, sweep_reference=reference,
                 sweep_evaluate=sweep_evaluate)


# ------------------------------------------------------------------ sweeps
def points(study: Mapping) -> dict[str, dict]:
    """The points of a sweep study (:func:`latentopt.sweeps.expand_sweep`), ``{}`` for a study without ``sweep``."""
    return expand_sweep(study["system"], study["sweep"]) if "sweep" in study else {}


#: the report figures of a sweep study, ``<root>/figures/<file>.png`` (captions ``workflow/report/spins/``)
SWEEP_FIGURES = ("sweep_phase_diagram", "sweep_energies", "sweep_states")


def targets(kind, name: str, study: Mapping, default: list[str]) -> list[str]:
    """A sweep study's final files: ``sweep/metrics.json`` and the sweep figures (instead of a single study's)."""
    if "sweep" not in study:
        return default
    return ([kind.path(name, "sweep", "metrics.json"), kind.path(name, "figures", "sweep_table.html")]
            + [kind.path(name, "figures", f"{f}.png") for f in SWEEP_FIGURES])


def point_shards(wc, studies: Mapping, repo: Path) -> list[str]:
    """Every point's simulation shards, ``points/<point>/shards/shard<k>.h5`` (the pooled data set's inputs)."""
    study = studies[wc.study]
    return [KIND.path(wc.study, "points", p, "shards", f"shard{k}.h5")
            for p in points(study) for k in range(study["simulate"]["shards"])]


def merge_inputs(wc, studies: Mapping, repo: Path) -> list[str]:
    """The inputs of ``spins_merge``: the study's shards, or every point's for a sweep study (:func:`point_shards`)."""
    study = studies[wc.study]
    if "sweep" in study:
        return point_shards(wc, studies, repo)
    return [KIND.path(wc.study, "data", "shards", f"shard{k}.h5") for k in range(study["simulate"]["shards"])]


def point_files(wc, studies: Mapping, repo: Path) -> dict[str, list[str]]:
    """Every point's reference and run files, by point order: ``reference``, ``runs``."""
    study = studies[wc.study]
    pts = list(points(study))
    return {"reference": [KIND.path(wc.study, "points", p, "reference.h5") for p in pts],
            "runs": [KIND.path(wc.study, "points", p, "optimize", f"{r}.h5") for p in pts for r in KIND.runs(study)]}


def point_system(wc, studies: Mapping, repo: Path) -> dict:
    """The ``system`` block of the point named by the ``{point}`` wildcard."""
    return points(studies[wc.study])[wc.point]["system"]


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
