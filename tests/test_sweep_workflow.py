"""The tiny sweep end to end (part of the shared run): pooled data, per-point files, the sweep's metrics, reruns."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pytest
import yaml
from workflow_runs import REPO, h5, run_snakemake

from latentopt.config import validate_config
from latentopt.physics.hamiltonian import ChiralMagnet, energy_per_spin
from latentopt.physics.phases import classify
from latentopt.sweeps import expand_sweep

TINY = REPO / "tests/data/tiny_sweep.yaml"
snakemake = partial(run_snakemake, config=TINY)


@pytest.fixture(scope="module")
def run(tiny_studies):
    """The session's run of every tiny study (conftest.tiny_studies)."""
    return tiny_studies.workdir


def test_sweep_files(run):
    cfg = validate_config(yaml.safe_load(TINY.read_text()), REPO / "workflow/schemas/config.schema.yaml",
                          root=REPO)["studies"]["tiny_sweep"]
    points = expand_sweep(cfg["system"], cfg["sweep"])
    assert list(points) == ["B_z~0.0", "B_z~0.6"]
    res = run / "results/tiny_sweep"
    n, L = cfg["simulate"]["n_samples"], cfg["system"]["L"]
    data, attrs = h5(res / "data/dataset.h5")
    assert data["spins"].shape == (2 * n, 3, L, L)
    assert list(data["point"]) == [0] * n + [1] * n and json.loads(attrs["points"]) == list(points)
    # each state's stored energy is its own point's Hamiltonian's
    for k, p in enumerate(points.values()):
        sel = data["point"] == k
        np.testing.assert_allclose(data["energy"][sel], energy_per_spin(data["spins"][sel].astype(np.float64),
                                                                        ChiralMagnet.from_config(p["system"])),
                                   atol=1e-5)
    metrics = json.loads((res / "sweep/metrics.json").read_text())
    rows = {r["point"]: r for r in metrics["points"]}
    for name, p in points.items():
        model = ChiralMagnet.from_config(p["system"])
        ref, ref_attrs = h5(res / f"points/{name}/reference.h5")
        names = json.loads(ref_attrs["names"])
        assert "ferromagnet" in names and any(c.startswith("spiral_") for c in names)
        assert np.all(ref["energy"] <= ref["initial_energy"] + 1e-12)
        fm = names.index("ferromagnet")
        assert ref["energy"][fm] == pytest.approx(-2.0 - p["system"]["B"][2], abs=1e-9)  # closed form -2J - B_z
        run_data, run_attrs = h5(res / f"points/{name}/optimize/ga-E.h5")
        assert json.loads(run_attrs["system"]) == p["system"]  # the point's Hamiltonian
        assert float(run_data["polished_energy"]) == pytest.approx(
            float(energy_per_spin(run_data["polished_spins"].astype(np.float64), model)), abs=1e-5)
        r = rows[name]
        assert r["latent_energy"] == pytest.approx(float(run_data["polished_energy"]))
        assert r["reference_energy"] == pytest.approx(float(ref["energy"].min()))
        assert r["gap"] == pytest.approx(r["latent_energy"] - r["reference_energy"])
        assert r["latent_phase"] == classify(run_data["polished_spins"], model.J, model.D)
        assert (res / f"logs/points/{name}/reference.log").exists()
        assert (res / f"benchmarks/points/{name}/reference.tsv").exists()
    # far above saturation (h = 1.7) the reference is the ferromagnet
    assert rows["B_z~0.6"]["reference_phase"] == "ferromagnet"
    assert rows["B_z~0.0"]["reference_phase"] == "spiral"
    line = metrics["boundaries"]["all"]
    assert line["reference"]["B_c2"] == 0.6 and line["fields"] == [0.0, 0.6]
    assert metrics["n_points"] == 2 and metrics["max_gap"] == pytest.approx(max(r["gap"] for r in rows.values()))
    for fig in ("sweep_phase_diagram", "sweep_energies", "sweep_states"):
        assert (res / f"figures/{fig}.png").stat().st_size > 1000, fig
    assert "B_c2" in (res / "figures/sweep_table.html").read_text()


def test_adding_a_field_reruns_only_the_new_point(run, tmp_path):
    """A new value adds a point: its shards and reference; the other points' shards and references stay.

    The pooled data set, the one VAE and so every point's latent search are redone (docs: sharing).
    """
    cfg = yaml.safe_load(TINY.read_text())
    cfg["studies"]["tiny_sweep"]["sweep"]["system.B_z"] = [0.0, 0.3, 0.6]
    path = tmp_path / "more.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake(run, "-n", config=path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "points/B_z~0.3/shards/shard0.h5" in out and "points/B_z~0.3/reference.h5" in out
    assert "spins_train" in out and "output: results/tiny_sweep/points/B_z~0.0/optimize/ga-E.h5" in out
    for old in ("B_z~0.0", "B_z~0.6"):
        assert f"output: results/tiny_sweep/points/{old}/shards" not in out
        assert f"output: results/tiny_sweep/points/{old}/reference.h5" not in out
