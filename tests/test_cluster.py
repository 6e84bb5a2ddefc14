"""Cluster resource requests scale with the study; gpu requests follow `device`."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from latentopt import cluster, studies
from latentopt.config import validate_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


def study(name, path):
    return validate_config(yaml.safe_load((REPO / path).read_text()), SCHEMA, root=REPO)["studies"][name]


def estimate(step, s, run=None, **kw):
    """The request of a job of rule <kind>_<step> of study ``s`` (the one entry point, Kind.estimate)."""
    return studies.kind_of(s).estimate(step, s, run, **kw)


def test_paper_study_asks_for_more_than_quickstart():
    quick, paper = study("labyrinth", "config/config.yaml"), study("paper", "config/paper.yaml")
    for step in ("train", "generate", "modify", "evaluate"):
        q, p = estimate(step, quick), estimate(step, paper)
        assert p["mem_mb"] >= q["mem_mb"] and p["runtime"] >= q["runtime"], step
    assert estimate("train", paper)["mem_mb"] > 4 * estimate("train", quick)["mem_mb"]
    assert estimate("train", paper)["runtime"] > 10 * estimate("train", quick)["runtime"]
    q, p = estimate("simulate", quick, threads=2), estimate("simulate", paper, threads=2)
    assert p["runtime"] > q["runtime"]
    # a GPU shortens the torch stages' runtime request, never below the start-up allowance
    assert cluster.BASE_MINUTES <= estimate("train", paper, gpu=True)["runtime"] < estimate("train", paper)["runtime"]
    run = paper["optimize"]["genetic-W"]
    assert estimate("optimize", paper, run)["runtime"] > estimate("optimize", quick, quick["optimize"]["genetic-W"])["runtime"]


def test_runtime_estimate_covers_measured_quickstart():
    """The default study's measured CPU times (train 165 s, single-code modification 96 s, GA-W 55 s) fit the requests."""
    quick = study("labyrinth", "config/config.yaml")
    assert estimate("train", quick)["runtime"] * 60 > 165
    assert estimate("modify", quick)["runtime"] * 60 > 96
    assert estimate("optimize", quick, quick["optimize"]["genetic-W"])["runtime"] * 60 > 55


def test_trajectory_stages_scale_with_the_study():
    quick, paper = study("ferroelectric", "config/config.yaml"), study("ferrosim-curl", "config/paper.yaml")
    for step in ("families", "ground_truth"):
        q, p = estimate(step, quick), estimate(step, paper)
        assert p["mem_mb"] >= q["mem_mb"] and p["runtime"] >= q["runtime"], step
    for step in ("train", "grid", "evaluate"):
        assert estimate(step, paper)["runtime"] >= estimate(step, quick)["runtime"], step
    q = estimate("optimize", quick, quick["optimize"]["ucb-kappa10"])
    p = estimate("optimize", paper, paper["optimize"]["ucb-kappa10"])
    assert p["runtime"] > q["runtime"]
    # measured on 2 cores: paper ground truth (10,000 histories of a 20 x 20 lattice) 45 s, BO with 600 evaluations
    # 126 s; the requests cover them
    assert estimate("ground_truth", paper)["runtime"] * 60 > 45 and p["runtime"] * 60 > 126


@pytest.mark.parametrize("path", ["config/config.yaml", "config/paper.yaml"])
def test_every_cluster_rule_has_an_estimate(path):
    """Each kind's estimators cover the steps its rules ask for, with one signature, and give whole MB and minutes."""
    cfg = validate_config(yaml.safe_load((REPO / path).read_text()), SCHEMA, root=REPO)
    for name, s in cfg["studies"].items():
        kind = studies.kind_of(s)
        steps = set(_rule_steps(kind.name))
        assert steps <= set(studies.resolve(kind.estimates)), (kind.name, steps)
        runs = kind.runs(s)
        run = kind.run_settings(s, runs[0]) if runs and kind.run_block != "evaluate.scales" else None
        for step in steps:
            r = estimate(step, s, run, threads=2, gpu=True)
            assert set(r) == {"mem_mb", "runtime"} and all(isinstance(v, int) for v in r.values()), (name, step)
            assert r["mem_mb"] >= cluster.BASE_MEM_MB and r["runtime"] >= cluster.BASE_MINUTES, (name, step)


def _rule_steps(kind):
    """The steps named by ``**estimate("<step>")`` in workflow/rules/<kind>.smk."""
    return re.findall(r'\*\*estimate\("(\w+)"\)', (REPO / f"workflow/rules/{kind}.smk").read_text())


def dry_run(cfg, path, tmp_path, *args):
    """The stdout of ``snakemake -n`` on ``cfg`` (written to ``path``) in ``tmp_path``."""
    path.write_text(yaml.safe_dump(cfg))
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", *args, "--snakefile", str(REPO / "Snakefile"),
                          "--directory", str(tmp_path), "--configfile", str(path)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out.stdout


def per_rule(stdout, field):
    """Rule -> the first ``<field>:`` line of its jobs in a dry run's output (None where none is printed)."""
    rules, rule = {}, None
    for line in stdout.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
            rules.setdefault(rule, None)
        elif line.strip().startswith(f"{field}:") and rule and rules[rule] is None:
            rules[rule] = line.strip()
    return rules


def dry_run_resources(device, tmp_path, config="tests/data/tiny.yaml"):
    cfg = yaml.safe_load((REPO / config).read_text())
    cfg["device"] = device
    out = dry_run(cfg, tmp_path / f"{device}-{Path(config).stem}.yaml", tmp_path)
    return {rule: line for rule, line in per_rule(out, "resources").items() if line is not None}


def dry_run_threads(cfg, tmp_path):
    """Rule -> threads of its jobs (a dry run prints "threads:" only for jobs of more than one)."""
    out = dry_run(cfg, tmp_path / "threads.yaml", tmp_path, "--cores", "4")
    return {rule: 1 if line is None else int(line.split(":")[1]) for rule, line in per_rule(out, "threads").items()}


def test_the_spin_vae_leaves_a_core_to_the_other_studies(tmp_path):
    """TRAIN_THREADS: all but one of the config's threads when other studies can use that core, all of them
    for a config of one study; the heat-bath shards take all, the optimize runs one."""
    cfg = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    cfg["threads"] = 3
    alone = dry_run_threads(cfg, tmp_path)
    assert (alone["spins_train"], alone["spins_simulate"], alone["spins_optimize"]) == (3, 3, 1)
    cfg["studies"]["tiny-2"] = cfg["studies"]["tiny"]
    shared = dry_run_threads(cfg, tmp_path)
    assert (shared["spins_train"], shared["spins_simulate"], shared["spins_optimize"]) == (2, 3, 1)
    cfg["threads"] = 8  # more than --cores 4: the core left is one of the four
    assert dry_run_threads(cfg, tmp_path)["spins_train"] == 3


def test_gpu_requests_follow_device(tmp_path):
    auto, cpu = dry_run_resources("auto", tmp_path), dry_run_resources("cpu", tmp_path)
    for rule in ("spins_train", "spins_generate", "spins_modify", "spins_optimize", "spins_evaluate"):
        assert "gpu=1" in auto[rule] and "gpu=0" in cpu[rule], (rule, auto[rule], cpu[rule])
        assert "mem_mb=" in auto[rule] and "runtime=" in auto[rule]
    assert "gpu" not in auto["spins_simulate"] and "mem_mb=" in auto["spins_simulate"]
    # the torch heat bath (and its GPU request) only where `device: cuda` selects it
    assert "gpu=1" in dry_run_resources("cuda", tmp_path)["spins_simulate"]


def test_trajectory_gpu_requests_follow_device(tmp_path):
    auto = dry_run_resources("auto", tmp_path, "tests/data/tiny_ferro.yaml")
    cpu = dry_run_resources("cpu", tmp_path, "tests/data/tiny_ferro.yaml")
    for rule in ("trajectories_train", "trajectories_grid", "trajectories_evaluate"):
        assert "gpu=1" in auto[rule] and "gpu=0" in cpu[rule], (rule, auto[rule], cpu[rule])
    for rule in ("trajectories_families", "trajectories_ground_truth", "trajectories_optimize"):  # numba / skopt only
        assert "gpu" not in auto[rule] and "mem_mb=" in auto[rule] and "runtime=" in auto[rule], rule
