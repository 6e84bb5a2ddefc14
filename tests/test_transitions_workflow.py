"""The tiny transition study end to end: contracted files, the saddle check, the meta-learning outputs."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pytest
import yaml
from workflow_runs import REPO, h5, run_snakemake

TINY = REPO / "tests/data/tiny_transitions.yaml"


snakemake = partial(run_snakemake, config=TINY)


@pytest.fixture(scope="module")
def run(tiny_studies):
    """The session's run of every tiny study (conftest.tiny_studies)."""
    return tiny_studies.workdir


def test_contracted_files(run):
    cfg = yaml.safe_load(TINY.read_text())["studies"]["collapse"]
    L, m = cfg["system"]["L"], cfg["neb"]["images"]
    res = run / "results/transitions/collapse"
    ends, _ = h5(res / "transitions/end_states.h5")
    assert ends["W"].round().tolist() == [-1.0, 0.0] and ends["energy"][0] > ends["energy"][1]
    vp, attrs = h5(res / "transitions/vp.h5")
    assert vp["path"].shape == (m, 3, L, L) and vp["energy"].shape == vp["arc"].shape == (m,)
    assert np.allclose(np.linalg.norm(vp["path"], axis=1), 1.0, atol=1e-5)
    assert vp["energy"][0] == 0.0 and float(vp["barrier"]) == pytest.approx(vp["energy"][int(vp["saddle_index"])])
    assert float(vp["barrier"]) == pytest.approx(vp["energy"].max())
    assert vp["profile_s"].ndim == 1 and vp["profile_e"].shape == vp["profile_s"].shape
    assert vp["force_history"].shape == (int(vp["iterations"]) + 1,)
    assert bool(vp["converged"]) and vp["force_history"][-1] < cfg["neb"]["tol"]
    # a first-order saddle: exactly one negative mode of the Hessian on the tangent space
    assert int(vp["negative_modes"]) == 1 and vp["hessian_lowest"][0] < 0 < vp["hessian_lowest"][1]
    assert vp["W"][0] == pytest.approx(-1.0, abs=1e-3) and vp["W"][-1] == pytest.approx(0.0, abs=1e-3)
    assert np.all(np.diff(vp["arc"]) > 0)
    doubled, _ = h5(res / "transitions/doubled/vp.h5")
    assert doubled["path"].shape[0] == 2 * m - 1
    assert abs(float(doubled["barrier"]) - float(vp["barrier"])) < 1e-2

    params = json.loads((res / "meta/params.json").read_text())
    for key in ("gamma", "mu", "beta", "speedup", "median_iterations_initial", "median_iterations_learned"):
        assert key in params
    bench, _ = h5(res / "meta/benchmark.h5")
    assert bench["delta_initial"].shape[1] == cfg["meta"]["benchmark"]["n_paths"]

    metrics = json.loads((res / "metrics.json").read_text())
    assert set(metrics["runs"]) == {"vp", "learned"}
    r = metrics["runs"]["vp"]
    assert r["barrier"] == pytest.approx(float(vp["barrier"])) and r["negative_modes"] == 1
    assert r["barrier_change_doubled"] == pytest.approx(float(doubled["barrier"]) - float(vp["barrier"]))
    assert metrics["D_over_J"] == pytest.approx(0.3) and metrics["speedup"] == pytest.approx(params["speedup"])
    for fig in ("energy_paths", "path_snapshots", "path_charge", "methods_table", "meta_loss", "meta_convergence"):
        assert (res / f"figures/{fig}.png").stat().st_size > 1000, fig
    assert (run / "results/report.html").exists()


def test_nothing_to_do_after_run(run):
    proc = snakemake(run, "-n")
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr
