# Config loading and validation, paths, and input functions shared by all rules.

import os
import sys
from pathlib import Path

import yaml

from latentopt import cluster
from latentopt.config import ConfigError, is_trajectory_study, validate_config

# A --configfile given on the command line replaces the default config instead of being
# merged into it (so a study file does not silently inherit the default studies).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


REPO = Path(workflow.basedir)
try:
    config = validate_config(config, REPO / "workflow/schemas/config.schema.yaml", root=REPO)
except ConfigError as exc:
    sys.exit(f"Invalid config: {exc}")

STUDIES = config["studies"]
DEVICE = config["device"]
THREADS = config["threads"]
GPU = 0 if DEVICE == "cpu" else 1

# spin studies (chiral magnet) and trajectory studies (FerroSIM) share output names such as
# vae/model.pt and metrics.json; rules of each kind accept only their studies' names
TRAJECTORY_STUDIES = [name for name, s in STUDIES.items() if is_trajectory_study(s)]
SPIN_STUDIES = [name for name in STUDIES if name not in TRAJECTORY_STUDIES]


def _names_re(names):
    return "|".join(map(__import__("re").escape, names)) or "(?!)"  # (?!) matches nothing


SPIN_RE = _names_re(SPIN_STUDIES)
TRAJECTORY_RE = _names_re(TRAJECTORY_STUDIES)

# {study} and {run} names as accepted by the schema; {shard} is an integer
wildcard_constraints:
    study="|".join(map(__import__("re").escape, STUDIES)),
    run="[A-Za-z0-9][A-Za-z0-9_.-]*",
    shard=r"\d+",


def study(wc):
    """The validated settings of the study named by the wildcard."""
    return STUDIES[wc.study]


def runs(name):
    return list(STUDIES[name].get("optimize", {}))


def run_settings(wc):
    return STUDIES[wc.study]["optimize"][wc.run]


def optimize_inputs(wc):
    """The trained model, plus the boundary map file of a C_BC run that names one."""
    inputs = {"model": f"results/{wc.study}/vae/model.pt"}
    boundary = run_settings(wc).get("boundary", {})
    if "file" in boundary:
        inputs["boundary"] = str(REPO / boundary["file"])  # resolved like the script does
    return inputs


def estimate(stage):
    """``resources:`` callables (mem_mb, runtime) of a stage, from the study's sizes (latentopt.cluster)."""
    fn = getattr(cluster, stage)
    if stage == "simulate_shard":
        get = lambda wc, threads: fn(study(wc), threads)
    elif stage in ("trajectories", "ground_truth"):
        get = lambda wc, threads: fn(study(wc))
    elif stage == "bayes":
        get = lambda wc, threads: fn(study(wc), run_settings(wc))
    elif stage == "optimize":
        get = lambda wc, threads: fn(study(wc), run_settings(wc), gpu=bool(GPU))
    else:
        get = lambda wc, threads: fn(study(wc), gpu=bool(GPU))
    return {"mem_mb": lambda wc, threads: get(wc, threads)["mem_mb"],
            "runtime": lambda wc, threads: get(wc, threads)["runtime"]}


# cheap aggregation rules run on the submitting host, never through the cluster
localrules:
    all,
    merge_dataset,
    plot_run,
    plot_bo_run,


def shard_files(wc):
    n = study(wc)["simulate"]["shards"]
    return [f"results/{wc.study}/data/shards/shard{k}.h5" for k in range(n)]


def run_files(wc):
    return [f"results/{wc.study}/optimize/{r}.h5" for r in runs(wc.study)]


def bayes_inputs(wc):
    """The decoded grid, plus the ground truth when the study computes it (random-search baseline)."""
    inputs = {"grid": f"results/{wc.study}/latent/grid.h5"}
    if study(wc)["ground_truth"]:
        inputs["truth"] = f"results/{wc.study}/latent/ground_truth.h5"
    return inputs


def trajectory_evaluate_inputs(wc):
    inputs = {
        "trajectories": f"results/{wc.study}/trajectories/train.h5",
        "model": f"results/{wc.study}/vae/model.pt",
        "history": f"results/{wc.study}/vae/history.h5",
        "runs": [f"results/{wc.study}/bo/{r}.h5" for r in runs(wc.study)],
        **bayes_inputs(wc),
    }
    return inputs


def plot_bo_inputs(wc):
    return {"run": f"results/{wc.study}/bo/{wc.run}.h5",
            "trajectories": f"results/{wc.study}/trajectories/train.h5", **bayes_inputs(wc)}


TRAJECTORY_FIGURES = [
    "trajectory_samples",
    "training_curves",
    "latent_parameters",
    "feasible_region",
    "bo_convergence",
]

STUDY_FIGURES = [
    "dataset_samples",
    "vae_samples",
    "relaxed_samples",
    "energy_histograms",
    "energy_density_maps",
    "training_curves",
    "optimizer_traces",
    "w_vs_mz",
]


def final_targets():
    out = []
    for name in STUDIES:
        out.append(f"results/{name}/metrics.json")
        if name in TRAJECTORY_STUDIES:
            out += [f"results/{name}/figures/{f}.png" for f in TRAJECTORY_FIGURES]
            out += [f"results/{name}/figures/bo/{r}_{kind}.png" for r in runs(name) for kind in ("surfaces", "best")]
        else:
            out += [f"results/{name}/figures/{f}.png" for f in STUDY_FIGURES]
            out += [f"results/{name}/figures/optimize/{r}.png" for r in runs(name)]
    return out


# After a successful run, write results/report.html for exactly this run's config,
# so users get the report without a second command.
REPORT = "results/report.html"


onsuccess:
    if os.environ.get("LATENTOPT_IN_REPORT") != "1" and all(os.path.exists(f) for f in final_targets()):
        import subprocess
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir="results", delete=False) as fh:
            yaml.safe_dump(config, fh)
        cmd = [sys.executable, "-m", "snakemake", "--report", REPORT, "--snakefile", workflow.main_snakefile,
               "--directory", os.getcwd(), "--configfile", fh.name, "--quiet"]
        print(f"Writing {REPORT} ...")
        try:
            subprocess.run(cmd, check=True, env={**os.environ, "LATENTOPT_IN_REPORT": "1"})
            print(f"Report: {REPORT}")
        finally:
            os.unlink(fh.name)
