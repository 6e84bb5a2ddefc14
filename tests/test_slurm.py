"""`snakemake --profile slurm` on a real one-node Slurm cluster (tests/slurm_cluster.py).

Runs the tiny test study through the shipped profile with only what a user would set
(the partition, through LATENTOPT_SLURM_PARTITION, and a shorter first status check), then
checks in Slurm's accounting that every non-local job went through sbatch, that shards
were separate jobs and torch jobs asked for a GPU, and that the outputs equal a local
``--cores 2`` run. Skips, with the reason, where it cannot run (not root, no apt).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_results import compare_trees  # noqa: E402
from slurm_cluster import SlurmCluster, install, why_unavailable  # noqa: E402
from workflow_runs import REPO, run_snakemake  # noqa: E402

pytestmark = pytest.mark.slurm
#: what the local reference run builds: the tiny spin study's metrics (and so every file before them)
LOCAL_TARGETS = ("results/tiny/metrics.json",)

TORCH_RULES = {"spins_train", "spins_generate", "spins_modify", "spins_optimize", "spins_evaluate",
               "schedules_train", "schedules_grid", "schedules_score", "schedules_score_pool", "schedules_final",
               "spins_baseline"}
LOCAL_RULES = {"spins_merge", "spins_plot", "schedules_plot", "all"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = why_unavailable()
    if reason is None and importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        reason = "snakemake-executor-plugin-slurm is not installed (pip install -e '.[slurm]')"
    if reason:
        print(f"test_slurm skipped: {reason}")
        pytest.skip(reason)
    try:
        install()
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"test_slurm skipped: Slurm packages could not be installed ({exc})")
        pytest.skip(f"Slurm packages could not be installed: {exc}")
    with SlurmCluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
    """The tiny spin study and the tiny KL-schedule study, whose every jrVAE training must be its own job."""
    cfg = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    cfg["studies"].update(yaml.safe_load((REPO / "tests/data/tiny_schedules.yaml").read_text())["studies"])
    # two rounds of two evaluations show that each is its own job as well as more would (each job costs seconds)
    cfg["studies"]["kl"]["optimize"]["zbo"].update(n_initial=2, iterations=2, q=2)
    cfg["device"] = "auto"  # torch rules request a GPU (the node's GPU is a stand-in; torch falls back to CPU)
    cfg["threads"] = 1  # two jobs at a time on the 2-CPU test node
    # each job costs ~15 s of start-up here; one optimize run shows what five would
    spins = cfg["studies"]["tiny"]
    spins["optimize"] = {"ga-W": spins["optimize"]["ga-W"]}
    path = tmp_path_factory.mktemp("cfg") / "tiny-slurm.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def snakemake(workdir: Path, config: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    """The workflow run from the repository, where ``--profile slurm`` is found."""
    return run_snakemake(workdir, *args, config=config, env=env, timeout=1200, cwd=REPO)


@pytest.fixture(scope="module")
def runs(cluster, config_file, tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    (base / "started").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))  # accounting counts this run's jobs only
    env = {**cluster.env, "LATENTOPT_SLURM_PARTITION": "debug"}
    # the two status-check settings only make the test faster (a user keeps the defaults)
    on_slurm = snakemake(base / "slurm", config_file, env, "--cores", "2", "--profile", "slurm", "--verbose",
                         "--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2")
    assert on_slurm.returncode == 0, on_slurm.stdout[-4000:] + on_slurm.stderr[-6000:]
    # the local reference: the spin study (the schedules study's outputs are not compared)
    local = snakemake(base / "local", config_file, cluster.env, "--cores", "2", *LOCAL_TARGETS)
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]
    return base, on_slurm.stdout + on_slurm.stderr


def accounting(cluster, since: str = "now-1days") -> list[dict]:
    """Jobs the cluster's database holds that started at or after ``since`` (a reused cluster may hold older ones)."""
    out = subprocess.run(["sacct", "-X", "-n", "-P", "-a", "-S", since,
                          "-o", "JobID,Comment,State,ReqTRES,Partition,Account"],
                         env=cluster.env, capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(("id", "comment", "state", "tres", "partition", "account"), line.split("|")))
            for line in out.splitlines() if line.strip()]
    for row in rows:
        m = re.match(r"rule_([A-Za-z0-9_]+?)(?:_wildcards_|$)", row["comment"])
        row["rule"] = m.group(1) if m else None
    return rows


def test_every_cluster_job_went_through_sbatch(cluster, runs, config_file):
    base, log = runs
    cfg = yaml.safe_load(config_file.read_text())["studies"]["tiny"]
    jobs = [r for r in accounting(cluster, (base / "started").read_text()) if r["rule"]]
    by_rule: dict[str, list] = {}
    for r in jobs:
        by_rule.setdefault(r["rule"], []).append(r)
    n_runs = len(cfg["optimize"])
    from latentopt.studies.hooks.schedules import pool_chunks

    zbo = yaml.safe_load(config_file.read_text())["studies"]["kl"]["optimize"]["zbo"]
    rounds = 1 + zbo["iterations"] // zbo["q"]
    baselines = sum(run.get("baseline", {}).get("enabled", True) for run in cfg["optimize"].values())
    expected = {"spins_simulate": cfg["simulate"]["shards"], "spins_train": 1, "spins_generate": 1, "spins_modify": 1,
                "spins_optimize": n_runs, "spins_baseline": baselines, "spins_evaluate": 1,
                "schedules_images": 1, "schedules_families": 1, "schedules_train": 1, "schedules_grid": 1,
                "schedules_propose": rounds, "schedules_score": zbo["n_initial"] + zbo["iterations"],
                "schedules_score_pool": len(pool_chunks({"random_pool": None, "pool_per_job": 4, **zbo})),
                "schedules_optimize": 1, "schedules_final": 4,
                "schedules_evaluate": 1}
    assert {rule: len(v) for rule, v in by_rule.items()} == expected, jobs
    assert all(r["state"] == "COMPLETED" for r in jobs), jobs
    assert all(r["partition"] == "debug" for r in jobs), jobs
    assert not LOCAL_RULES & set(by_rule), "local rules must not be submitted"
    # torch jobs asked Slurm for a GPU, the simulation shards did not
    for rule, rows in by_rule.items():
        for r in rows:
            assert ("gres/gpu=1" in r["tres"]) == (rule in TORCH_RULES), (rule, r["tres"])
    # the submitted options, as the plugin logged them
    calls = re.findall(r"sbatch call: (.*)", log)
    shard_call = next(c for c in calls if "rule_spins_simulate" in c)
    vae_call = next(c for c in calls if "rule_spins_train" in c)
    assert "--gpus=1" in vae_call and "--gpus" not in shard_call
    # every zBO evaluation (one jrVAE training) was a job of its own, asking for a GPU
    evaluations = by_rule["schedules_score"]
    assert len({r["id"] for r in evaluations}) == zbo["n_initial"] + zbo["iterations"]
    assert all("gres/gpu=1" in r["tres"] for r in evaluations)
    assert re.search(r"--mem \d+", shard_call) and re.search(r"-t \d+", shard_call)
    assert "-p debug" in shard_call or "-p 'debug'" in shard_call
    print("sbatch options, simulate shard:", shard_call)
    print("sbatch options, spins_train:", vae_call)


def test_outputs_equal_a_local_run(runs):
    base, _ = runs
    slurm, local = base / "slurm/results/tiny", base / "local/results/tiny"
    assert list(local.rglob("*.h5")), "the local run wrote no HDF5 files"
    assert compare_trees(local, slurm) == []
    assert (base / "slurm/results/report.html").exists()
