# Config loading and validation, and the helpers every kind's rules share. Nothing here names a
# kind: each kind plugs in through its record in latentopt.studies (root folder, config check,
# resource estimators, metrics table, report figures) and its hooks module
# latentopt.studies.hooks.<kind> (input functions); its rules are in workflow/rules/<kind>.smk,
# named <kind>_<step> (docs/developing.md).

import os
import sys
from pathlib import Path

import yaml

from latentopt import studies
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

# Threads per job: the config's `threads` is the upper bound. Snakemake cannot hold a core back
# for a job that needs two: while one core is busy it starts the next one-thread job on the
# other, so a two-thread job can wait for a long time. Only the spin study's chain takes more:
# its heat-bath shards and its merge take THREADS, one after another, so that each finds both
# cores free when the one before it ends. (With the shards on one thread each, side by side, they
# ended together and the merge still waited 277 s of a 602 s run, because Snakemake's scheduler
# weighed two one-thread jobs of priority 5 equal to it: see FIRST below.) The spin VAE training,
# the longest single job, takes all but one core (TRAIN_THREADS) when the config has other studies
# to use that core: a second thread makes it only 1.69x faster (an epoch 5.77 -> 3.42 s, emulated
# AVX2), so on 2 cores one thread for it and one for the other studies' jobs finish the CPU-bound
# default run sooner (510 -> 478 s with the zBO budget of that commit). A config of one study
# keeps every core for it; the core left is one of those Snakemake was given (--cores), not of
# `threads`. Every other job takes one, and two run side by side.
ONE = 1


def _given_cores():
    """--cores, or THREADS where Snakemake has no total (a dry run without --cores)."""
    try:
        return int(workflow.cores)
    except (WorkflowError, TypeError, ValueError):
        return THREADS


TRAIN_THREADS = max(1, min(THREADS, _given_cores()) - 1) if len(STUDIES) > 1 else THREADS


# Snakemake starts ready jobs by priority: the longest chain of the default run (the spin study's
# simulate -> merge -> train -> optimize) first, then the other long jobs and chains (the GAN and
# its inputs, the KL-schedule rounds, the FerroSIM trajectory VAE and ground truth: left at 0 they
# ran last, alone on one core, for the final 35 s of a 611 s run), so that short jobs fill the
# cores around them.
# Snakemake's scheduler maximizes the *sum* of the started jobs' priorities, so a two-thread job of
# the chain must outweigh any two one-thread jobs: FIRST > 2 x (EARLY + 1).
FIRST, EARLY = 100, 5


# {study} and {run} names as accepted by the schema; {shard} is an integer. Each kind writes
# under its own folder (Kind.root: results/<kind>/{study}, the spin studies results/{study}),
# and no study is named like a kind, so no two rules can make the same file.
wildcard_constraints:
    study=studies.names_regex(STUDIES),
    run="[A-Za-z0-9][A-Za-z0-9_.-]*",
    shard=r"\d+",


def study(wc):
    """The validated settings of the study named by the wildcard."""
    return STUDIES[wc.study]


def run_settings(wc):
    """The settings of the run named by the {run} wildcard."""
    return studies.kind_of(study(wc)).run_settings(study(wc), wc.run)


def hook(fn):
    """A rule's input or params function from a kinds' hook fn(wc, studies, repo) (latentopt.studies.hooks)."""
    return lambda wc: fn(wc, STUDIES, REPO)


def study_path(*parts):
    """params: a file in the study's folder that no rule declares (a checkpoint, a calibration);
    parts may use the job's wildcards ({run}, ...)."""
    return lambda wc: studies.kind_of(study(wc)).path(wc.study, *parts).format(**dict(wc.items()))


def shard_files(wc):
    """The simulation shards of a study whose kind simulates in shards: <root>/data/shards/shard<k>.h5."""
    kind = studies.kind_of(study(wc))
    return [kind.path(wc.study, "data", "shards", f"shard{k}.h5") for k in range(study(wc)["simulate"]["shards"])]


def estimate(step):
    """resources: mem_mb and runtime of a job of rule <kind>_<step>, from the study's sizes (Kind.estimate)."""

    def get(wc, threads):
        s = study(wc)
        run = run_settings(wc) if "run" in wc.keys() else None
        return studies.kind_of(s).estimate(step, s, run, threads=threads, gpu=bool(GPU))

    return {"mem_mb": lambda wc, threads: get(wc, threads)["mem_mb"],
            "runtime": lambda wc, threads: get(wc, threads)["runtime"]}


def longest_first(step):
    """priority of a job of the FIRST chain whose siblings become ready together (the optimize runs and the
    modification, once the VAE is trained): FIRST plus a fraction that grows with its estimated runtime, so
    the longest starts first and the short ones fill the other core (longest-processing-time order)."""

    def get(wc):
        s = study(wc)
        run = run_settings(wc) if "run" in wc.keys() else None
        minutes = studies.kind_of(s).estimate(step, s, run, threads=1, gpu=False)["runtime"]
        return FIRST + minutes / (minutes + 60)

    return get


def figure(kind, item):
    """A report output: figure item (latentopt.studies.ReportItem) of kind, with its caption."""
    return report(f"{studies.KINDS[kind].root}/figures/{item.stem}.png",
                  caption=f"../report/{kind}/{item.caption_stem}.rst", category="{study}",
                  subcategory=item.subcategory, labels={"figure": item.label})


def study_figures(kind):
    """The report outputs of <kind>_evaluate (the metrics table, then the kind's study figures)."""
    table = report(f"{studies.KINDS[kind].root}/figures/metrics.html", caption=f"../report/{kind}/metrics.rst",
                   category="{study}", subcategory="0 metrics", labels={"figure": "metrics table"})
    return {"table": table, **{f.name: figure(kind, f) for f in studies.KINDS[kind].figures}}


def run_figures(kind):
    """The report outputs of <kind>_plot (the kind's figures of one run)."""
    return {f.name: figure(kind, f) for f in studies.KINDS[kind].run_figures}


# cheap aggregation rules run on the submitting host, never through the cluster (each kind's
# file adds its own)
localrules:
    all,


def final_targets():
    """Every study's final files, as its kind's registry entry lists them (latentopt.studies)."""
    return studies.final_targets(STUDIES)


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
