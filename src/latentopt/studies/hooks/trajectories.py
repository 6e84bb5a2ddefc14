"""Hooks of the trajectory studies (``kind: trajectories``, FerroSIM BO): config check, resources, rule inputs.

Light (numpy only), like every hooks module (:mod:`latentopt.studies.hooks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from latentopt import cluster
from latentopt.config import ConfigError, check_families, check_training_split
from latentopt.studies import KINDS

KIND = KINDS["trajectories"]

# ------------------------------------------------------------------ config check
#: largest grid for which ``ground_truth`` defaults to true (the lecture's 100 x 100)
GROUND_TRUTH_MAX_POINTS = 10_000


def check(prefix: str, study: dict[str, Any], root: Path, studies: Mapping) -> None:
    """Valid families, ordered field bounds, a stable FerroSIM time step at the largest field, a grid of at
    most 1,000,000 points and a training split that leaves data; fills in ``ground_truth`` (true for grids
    of at most :data:`GROUND_TRUTH_MAX_POINTS` points).

    Raises
    ------
    ConfigError
        Naming the key.
    """
    from latentopt.physics.ferrosim import FerroSim

    system, traj, latent = study["system"], study["trajectories"], study["latent"]
    check_families(prefix, traj["families"])
    bounds = latent["constraints"]
    if bounds["min"] is not None and bounds["max"] is not None and not bounds["min"] < bounds["max"]:
        raise ConfigError(f"{prefix}.latent.constraints: min must be below max ({bounds['min']} >= {bounds['max']})")
    try:
        model = FerroSim.from_config(system)
    except ValueError as exc:
        raise ConfigError(f"{prefix}.system: {exc}") from exc
    field_max = max([abs(b) for b in (bounds["min"], bounds["max"]) if b is not None], default=20.0)
    defect_max = system["defects"]["strength"] if system["defects"]["fraction"] > 0 else 0.0
    bound = model.stability(field_max, defect_max)
    if bound >= 1.0:
        unit = system["field_unit"]
        raise ConfigError(f"{prefix}.system.dt: explicit Euler with gamma dt lambda_max <= {bound:.3g} at fields "
                          f"up to {field_max} {unit} (plus defects of {defect_max} {unit}) is inaccurate or unstable "
                          "(must be < 1); decrease dt")
    n_points = latent["grid"] ** study["vae"]["latent_dim"]
    if n_points > 1_000_000:
        raise ConfigError(f"{prefix}.latent.grid: {latent['grid']}^{study['vae']['latent_dim']} = {n_points} "
                          "points; expected at most 1,000,000")
    study.setdefault("ground_truth", n_points <= GROUND_TRUTH_MAX_POINTS)
    check_training_split(prefix, traj["n"], "trajectories.n", study["vae"], "trajectories")
    for run_name, run in study["optimize"].items():
        if run["n_initial"] > n_points:
            raise ConfigError(f"{prefix}.optimize.{run_name}.n_initial: {run['n_initial']} initial points for a "
                              f"grid of {n_points}")


# ------------------------------------------------------------------ resources (latentopt.cluster's model)
#: seconds per FerroSIM site update on 2 threads (measured: ~3e9 site-steps in 10 s)
SEC_PER_SITE_STEP = 3.3e-9
#: BO overhead per iteration (GP fit + posterior over 10,000 candidates, 600 observations)
SEC_PER_BO_ITERATION = 0.5


def _site_steps(study: Mapping, histories: int) -> float:
    s, T = study["system"], study["trajectories"]["steps"] + study["objective"]["equilibration"]
    return histories * T * s["substeps"] * s["N"] ** 2


def ground_truth(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """The objective simulated at every grid point."""
    m, T = cluster.grid_points(study), study["trajectories"]["steps"]
    return {"mem_mb": cluster.mb(3 * m * T * 8 / 2**20),
            "runtime": cluster.minutes(_site_steps(study, m) * SEC_PER_SITE_STEP)}


def bayes(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """GP iterations, one simulation per evaluation, and random search (simulated without a ground truth)."""
    m, T = cluster.grid_points(study), study["trajectories"]["steps"]
    evals = run["n_initial"] + run["iterations"]
    sims = evals * (1 + (0 if study["ground_truth"] else run["random_seeds"]))
    seconds = run["iterations"] * SEC_PER_BO_ITERATION * max(1.0, evals / 600) ** 2 \
        + _site_steps(study, sims) * SEC_PER_SITE_STEP
    return {"mem_mb": cluster.mb(3 * m * T * 8 / 2**20 + 8 * m * min(evals, 5000) * 8 / 2**20 + 200),
            "runtime": cluster.minutes(seconds)}


def evaluate(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """Metrics over the grid and the trajectories, and the figures."""
    m, T, n = cluster.grid_points(study), study["trajectories"]["steps"], study["trajectories"]["n"]
    return {"mem_mb": cluster.mb(3 * (m + n) * T * 8 / 2**20 + 300), "runtime": cluster.minutes(60 + m * 1e-4, gpu)}


#: the estimator of each rule ``trajectories_<step>`` that runs on the cluster
ESTIMATES = {"families": cluster.trajectories, "train": cluster.train_trajectory_vae, "grid": cluster.latent_grid,
             "ground_truth": ground_truth, "optimize": bayes, "evaluate": evaluate}


# ------------------------------------------------------------------ rule inputs and params
def field_unit(wc, studies: Mapping, repo: Path) -> dict:
    """The study's field unit and its value (:func:`latentopt.studies.trajectories.field_unit_attrs`),
    recorded in every output."""
    from latentopt.studies.trajectories import field_unit_attrs

    return field_unit_attrs(studies[wc.study]["system"])


def optimize_inputs(wc, studies: Mapping, repo: Path) -> dict[str, str]:
    """The decoded grid, plus the ground truth when the study computes it (random-search baseline)."""
    inputs = {"grid": KIND.path(wc.study, "latent", "grid.h5")}
    if studies[wc.study]["ground_truth"]:
        inputs["truth"] = KIND.path(wc.study, "latent", "ground_truth.h5")
    return inputs


def evaluate_inputs(wc, studies: Mapping, repo: Path) -> dict[str, Any]:
    """Training trajectories, the VAE and its history, every BO run, the grid (and ground truth)."""
    return {"trajectories": KIND.path(wc.study, "trajectories", "train.h5"),
            "model": KIND.path(wc.study, "vae", "model.pt"),
            "history": KIND.path(wc.study, "vae", "history.h5"),
            "runs": [KIND.path(wc.study, "bo", f"{r}.h5") for r in KIND.runs(studies[wc.study])],
            **optimize_inputs(wc, studies, repo)}


def plot_inputs(wc, studies: Mapping, repo: Path) -> dict[str, str]:
    """One BO run, the training trajectories, the grid (and ground truth)."""
    return {"run": KIND.path(wc.study, "bo", f"{wc.run}.h5"),
            "trajectories": KIND.path(wc.study, "trajectories", "train.h5"), **optimize_inputs(wc, studies, repo)}
