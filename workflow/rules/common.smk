# Config loading and validation, the study kinds, and the helpers shared by every kind's rules.
# Each kind's rules (and their input functions) are in workflow/rules/<kind>.smk.

import os
import sys
from pathlib import Path

import yaml

from latentopt import cluster
from latentopt import studies as kinds
from latentopt.config import ConfigError, validate_config

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

# Kinds share output names such as vae/model.pt and metrics.json: every rule of a kind accepts
# only the names of that kind's studies (wildcard_constraints: study=KIND_RE[kind]).
KIND_RE = {kind: kinds.names_regex(kinds.studies_of_kind(STUDIES, kind)) for kind in kinds.KINDS}

# {study} and {run} names as accepted by the schema; {shard} is an integer
wildcard_constraints:
    study=kinds.names_regex(STUDIES),
    run="[A-Za-z0-9][A-Za-z0-9_.-]*",
    shard=r"\d+",


def study(wc):
    """The validated settings of the study named by the wildcard."""
    return STUDIES[wc.study]


def runs(name):
    """Names of the runs of study ``name`` (its kind's run block, e.g. ``optimize:``)."""
    return kinds.kind_of(STUDIES[name]).runs(STUDIES[name])


def run_settings(wc):
    """The settings of the run named by the {run} wildcard."""
    block = kinds.kind_of(study(wc)).run_block
    return study(wc)[block][wc.run]


def shard_files(wc):
    """The simulation shards of a study (spins and upscaling studies)."""
    n = study(wc)["simulate"]["shards"]
    return [f"results/{wc.study}/data/shards/shard{k}.h5" for k in range(n)]


def estimate(stage):
    """``resources:`` callables (mem_mb, runtime) of a stage, from the study's sizes (latentopt.cluster)."""
    fn = getattr(cluster, stage)
    if stage in ("simulate_shard", "thermal_shard", "heatbath_reference"):
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


# cheap aggregation rules run on the submitting host, never through the cluster (each kind's
# file adds its own)
localrules:
    all,


def final_targets():
    """Every study's final files, as its kind's registry entry lists them (latentopt.studies)."""
    return kinds.final_targets(STUDIES)


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
