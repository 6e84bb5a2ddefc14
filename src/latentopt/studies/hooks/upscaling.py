"""Hooks of the upscaling studies (``kind: upscaling``, RUGAN): config check, resources, rule inputs.

Light (numpy only), like every hooks module (:mod:`latentopt.studies.hooks`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from latentopt import cluster
from latentopt.cluster import SEC_PER_SPIN_UPDATE, SEC_PER_STATE_DECODE
from latentopt.conditioned_generation import calibration_draws, calibration_size
from latentopt.config import ConfigError
from latentopt.studies import KINDS

KIND = KINDS["upscaling"]


# ------------------------------------------------------------------ config check
def check(prefix: str, study: dict[str, Any], root: Path, studies: Mapping) -> None:
    """L an even multiple of ``gan.upsample``, an ordered temperature grid below the anneal's start, shards
    <= samples, a GAN batch within the training set and a heat-bath scale among the scales (filled in as the
    largest when not given).

    Raises
    ------
    ConfigError
        Naming the key.
    """
    sim, gan, ev = study["simulate"], study["gan"], study["evaluate"]
    L, u = study["system"]["L"], gan["upsample"]
    if L % u or (L // u) % 2:
        raise ConfigError(f"{prefix}.system.L: {L} must be an even multiple of gan.upsample = {u} (the noise block "
                          f"has L / upsample cells a side, an even number for the seam check)")
    if sim["T_min"] > sim["T_max"]:
        raise ConfigError(f"{prefix}.simulate.T_min: must not exceed T_max ({sim['T_min']} > {sim['T_max']})")
    if sim["T_start"] < sim["T_max"]:
        raise ConfigError(f"{prefix}.simulate.T_start: the anneal starts at or above T_max "
                          f"({sim['T_start']} < {sim['T_max']})")
    if sim["shards"] > sim["n_samples"]:
        raise ConfigError(f"{prefix}.simulate.shards: {sim['shards']} shards for {sim['n_samples']} samples; "
                          "expected shards <= n_samples")
    if gan["batch_size"] > sim["n_samples"]:
        raise ConfigError(f"{prefix}.gan.batch_size: {gan['batch_size']} is larger than the training set "
                          f"(simulate.n_samples = {sim['n_samples']})")
    if ev["heatbath_scale"] is None:
        ev["heatbath_scale"] = max(ev["scales"])
    elif ev["heatbath_scale"] not in ev["scales"]:
        raise ConfigError(f"{prefix}.evaluate.heatbath_scale: {ev['heatbath_scale']} is not among "
                          f"evaluate.scales {ev['scales']}")


# ------------------------------------------------------------------ resources (latentopt.cluster's model)
#: seconds per generated or critic-scored state of 64 x 64 sites, forward + backward, on 2 CPU threads, for
#: the default study's network widths (scaled by width)
SEC_PER_GAN_STATE = 4e-3


def _thermal_sweeps(study: Mapping) -> int:
    return study["simulate"]["n_anneal"] + study["simulate"]["n_hold"]


def thermal_shard(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """One shard of thermal states: ``ceil(n_samples / shards)`` chains of ``n_anneal + n_hold`` sweeps."""
    sim = study["simulate"]
    return cluster.heat_bath_shard(study["system"]["L"], math.ceil(sim["n_samples"] / sim["shards"]),
                                   _thermal_sweeps(study), threads)


def merge_thermal(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """Merging the shards into one data set."""
    L, n = study["system"]["L"], study["simulate"]["n_samples"]
    return {"mem_mb": cluster.mb(3 * cluster.state_mb(L, n)), "runtime": cluster.minutes(60)}


def train_gan(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """``epochs`` passes over the data, each state scored ``~2 (n_critic + 1) / n_critic`` times by the critic."""
    L, n, gan = study["system"]["L"], study["simulate"]["n_samples"], study["gan"]
    passes = gan["epochs"] * (3 + 2 / gan["n_critic"]) + sum(s * s for s in gan["energy_scales"])
    width = (gan["channels"] + gan["out_channels"] + sum(gan["critic_channels"])) / 112  # the default study's: 1
    seconds = passes * n * cluster.lattice_scale(L) * width * SEC_PER_GAN_STATE
    return {"mem_mb": cluster.mb(3 * cluster.state_mb(L, n) + 500 * cluster.lattice_scale(L)),
            "runtime": cluster.minutes(seconds, gpu)}


def generate_scale(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """The largest scale: ``n_generate`` (plus calibration) states of ``(s L)^2`` sites, exact energies."""
    L, ev = study["system"]["L"], study["evaluate"]
    side = L * max(ev["scales"])
    n_cal = calibration_size(calibration_draws(ev["calibration_n"], max(ev["scales"])), ev["calibration_extend"])
    n = ev["n_generate"] + (n_cal if ev["calibrate"] else 0)
    return {"mem_mb": cluster.mb(4 * cluster.state_mb(side, n)),
            "runtime": cluster.minutes(n * cluster.lattice_scale(side) * SEC_PER_STATE_DECODE, gpu)}


def heatbath_reference(study: Mapping, run: Mapping | None = None, *, threads: int = 1,
                       gpu: bool = False) -> dict[str, int]:
    """``heatbath_per_T`` chains per temperature at ``(s L)^2`` sites, plus as many generated states."""
    L, ev, sim = study["system"]["L"], study["evaluate"], study["simulate"]
    side = L * (ev["heatbath_scale"] or max(ev["scales"]))
    m = ev["heatbath_per_T"] * sim["n_temperatures"]
    seconds = m * _thermal_sweeps(study) * side * side * SEC_PER_SPIN_UPDATE / max(1, threads)
    return {"mem_mb": cluster.mb(4 * cluster.state_mb(side, m, 8)),
            "runtime": cluster.minutes(seconds + m * cluster.lattice_scale(side) * SEC_PER_STATE_DECODE)}


def evaluate(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """Structure factors and seam checks of every generated set."""
    L, ev = study["system"]["L"], study["evaluate"]
    megabytes = sum(4 * cluster.state_mb(L * s, ev["n_generate"]) for s in ev["scales"])
    return {"mem_mb": cluster.mb(megabytes), "runtime": cluster.minutes(60 + 0.01 * ev["n_generate"] * len(ev["scales"]))}


#: the estimator of each rule ``upscaling_<step>`` (the per-scale figures cost what the evaluation does)
ESTIMATES = {"simulate": thermal_shard, "merge": merge_thermal, "train": train_gan, "generate": generate_scale,
             "heatbath": heatbath_reference, "evaluate": evaluate, "plot": evaluate}


# ------------------------------------------------------------------ rule inputs
def evaluate_inputs(wc, studies: Mapping, repo: Path) -> dict[str, Any]:
    """The training set, the GAN's history, the states generated at every scale and the heat-bath reference."""
    ev = studies[wc.study]["evaluate"]
    return {"dataset": KIND.path(wc.study, "data", "dataset.h5"),
            "history": KIND.path(wc.study, "gan", "history.h5"),
            "generated": [KIND.path(wc.study, "generated", f"x{k}.h5") for k in ev["scales"]],
            "heatbath": KIND.path(wc.study, "heatbath", f"x{ev['heatbath_scale']}.h5")}
