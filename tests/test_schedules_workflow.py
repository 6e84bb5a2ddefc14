"""The tiny KL-schedule study end to end: contracted files, evaluations side by side, rounds reused."""

from __future__ import annotations

import json
import re
from functools import partial

import numpy as np
import pytest
import yaml
from workflow_runs import REPO, h5, run_snakemake

TINY = REPO / "tests/data/tiny_schedules.yaml"


snakemake = partial(run_snakemake, config=TINY)


@pytest.fixture(scope="module")
def sched_run(tiny_studies):
    """The session's run of every tiny study (conftest.tiny_studies)."""
    return tiny_studies.workdir, tiny_studies.log


def test_contracted_files(sched_run):
    workdir, _ = sched_run
    cfg = yaml.safe_load(TINY.read_text())["studies"]["kl"]
    res = workdir / "results/schedules/kl"
    images, _ = h5(res / "data/images.h5")
    n = len(images["labels"])
    assert images["images"].shape[0] == n and images["images"].shape[1:] == (16, 16)
    assert images["angles"].shape == (n,) and set(np.unique(images["labels"])) == {0, 1, 4}
    assert 0.0 <= images["images"].min() and images["images"].max() <= 1.0
    assert len(images["train_index"]) == cfg["data"]["train_subset"]

    run = cfg["optimize"]["zbo"]
    N = cfg["jrvae"]["epochs"]
    k = run["n_initial"] + run["iterations"]
    bo, attrs = h5(res / "bo/zbo.h5")
    assert bo["z"].shape == (k, 2) and bo["y"].shape == (k,) and bo["beta"].shape == (k, N)
    assert bo["accuracy"].shape == (k,) and bo["round"].tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert bo["random_best"].shape == (run["random_seeds"], k)
    assert int(bo["best_index"]) == int(np.argmax(bo["y"]))
    assert len(set(bo["index"].tolist())) == k  # every evaluation a different grid point
    grid, _ = h5(res / "latent/grid.h5")
    lo, hi = cfg["latent"]["constraints"]["min"], cfg["latent"]["constraints"]["max"]
    assert grid["feasible"][bo["index"]].all()
    assert np.all((bo["beta"] >= lo) & (bo["beta"] <= hi))
    assert np.allclose(bo["beta"], grid["trajectories"][bo["index"]])
    # each evaluation is its own file, and the gathered run holds exactly their values
    for i, (r, j) in enumerate([(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 0), (2, 1)]):
        ev, _ = h5(res / f"bo/zbo/r{r}/e{j}.h5")
        assert int(ev["index"]) == bo["index"][i] and float(ev["objective"]) == bo["y"][i]
        assert ev["montages"].shape[0] == cfg["jrvae"].get("discrete_dim", 3)
    metrics = json.loads((res / "metrics.json").read_text())
    assert set(metrics["models"]) == {"vanilla", "jrvae_constant", "jrvae_scaled", "jrvae_zbo"}
    for m in metrics["models"].values():
        assert np.isfinite(m["objective"]) and 0.0 <= m["accuracy"] <= 1.0 and np.isfinite(m["l2"])
    summary = metrics["runs"]["zbo"]
    assert summary["evaluations"] == k and summary["best_y"] == pytest.approx(bo["y"].max())
    assert summary["random_median"] == pytest.approx(np.median(bo["random_best"][:, -1]))
    # the zBO final model trains the best schedule found
    final, _ = h5(res / "final/jrvae_zbo.h5")
    assert np.allclose(final["beta"], bo["beta"][int(bo["best_index"])])
    for fig in ("image_dataset", "schedule_families", "schedule_latent", "training_curves", "bo_convergence",
                "model_manifolds", "bo/zbo_surfaces", "bo/zbo_best"):
        assert (res / f"figures/{fig}.png").stat().st_size > 1000, fig
    assert (workdir / "results/report.html").exists()


def test_final_repeats_give_a_spread_over_seeds(sched_run):
    """final.repeats: 2 trains each final model again with jrvae.seed + 1; the metrics give mean and sd over both,
    the first training being the one of final/<model>.h5."""
    workdir, _ = sched_run
    res = workdir / "results/schedules/kl"
    cfg = yaml.safe_load(TINY.read_text())["studies"]["kl"]
    assert cfg["final"]["repeats"] == 2
    metrics = json.loads((res / "metrics.json").read_text())
    assert set(metrics["seeds"]) == set(metrics["models"])
    for name, spread in metrics["seeds"].items():
        first, _ = h5(res / f"final/{name}.h5")
        again, attrs = h5(res / f"final/repeats/{name}/r1.h5")
        jrvae = json.loads(attrs["jrvae"]) if isinstance(attrs["jrvae"], str) else attrs["jrvae"]
        assert attrs["repeat"] == 1 and jrvae["seed"] == cfg["jrvae"]["seed"]  # the block as configured
        assert spread["n"] == 2 and spread["accuracy"] == [float(first["accuracy"]), float(again["accuracy"])]
        assert spread["objective"] == [float(first["objective"]), float(again["objective"])]
        assert spread["accuracy_mean"] == pytest.approx(np.mean(spread["accuracy"]))
        assert spread["accuracy_sd"] == pytest.approx(np.std(spread["accuracy"], ddof=1))
        assert np.allclose(first["beta"], again["beta"])  # the same schedule, another seed
    # another seed trains another model (the digits are not separated identically twice)
    assert any(s["objective"][0] != s["objective"][1] for s in metrics["seeds"].values())
    assert "mean_accuracy_zbo_gt_vanilla" in metrics["done_when"]
    assert "mean ± sd over 2 seeds" in (res / "figures/metrics.html").read_text()


def test_a_pool_job_evaluates_its_points_as_they_would_be_alone(sched_run):
    """pool_per_job points share a job (bo/<run>/pool/c<chunk>.h5); each point's evaluation is bit for bit the one
    a job of its own gives, and the gathered pool is round 0 followed by the chunks' points in order."""
    from latentopt.config import validate_config
    from latentopt.optimizers.bayes.rounds import random_pool_indices
    from latentopt.studies.hooks.schedules import pool_chunks
    from latentopt.studies.schedules import evaluate_pool_point

    workdir, _ = sched_run
    cfg = validate_config(yaml.safe_load(TINY.read_text()), REPO / "workflow/schemas/config.schema.yaml",
                          root=REPO)["studies"]["kl"]
    run = cfg["optimize"]["zbo"]
    res = workdir / "results/schedules/kl"
    chunks = pool_chunks(run)
    assert chunks == [[3, 4, 5, 6]] and sorted(p.name for p in (res / "bo/zbo/pool").iterdir()) == ["c0.h5"]
    chunk, _ = h5(res / "bo/zbo/pool/c0.h5")
    assert chunk["point"].tolist() == chunks[0] and chunk["objective"].shape == (4,)
    grid, _ = h5(res / "latent/grid.h5")
    assert chunk["index"].tolist() == random_pool_indices(grid, run)[3:7].tolist()
    alone = evaluate_pool_point(res / "latent/grid.h5", 5, res / "data/images.h5", run, cfg["jrvae"],
                                cfg["objective"])
    for key in ("index", "objective", "l1", "l2", "accuracy", "beta", "montages"):
        assert np.array_equal(chunk[key][2], alone[key]), key


def test_two_evaluations_ran_side_by_side(sched_run):
    """With --cores 2 Snakemake starts a second jrVAE training before the first ends (one thread each)."""
    _, log = sched_run
    running, most = set(), 0
    rule = None
    for line in log.splitlines():
        m = re.match(r"\s*(?:local)?rule (\w+):", line)
        if m:
            rule = m.group(1)
        m = re.match(r"\s*jobid: (\d+)", line)
        if m and rule in ("schedules_score", "schedules_score_pool"):
            running.add(m.group(1))
            most = max(most, len(running))
            rule = None
        m = re.search(r"Finished jobid: (\d+)", line)
        if m:
            running.discard(m.group(1))
    assert most >= 2, "no two evaluations overlapped"


def planned_jobs(workdir, cfg, tmp_path):
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake(workdir, "-n", "--quiet", "rules", config=path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    return {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
            if len(line.split()) == 2 and line.split()[1].isdigit()}


def test_nothing_to_do_after_run(sched_run):
    workdir, _ = sched_run
    proc = snakemake(workdir, "-n")
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr


def test_raising_iterations_runs_only_the_new_rounds(sched_run, tmp_path):
    workdir, _ = sched_run
    cfg = yaml.safe_load(TINY.read_text())
    cfg["studies"]["kl"]["optimize"]["zbo"]["iterations"] = 8  # two more rounds of q = 2
    jobs = planned_jobs(workdir, cfg, tmp_path)
    assert jobs.get("schedules_propose") == 2 and jobs.get("schedules_score") == 4, jobs
    # the pool grows with the budget: 4 new points, a job of pool_per_job = 4 (the earlier job is full)
    from latentopt.studies.hooks.schedules import pool_chunks
    old, new = (pool_chunks({**cfg["studies"]["kl"]["optimize"]["zbo"], "iterations": it, "random_pool": None,
                             "pool_per_job": 4}) for it in (4, 8))
    assert new[:len(old)] == old and len(new) == len(old) + 1
    assert jobs.get("schedules_score_pool") == 1, jobs
    for rule in ("schedules_images", "schedules_families", "schedules_train", "schedules_grid"):
        assert rule not in jobs, jobs
    assert jobs.get("schedules_final", 0) <= 1, jobs  # at most the zBO model, when the best schedule changes


def test_a_skipped_round_trains_nothing(sched_run, tmp_path):
    """Early stop: with a huge tol round 1 is skipped; its evaluation records say so and hold no objective."""
    from latentopt.studies import schedules

    workdir, _ = sched_run
    res = workdir / "results/schedules/kl"
    cfg = yaml.safe_load(TINY.read_text())["studies"]["kl"]
    run = {**cfg["optimize"]["zbo"], "tol": 1e9, "xi": 0.0, "acquisition": "ei", "kappa": 10.0, "strategy":
           "constant_liar", "liar": "min", "n_restarts": 2}
    earlier = [res / f"bo/zbo/r0/e{j}.h5" for j in range(3)]
    prop = schedules.propose(res / "latent/grid.h5", earlier, 1, run)
    assert bool(prop["skip"]) and len(prop["index"]) == 0
    from latentopt.io import write_h5
    write_h5(tmp_path / "round1.h5", {k: v for k, v in prop.items() if k != "kernel"})
    ev = schedules.evaluate_slot(tmp_path / "round1.h5", 0, res / "data/images.h5", {"epochs": 4}, {})
    assert bool(ev["skipped"]) and int(ev["index"]) == -1 and np.isnan(ev["objective"])
