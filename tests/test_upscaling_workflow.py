"""The tiny upscaling study end to end: contracted files, exact energies, the one-job timing, figures."""

from __future__ import annotations

import json
import sys
from functools import partial

import numpy as np
import pytest
import yaml
from workflow_runs import REPO, h5, run_snakemake

from latentopt.physics.hamiltonian import ChiralMagnet, energy_per_spin

TINY = REPO / "tests/data/tiny_upscaling.yaml"


snakemake = partial(run_snakemake, config=TINY)


@pytest.fixture(scope="module")
def run(tiny_studies):
    """The session's run of every tiny study (conftest.tiny_studies)."""
    return tiny_studies.workdir


def test_contracted_files(run):
    cfg = yaml.safe_load(TINY.read_text())["studies"]["up"]
    L, n = cfg["system"]["L"], cfg["simulate"]["n_samples"]
    res = run / "results/upscaling/up"
    data, attrs = h5(res / "data/dataset.h5")
    assert data["spins"].shape == (n, 3, L, L) and data["T"].shape == (n,)
    np.testing.assert_allclose(data["energy"], energy_per_spin(data["spins"].astype(np.float64), ChiralMagnet(L=L)),
                               atol=1e-5)
    history, hattrs = h5(res / "gan/history.h5")
    for key in ("critic_loss", "wasserstein", "gp", "ct", "generator_loss", "energy_mae", "energy_r"):
        assert history[key].shape == (cfg["gan"]["epochs"],) and np.all(np.isfinite(history[key])), key
    assert (res / "gan/generator.pt").stat().st_size > 1000
    for s in cfg["evaluate"]["scales"]:
        g, gattrs = h5(res / f"generated/x{s}.h5")
        m = cfg["evaluate"]["n_generate"]
        assert g["spins"].shape == (m, 3, s * L, s * L)
        np.testing.assert_allclose(np.linalg.norm(g["spins"], axis=1), 1.0, atol=1e-5)
        # the stored energy is the exact energy of the stored state on the (s L)^2 torus
        np.testing.assert_allclose(g["energy"], energy_per_spin(g["spins"].astype(np.float64),
                                                                ChiralMagnet(L=s * L)), atol=1e-5)
        assert np.isin(g["requested"], data["energy"]).all()  # drawn from the training labels
        assert bool(gattrs["calibrated"]) and not np.array_equal(g["label"], g["requested"])
        assert json.loads(gattrs["system"])["L"] == s * L and gattrs["states_per_s"] > 0
        assert (res / f"gan/calibration_x{s}.json").exists()
    hb, hb_attrs = h5(res / "heatbath/x2.h5")
    assert hb["spins"].shape == (2 * cfg["simulate"]["n_temperatures"], 3, 2 * L, 2 * L)
    assert hb_attrs["speedup"] == pytest.approx(hb_attrs["generator_states_per_s"] / hb_attrs["states_per_s"])

    metrics = json.loads((res / "metrics.json").read_text())
    assert set(metrics["scales"]) == {"1", "2"}
    for s, row in metrics["scales"].items():
        for key in ("ks", "p_value", "pearson_r", "mae", "seam_ks", "states_per_s"):
            assert np.isfinite(row[key]), (s, key)
        assert 0 <= row["ks"] <= 1 and row["calibrated"] is True
        # the uncalibrated generator's numbers stand beside the calibrated ones
        for key in ("uncalibrated_ks", "uncalibrated_p_value", "uncalibrated_cold_decile_bias", "cold_decile_bias"):
            assert np.isfinite(row[key]), (s, key)
    assert metrics["scales"]["1"]["paper_ks"] == 0.02 and metrics["scales"]["2"]["paper_p_value"] == 0.18
    assert metrics["speedup"] == pytest.approx(hb_attrs["speedup"]) and metrics["heatbath"]["L"] == 2 * L
    assert 0 <= metrics["heatbath"]["sq_shells_within"] <= 1 and metrics["heatbath"]["sq_max_deviation"] >= 0
    for fig in ("train_samples", "seams", "structure_factor", "heatbath_comparison", "gan_training",
                "generated_x1", "generated_x2", "fidelity_x1", "fidelity_x2"):
        assert (res / f"figures/{fig}.png").stat().st_size > 1000, fig
    assert "KS" in (res / "figures/metrics.html").read_text()
    assert (run / "results/report.html").exists()


def test_more_scales_rerun_only_the_new_scale(run, tmp_path):
    """Adding a scale generates only that scale (and what reads it); the GAN is not retrained."""
    cfg = yaml.safe_load(TINY.read_text())
    cfg["studies"]["up"]["evaluate"]["scales"] = [1, 2, 4]
    cfg["studies"]["up"]["evaluate"]["heatbath_scale"] = 2
    path = tmp_path / "more.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake(run, "-n", config=path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "generated/x4.h5" in out and "upscaling_train" not in out and "upscaling_simulate" not in out


def test_nothing_to_do_after_run(run):
    proc = snakemake(run, "-n")
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr


def test_upscaling_settings_benchmark_reads_a_finished_study(tiny_studies, tmp_path):
    """benchmarks/upscaling_settings.py: variants as dotted keys, refused when they name no block; its summary
    of the shared tiny run is that run's metrics (KS per scale, the coldest temperature's energies, S at the
    zone boundary) and benchmark walls; its S(|q|) ratio gives the run's share of shells within 10 %, and its
    figure is drawn."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from upscaling_settings import apply_variant, draw, parse_variant, shell_ratio, summary

    assert parse_variant("gan.upsample=1,system.L=24,gan.critic_channels=[8, 8]") == {
        "gan.upsample": 1, "system.L": 24, "gan.critic_channels": [8, 8]}
    with pytest.raises(ValueError, match="key=value"):
        parse_variant("gan.upsample")
    study = {"system": {"L": 8}, "gan": {"epochs": 3}}
    assert apply_variant(study, {"gan.upsample": 1, "system.L": 16}) == {"system": {"L": 16},
                                                                       "gan": {"epochs": 3, "upsample": 1}}
    assert study["system"]["L"] == 8  # a copy
    with pytest.raises(KeyError, match="no block 'gna'"):
        apply_variant(study, {"gna.upsample": 1})

    res = tiny_studies.workdir / "results/upscaling/up"
    metrics = json.loads((res / "metrics.json").read_text())
    s = summary(res)
    assert s["scales"] == {k: (v["ks"], v["pearson_r"]) for k, v in metrics["scales"].items()}
    coldest = min(metrics["heatbath"]["per_T"], key=lambda r: r["T"])
    assert s["cold"] == (coldest["T"], coldest["energy_generated"], coldest["energy_heatbath"])
    assert s["gan_s"] > 0 and s["generate_s"] > 0 and s["zone"][1] > 0
    assert s["cold_bias"] == {k: v["cold_decile_bias"] for k, v in metrics["scales"].items()}
    assert s["hot_bias"].keys() == metrics["scales"].keys() and all(np.isfinite(list(s["hot_bias"].values())))
    q, ratio = shell_ratio(res)
    assert np.all(q > 0) and np.all(ratio > 0)
    assert np.mean(np.abs(ratio - 1) <= 0.1) == pytest.approx(metrics["heatbath"]["sq_shells_within"], abs=1e-12)
    draw(tmp_path / "settings.png", [("as configured", s, (q, ratio))])
    assert (tmp_path / "settings.png").stat().st_size > 10_000
