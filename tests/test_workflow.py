"""End-to-end: the tiny study through Snakemake produces every contracted file; reruns are minimal."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from workflow_runs import REPO, h5, run_snakemake, snakemake_command

from latentopt.physics.hamiltonian import ChiralMagnet, commensurate_spiral_energy, energy_per_spin

TINY = REPO / "tests/data/tiny.yaml"
sys.path.insert(0, str(Path(__file__).resolve().parent))


snakemake = partial(run_snakemake, config=TINY, timeout=900)


def test_dry_run_of_default_config_on_fresh_directory(tmp_path):
    """`snakemake -n` works without any results (a fresh clone); the DAG has every stage."""
    proc = snakemake(tmp_path, "-n", "--quiet", "rules", config=REPO / "config/config.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for rule in ("spins_simulate", "spins_merge", "spins_train", "spins_generate", "spins_modify", "spins_optimize",
                 "spins_evaluate"):
        assert rule in out
    assert not (tmp_path / "results").exists()


def test_explicit_kind_gives_the_same_dag(tmp_path):
    """Writing each study's kind (inferred from system.model otherwise) changes nothing in the DAG."""
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    explicit = yaml.safe_load(yaml.safe_dump(cfg))
    for study in explicit["studies"].values():
        if "kind" not in study:  # the kinds that cannot be inferred (schedules, transitions, upscaling) are written
            study["kind"] = "trajectories" if study["system"].get("model") == "ferrosim" else "spins"
    dags = []
    for name, c in (("implicit", cfg), ("explicit", explicit)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(c))
        proc = snakemake(tmp_path / name, "--dag", config=path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        dags.append(proc.stdout)
    assert "trajectories_train" in dags[0] and "spins_simulate" in dags[0]
    assert dags[0] == dags[1]


@pytest.fixture(scope="module")
def tiny_run(tiny_studies):
    """The session's run of every tiny study (conftest.tiny_studies)."""
    return tiny_studies.workdir


def test_contracted_files(tiny_run):
    cfg = yaml.safe_load(TINY.read_text())["studies"]["tiny"]
    L, n = cfg["system"]["L"], cfg["simulate"]["n_samples"]
    res = tiny_run / "results/tiny"

    data, attrs = h5(res / "data/dataset.h5")
    assert data["spins"].shape == (n, 3, L, L) and data["spins"].dtype == np.float32
    for key in ("energy", "W", "Mz"):
        assert data[key].shape == (n,)
    assert np.allclose(np.linalg.norm(data["spins"], axis=1), 1.0, atol=1e-6)
    assert np.allclose(data["W"], np.round(data["W"]), atol=1e-6)
    assert "system" in attrs and "simulate" in attrs and "latentopt_version" in attrs

    state = torch.load(res / "vae/model.pt", weights_only=True)
    assert "state_dict" in state and state["hparams"]["L"] == L

    hist, _ = h5(res / "vae/history.h5")
    for key in ("loss", "reconstruction", "kl", "val_loss"):
        assert hist[key].shape == (cfg["vae"]["epochs"],)

    vae, _ = h5(res / "samples/vae.h5")
    assert vae["z"].shape == (cfg["generate"]["n_samples"], cfg["vae"]["latent_dim"])
    assert vae["spins"].shape == (cfg["generate"]["n_samples"], 3, L, L)
    relaxed, _ = h5(res / "samples/relaxed.h5")
    assert relaxed["spins"].shape == vae["spins"].shape
    assert relaxed["energy_history"].shape == (cfg["relax"]["iterations"], cfg["generate"]["n_samples"])

    for run, settings in cfg["optimize"].items():
        out, attrs = h5(res / f"optimize/{run}.h5")
        iters = settings.get("generations", settings.get("iterations")) * settings.get("restarts", 1)
        assert out["objective"].shape == (iters,)
        assert out["best_z"].shape == (cfg["vae"]["latent_dim"],)
        assert out["best_spins"].shape == (3, L, L)
        assert out["snapshots"].shape[1:] == (3, L, L)
        assert out["snapshot_iteration"].shape == (len(out["snapshots"]),)
        assert attrs["algorithm"] == settings["algorithm"] and attrs["objective"] == settings["objective"]
        assert json.loads(attrs["settings"])["seed"] == settings["seed"]
        assert (res / f"figures/optimize/{run}.png").stat().st_size > 0

    # polish: true relaxes the best decoded state in spin space: lower energy, both values reported
    out, _ = h5(res / "optimize/sto-E.h5")
    assert out["polished_spins"].shape == (3, L, L) and float(out["polished_value"]) <= float(out["best_value"])
    assert np.allclose(np.linalg.norm(out["polished_spins"], axis=0), 1.0, atol=1e-5)

    metrics = json.loads((res / "metrics.json").read_text())
    polished = {f"{r} (polished)" for r, s in cfg["optimize"].items() if s.get("polish")}
    with_direct = [r for r, s in cfg["optimize"].items() if s.get("baseline", {}).get("enabled", True)]
    direct = {f"{r} (direct)" for r in with_direct} | {f"{r} (direct, polished)" for r in with_direct
                                                         if cfg["optimize"][r].get("polish")}
    assert polished and set(metrics["sets"]) == {"dataset", "vae", "relaxed", *cfg["optimize"], *polished, *direct}
    assert metrics["runs"]["sto-E"]["polished_value"] == pytest.approx(float(out["polished_value"]))
    # the polished state against the lowest single-q spiral that fits the lattice (K, B != 0: a reference state)
    sto, magnet = metrics["runs"]["sto-E"], ChiralMagnet.from_config(cfg["system"])
    spiral = commensurate_spiral_energy(magnet, sto["single_q_periods"])
    assert sto["single_q_energy"] == pytest.approx(spiral, abs=1e-12)
    assert sto["polished_gap"] == pytest.approx(sto["polished_energy"] - spiral, abs=1e-12)
    assert sto["polished_energy"] == pytest.approx(
        energy_per_spin(out["polished_spins"].astype(np.float64), magnet), abs=1e-6)
    # relax_steps: 2 scores states after two descent steps, below the energy of the decoded state itself
    assert sto["best_value"] == pytest.approx(float(out["best_value"])) and float(out["best_value"]) < float(
        energy_per_spin(out["best_spins"].astype(np.float64), magnet))
    for m in metrics["sets"].values():
        for key in ("energy_mean", "energy_std", "max_local_energy_density", "nodal_points_mean", "W_mean", "Mz_mean"):
            assert np.isfinite(m[key])
    assert -1 <= metrics["reconstruction_ssim"]["mean"] <= 1
    for fig in ("dataset_samples", "vae_samples", "relaxed_samples", "energy_histograms", "energy_density_maps",
                "training_curves", "optimizer_traces", "w_vs_mz", "baseline_comparison"):
        assert (res / f"figures/{fig}.png").stat().st_size > 1000

    report = (tiny_run / "results/report.html").read_text()
    assert "metrics.html" in report and "dataset_samples.png" in report
    # nothing half-written left behind
    assert not list((tiny_run / "results").rglob("*.tmp*"))


def test_report_captions_render_cleanly(tiny_studies):
    """Every caption of the report parses as reStructuredText: docutils prints no system message.

    A bare ``|q|`` in a caption is a substitution reference to RST, printed as an error and
    shown as a red box in the caption; write ``\\|q\\|``.
    """
    assert "Report created" in tiny_studies.log
    messages = [line for line in tiny_studies.log.splitlines() if re.search(r"\((ERROR|WARNING|SEVERE)/\d\)", line)]
    assert not messages, messages
    assert "system-message" not in (tiny_studies.workdir / "results/report.html").read_text()


def test_baseline_direct_search(tiny_run):
    """spins_baseline: exactly the latent run's evaluations, in spin space, reported beside the latent run."""
    from latentopt.physics.torch_physics import topological_charge

    cfg = yaml.safe_load(TINY.read_text())["studies"]["tiny"]
    res = tiny_run / "results/tiny"
    magnet = ChiralMagnet.from_config(cfg["system"])
    metrics = json.loads((res / "metrics.json").read_text())
    data, _ = h5(res / "data/dataset.h5")
    per = {"genetic": "population", "stochastic": "samples", "single_code": "codes"}
    for run, settings in cfg["optimize"].items():
        path = res / f"baseline/{run}.h5"
        if not settings.get("baseline", {}).get("enabled", True):
            assert not path.exists() and "direct" not in metrics["runs"][run]
            continue
        latent, _ = h5(res / f"optimize/{run}.h5")
        out, attrs = h5(path)
        # the budget, counted from what the latent optimizer evaluated (single-code: a final decode of all codes)
        final = settings["algorithm"] == "single_code"
        budget = settings[per[settings["algorithm"]]] * (len(latent["objective"]) + final)
        assert int(out["n_evaluations"]) == int(out["latent_evaluations"]) == budget == out["evaluations"][-1]
        assert metrics["runs"][run]["evaluations"] == metrics["runs"][run]["direct"]["evaluations"] == budget
        assert attrs["states"] * attrs["steps"] == budget and attrs["init"] == settings.get("baseline", {}).get(
            "init", "random")
        L = cfg["system"]["L"]
        assert out["best_spins"].shape == (3, L, L)
        assert np.allclose(np.linalg.norm(out["best_spins"], axis=0), 1.0, atol=1e-5)
        sign = 1.0 if attrs["direction"] == "max" else -1.0
        assert np.all(np.diff(sign * out["best_so_far"]) >= 0) and out["best_so_far"][-1] == pytest.approx(
            float(out["best_value"]))
        assert float(out["best_energy"]) == pytest.approx(energy_per_spin(out["best_spins"].astype(np.float64),
                                                                          magnet), abs=1e-5)
        assert float(out["best_W"]) == pytest.approx(float(topological_charge(torch.as_tensor(
            out["best_spins"][None]).double())), abs=1e-6)
        d = metrics["runs"][run]["direct"]
        assert d["best_value"] == pytest.approx(float(out["best_value"])) and d["search_seconds"] > 0
        assert metrics["runs"][run]["search_seconds"] > 0
        winner = "latent" if sign * metrics["runs"][run]["best_value"] > sign * d["best_value"] else "direct"
        assert d["winner"] in (winner, "tie")
        if attrs["init"] == "heatbath":  # the best state started from a data-set state
            assert any(np.array_equal(out["initial_spins"], x) for x in data["spins"])
        if settings.get("polish"):
            assert d["polished_gap"] == pytest.approx(d["polished_energy"] - metrics["runs"][run]["single_q_energy"])
            assert d["polished_energy"] <= float(out["best_energy"]) + 1e-9
            assert d["polished_winner"] in ("latent", "direct", "tie")
    table = (res / "figures/metrics.html").read_text()
    assert "direct search in spin space" in table and "Which search wins" in table
    log = (res / "logs/baseline/ga-W.log").read_text()
    assert "evaluations (latent run:" in log
    assert (res / "benchmarks/baseline/ga-W.tsv").exists()


def test_nothing_to_do_after_run(tiny_run):
    proc = snakemake(tiny_run, "-n")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


def planned_jobs(workdir, cfg, tmp_path):
    """Dry-run with a modified config; return {rule: job count}."""
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake(workdir, "-n", "--quiet", "rules", config=path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    return {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
            if len(line.split()) == 2 and line.split()[1].isdigit()}


def test_changed_setting_reruns_only_affected_jobs(tiny_run, tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["studies"]["tiny"]["optimize"]["ga-W"]["seed"] = 40
    jobs = planned_jobs(tiny_run, cfg, tmp_path)
    assert jobs.get("spins_optimize") == 1 and jobs.get("spins_plot") == 1 and jobs.get("spins_evaluate") == 1, jobs
    assert jobs.get("spins_baseline") == 1, jobs  # its budget is the latent run's
    for rule in ("spins_simulate", "spins_merge", "spins_train", "spins_generate", "spins_modify"):
        assert rule not in jobs, jobs


def test_changed_baseline_setting_reruns_only_the_baseline(tiny_run, tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["studies"]["tiny"]["optimize"]["ga-W"]["baseline"] = {"seed": 3}
    jobs = planned_jobs(tiny_run, cfg, tmp_path)
    assert jobs.get("spins_baseline") == 1 and jobs.get("spins_evaluate") == 1, jobs
    assert "spins_optimize" not in jobs and "spins_plot" not in jobs, jobs


def test_vae_change_reruns_everything_downstream(tiny_run, tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["studies"]["tiny"]["vae"]["epochs"] = 3
    jobs = planned_jobs(tiny_run, cfg, tmp_path)
    n_runs = len(cfg["studies"]["tiny"]["optimize"])
    assert jobs.get("spins_train") == 1 and jobs.get("spins_modify") == 1 and jobs.get("spins_optimize") == n_runs, jobs
    assert "spins_simulate" not in jobs and "spins_merge" not in jobs, jobs


def test_progress_and_threads_rerun_nothing(tiny_run, tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["progress"] = not cfg.get("progress", True)
    cfg["threads"] = 1
    assert planned_jobs(tiny_run, cfg, tmp_path) == {}


def test_evaluate_study_without_runs(tiny_run):
    """A study whose optimize block is empty still gets metrics and every figure."""
    from latentopt.studies.spins import evaluate

    res = tiny_run / "results/tiny"
    system = yaml.safe_load(TINY.read_text())["studies"]["tiny"]["system"]
    metrics, figs = evaluate(dataset=res / "data/dataset.h5", model=res / "vae/model.pt",
                                   history=res / "vae/history.h5", vae=res / "samples/vae.h5",
                                   relaxed=res / "samples/relaxed.h5", runs={}, system=system,
                                   nodal_threshold=-1.5, n_show=2)
    assert metrics["runs"] == {} and set(metrics["sets"]) == {"dataset", "vae", "relaxed"}
    assert {"optimizer_traces", "w_vs_mz", "energy_histograms"} <= set(figs)


# ------------------------------------------------------------------ trajectory study (FerroSIM + BO)
TINY_FERRO = REPO / "tests/data/tiny_ferro.yaml"


@pytest.fixture(scope="module")
def ferro_run(tiny_studies):
    """The session's run of every tiny study (conftest.tiny_studies)."""
    return tiny_studies.workdir


def test_trajectory_study_contracted_files(ferro_run):
    cfg = yaml.safe_load(TINY_FERRO.read_text())["studies"]["ferro"]
    n, T, G = cfg["trajectories"]["n"], cfg["trajectories"]["steps"], cfg["latent"]["grid"]
    res = ferro_run / "results/trajectories/ferro"
    train, attrs = h5(res / "trajectories/train.h5")
    assert train["trajectories"].shape == (n, T) and train["params"].shape == (n, 4)
    assert "trajectories" in attrs
    grid, _ = h5(res / "latent/grid.h5")
    assert grid["z"].shape == (G * G, 2) and grid["trajectories"].shape == (G * G, T)
    assert grid["feasible"].dtype == bool and grid["feasible"].shape == (G * G,)
    lo, hi = cfg["latent"]["constraints"]["min"], cfg["latent"]["constraints"]["max"]
    ok = grid["feasible"]
    assert np.all((grid["trajectories"][ok] >= lo) & (grid["trajectories"][ok] <= hi))
    truth, _ = h5(res / "latent/ground_truth.h5")
    assert truth["y"].shape == (G * G,)
    assert np.isnan(truth["y"][~ok]).all() and np.isfinite(truth["y"][ok]).all()
    for run, settings in cfg["optimize"].items():
        bo, bo_attrs = h5(res / f"bo/{run}.h5")
        k = len(bo["y"])
        assert k <= settings["n_initial"] + settings["iterations"]
        assert bo["z"].shape == (k, 2) and bo["initial"].shape == (k,) and bo["initial"].sum() == settings["n_initial"]
        assert bo["best_trajectory"].shape == (T,) and bo["best_z"].shape == (2,)
        assert bo["gp_mean"].shape == (G * G,) and bo["gp_std"].shape == (G * G,)
        assert bo["random_best"].shape == (settings["random_seeds"], k)
        # BO evaluated the decoded grid trajectories: the same values as the ground truth
        assert np.allclose(bo["y"], truth["y"][bo["index"]], rtol=1e-12)
        assert bo["best_y"] == bo["y"].max() == truth["y"][bo["index"]].max()
        assert np.allclose(bo["z"], grid["z"][bo["index"]])
        assert bo_attrs["algorithm"] == "bayes"
    metrics = json.loads((res / "metrics.json").read_text())
    assert metrics["kind"] == "trajectory" and set(metrics["runs"]) == set(cfg["optimize"])
    # every output says which unit its fields are in (the default: the tetragonal E_c)
    from latentopt.physics.ferrosim import coercive_field
    unit = {"field_unit": "E_c", "field_unit_value": coercive_field(-1.6, 12.2), "E_c_in_field_units": 1.0}
    assert metrics["field_unit"] == pytest.approx(unit)
    for name in ("trajectories/train.h5", "latent/grid.h5", "latent/ground_truth.h5",
                 *(f"bo/{run}.h5" for run in cfg["optimize"])):
        attrs = h5(res / name)[1]
        assert {k: attrs[k] for k in unit} == pytest.approx(unit), name
    assert metrics["ground_truth"]["max"] == pytest.approx(np.nanmax(truth["y"]))
    for fig in ("trajectory_samples", "training_curves", "latent_parameters", "feasible_region", "bo_convergence"):
        assert (res / f"figures/{fig}.png").stat().st_size > 1000
    for run in cfg["optimize"]:
        assert (res / f"figures/bo/{run}_surfaces.png").exists() and (res / f"figures/bo/{run}_best.png").exists()
    assert (ferro_run / "results/report.html").exists()


def test_trajectory_study_nothing_to_do_after_run(ferro_run):
    proc = snakemake(ferro_run, "-n", config=TINY_FERRO)
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr


def test_trajectory_study_without_ground_truth_simulates_random_search(ferro_run, tmp_path):
    cfg = yaml.safe_load(TINY_FERRO.read_text())
    cfg["studies"]["ferro"]["ground_truth"] = False
    cfg["studies"]["ferro"]["optimize"] = {"ucb": cfg["studies"]["ferro"]["optimize"]["ucb"]}
    path = tmp_path / "no_truth.yaml"
    path.write_text(yaml.safe_dump(cfg))
    work = copy_run(ferro_run, tmp_path / "run")  # the session's run stays as it was
    proc = snakemake(work, "--cores", "2", "--forcerun", "trajectories_optimize", config=path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    bo, _ = h5(work / "results/trajectories/ferro/bo/ucb.h5")
    truth, _ = h5(work / "results/trajectories/ferro/latent/ground_truth.h5")  # from the first run
    ok = np.flatnonzero(np.isfinite(truth["y"]))
    from latentopt.optimizers.bayes import random_search
    expected = random_search(truth["y"][ok], len(bo["y"]), 5, seed=1)
    assert np.allclose(bo["random_best"], expected)


# ------------------------------------------------------------------ bad inputs end with one clear line
def copy_run(src: Path, dst: Path) -> Path:
    """A copy of a finished run (results and Snakemake's metadata, timestamps kept) to break on purpose."""
    shutil.copytree(src, dst, symlinks=True)
    return dst


def console_error(proc) -> str:
    """The one line a failing script printed to the console (latentopt's excepthook)."""
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("latentopt: ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    return lines[0]


def test_truncated_dataset_fails_with_one_line(tiny_run, tmp_path):
    """dataset.h5 cut short (a full disk): the rule stops with file, problem and fix; nothing half-written."""
    work = copy_run(tiny_run, tmp_path / "run")
    dataset = work / "results/tiny/data/dataset.h5"
    dataset.write_bytes(dataset.read_bytes()[: dataset.stat().st_size // 2])
    proc = snakemake(work, "--cores", "2", "results/tiny/vae/model.pt")
    assert proc.returncode != 0
    line = console_error(proc)
    assert "results/tiny/data/dataset.h5: not a readable HDF5 file, truncated or corrupt" in line
    assert "delete it and rerun" in line and "Traceback" not in line
    assert not (work / "results/tiny/vae/model.pt").exists()
    assert not list((work / "results").rglob("*.tmp*"))
    log = (work / "results/tiny/logs/train_vae.log").read_text()
    assert log.rstrip().splitlines()[-1] == line  # the log ends with the same line, not a traceback


def test_diverging_training_fails_with_one_line(tiny_run, tmp_path):
    """vae.lr: 10 makes the loss NaN: one line naming the epoch and the setting; no model file left."""
    work = copy_run(tiny_run, tmp_path / "run")
    cfg = yaml.safe_load(TINY.read_text())
    cfg["studies"]["tiny"]["vae"]["lr"] = 10.0
    path = tmp_path / "lr10.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake(work, "--cores", "2", "results/tiny/vae/model.pt", config=path)
    assert proc.returncode != 0
    line = console_error(proc)
    assert re.search(r"studies\.tiny: train VAE: the loss became (nan|inf) in epoch \d+ of 2; lower vae\.lr "
                     r"\(now 10\.0\)", line), line
    assert not (work / "results/tiny/vae/model.pt").exists()


def test_corrupt_model_file_fails_with_one_line(tiny_run, tmp_path):
    work = copy_run(tiny_run, tmp_path / "run")
    model = work / "results/tiny/vae/model.pt"
    model.write_bytes(b"not a model" * 10)
    proc = snakemake(work, "--cores", "2", "results/tiny/samples/vae.h5")
    assert proc.returncode != 0
    line = console_error(proc)
    assert "results/tiny/vae/model.pt: not a readable model file" in line and "delete it and rerun" in line


# ------------------------------------------------------------------ killed runs resume to the same outputs
KILL_STUDY = {
    "device": "cpu", "threads": 1, "progress": False,
    "studies": {"kill": {
        "system": {"L": 16, "D": 0.3, "K": 0.05},
        "simulate": {"n_samples": 400, "n_sweeps": 20, "shards": 1, "seed": 1},
        "vae": {"latent_dim": 4, "epochs": 12, "batch_size": 8, "val_fraction": 0.1, "seed": 2},
        "optimize": {"ga": {"algorithm": "genetic", "objective": "energy", "population": 32, "generations": 400,
                            "checkpoint_every": 5, "seed": 3}},
    }},
}
KILL_TARGET = "results/kill/optimize/ga.h5"


def run_and_kill_when(workdir: Path, config: Path, appears: Path, timeout: float = 600) -> None:
    """Start the workflow, and SIGKILL its whole process group once ``appears`` exists (a checkpoint)."""
    proc = subprocess.Popen(snakemake_command(workdir, "--cores", "1", KILL_TARGET, config=config),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while not appears.exists():
            assert proc.poll() is None, f"the workflow ended before {appears} appeared"
            assert time.monotonic() < deadline, f"{appears} did not appear"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_sigkill_during_training_and_optimization_then_unlock_resumes_bit_identically(tmp_path):
    """docs/troubleshooting.md: after kill -9, `snakemake --unlock` and the same command finish the run from the
    checkpoints, with outputs identical to an uninterrupted run."""
    config = tmp_path / "kill.yaml"
    config.write_text(yaml.safe_dump(KILL_STUDY))
    # the uninterrupted reference runs on the second core meanwhile (one thread each: results do not differ)
    with open(tmp_path / "reference.log", "w") as log:
        reference = subprocess.Popen(snakemake_command(tmp_path / "reference", "--cores", "1", KILL_TARGET,
                                                       config=config), stdout=log, stderr=subprocess.STDOUT)

    work = tmp_path / "killed"
    run_and_kill_when(work, config, work / "results/kill/.checkpoints/vae.pt")
    assert not (work / "results/kill/vae/model.pt").exists(), "training finished before the kill"
    locked = snakemake(work, "--cores", "1", KILL_TARGET, config=config)
    assert locked.returncode != 0 and "cannot be locked" in locked.stdout + locked.stderr
    assert snakemake(work, "--unlock", config=config).returncode == 0

    run_and_kill_when(work, config, work / "results/kill/.checkpoints/optimize-ga.pt")
    assert (work / "results/kill/vae/model.pt").exists() and not (work / f"{KILL_TARGET}").exists()
    assert snakemake(work, "--unlock", config=config).returncode == 0
    resumed = snakemake(work, "--cores", "1", KILL_TARGET, config=config)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in (work / "results/kill/logs/train_vae.log").read_text()
    assert "resuming from" in (work / "results/kill/logs/optimize/ga.log").read_text()
    assert reference.wait(timeout=900) == 0, (tmp_path / "reference.log").read_text()[-3000:]
    from compare_results import compare_trees

    assert compare_trees(tmp_path / "reference/results", work / "results") == []


def test_profile_of_the_run_has_every_job_with_its_start_up(tiny_studies):
    """benchmarks/profile_run.py on a real run: a row per job, wall and CPU from the benchmark files,
    the start-up each job logged (scripting.setup), and the cores' use."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from profile_run import parse_snakemake_log, read_startup, report

    text = report(tiny_studies.workdir, None, cores=2)
    logs = sorted((tiny_studies.workdir / ".snakemake/log").glob("*.snakemake.log"))
    jobs, first, last = parse_snakemake_log(logs[0])
    scripted = [j for j in jobs.values() if j.rule != "all" and j.log]
    assert len(scripted) > 50 and all(j.end is not None and j.start is not None for j in scripted)
    for job in scripted:
        wall, cpu = read_startup(tiny_studies.workdir / job.log)
        assert 0 < cpu and 0 < wall, job
    assert all(f" {j.rule} " in text for j in scripted) and "run wall" in text
