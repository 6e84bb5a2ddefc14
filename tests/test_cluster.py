"""Cluster resource requests scale with the study; gpu requests follow `device`."""

import subprocess
import sys
from pathlib import Path

import yaml

from latentopt import cluster
from latentopt.config import validate_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


def study(name, path):
    return validate_config(yaml.safe_load((REPO / path).read_text()), SCHEMA, root=REPO)["studies"][name]


def test_paper_study_asks_for_more_than_quickstart():
    quick, paper = study("labyrinth", "config/config.yaml"), study("paper", "config/paper.yaml")
    for stage in ("train_vae", "generate", "relax", "evaluate"):
        q, p = getattr(cluster, stage)(quick), getattr(cluster, stage)(paper)
        assert p["mem_mb"] >= q["mem_mb"] and p["runtime"] >= q["runtime"], stage
    assert cluster.train_vae(paper)["mem_mb"] > 4 * cluster.train_vae(quick)["mem_mb"]
    assert cluster.train_vae(paper)["runtime"] > 10 * cluster.train_vae(quick)["runtime"]
    q, p = cluster.simulate_shard(quick, 2), cluster.simulate_shard(paper, 2)
    assert p["runtime"] > q["runtime"]
    # a GPU shortens the torch stages' runtime request, never below the start-up allowance
    assert cluster.BASE_MINUTES <= cluster.train_vae(paper, gpu=True)["runtime"] < cluster.train_vae(paper)["runtime"]
    run = paper["optimize"]["genetic-W"]
    assert cluster.optimize(paper, run)["runtime"] > cluster.optimize(quick, quick["optimize"]["genetic-W"])["runtime"]


def test_runtime_estimate_covers_measured_quickstart():
    """The default study's measured CPU times (train 165 s, relax 96 s, GA-W 55 s) fit the requests."""
    quick = study("labyrinth", "config/config.yaml")
    assert cluster.train_vae(quick)["runtime"] * 60 > 165
    assert cluster.relax(quick)["runtime"] * 60 > 96
    assert cluster.optimize(quick, quick["optimize"]["genetic-W"])["runtime"] * 60 > 55


def test_trajectory_stages_scale_with_the_study():
    quick, paper = study("ferroelectric", "config/config.yaml"), study("ferrosim-curl", "config/paper.yaml")
    for stage in ("trajectories", "ground_truth"):
        q, p = getattr(cluster, stage)(quick), getattr(cluster, stage)(paper)
        assert p["mem_mb"] >= q["mem_mb"] and p["runtime"] >= q["runtime"], stage
    for stage in ("train_trajectory_vae", "latent_grid", "evaluate_trajectories"):
        assert getattr(cluster, stage)(paper)["runtime"] >= getattr(cluster, stage)(quick)["runtime"], stage
    q = cluster.bayes(quick, quick["optimize"]["ucb-kappa10"])
    p = cluster.bayes(paper, paper["optimize"]["ucb-kappa10"])
    assert p["runtime"] > q["runtime"]
    # measured on 2 cores: paper ground truth (10,000 histories of a 20 x 20 lattice) 45 s, BO with 600 evaluations
    # 126 s; the requests cover them
    assert cluster.ground_truth(paper)["runtime"] * 60 > 45 and p["runtime"] * 60 > 126


def dry_run_resources(device, tmp_path, config="tests/data/tiny.yaml"):
    cfg = yaml.safe_load((REPO / config).read_text())
    cfg["device"] = device
    path = tmp_path / f"{device}-{Path(config).stem}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--snakefile", str(REPO / "Snakefile"),
                          "--directory", str(tmp_path), "--configfile", str(path)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    rules, rule = {}, None
    for line in out.stdout.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("resources:") and rule:
            rules.setdefault(rule, line.strip())
    return rules


def test_gpu_requests_follow_device(tmp_path):
    auto, cpu = dry_run_resources("auto", tmp_path), dry_run_resources("cpu", tmp_path)
    for rule in ("train_vae", "generate", "relax", "optimize", "evaluate"):
        assert "gpu=1" in auto[rule] and "gpu=0" in cpu[rule], (rule, auto[rule], cpu[rule])
        assert "mem_mb=" in auto[rule] and "runtime=" in auto[rule]
    assert "gpu" not in auto["simulate_shard"] and "mem_mb=" in auto["simulate_shard"]
    # the torch heat bath (and its GPU request) only where `device: cuda` selects it
    assert "gpu=1" in dry_run_resources("cuda", tmp_path)["simulate_shard"]


def test_trajectory_gpu_requests_follow_device(tmp_path):
    auto = dry_run_resources("auto", tmp_path, "tests/data/tiny_ferro.yaml")
    cpu = dry_run_resources("cpu", tmp_path, "tests/data/tiny_ferro.yaml")
    for rule in ("train_trajectory_vae", "latent_grid", "evaluate_trajectories"):
        assert "gpu=1" in auto[rule] and "gpu=0" in cpu[rule], (rule, auto[rule], cpu[rule])
    for rule in ("trajectories", "ground_truth", "bayes"):  # numba / scikit-optimize only
        assert "gpu" not in auto[rule] and "mem_mb=" in auto[rule] and "runtime=" in auto[rule], rule
