"""Study steps of the upscaling kind (latentopt.studies.upscaling): data, config checks, evaluation plumbing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from latentopt.config import ConfigError, load_schema, validate_config
from latentopt.io import write_h5
from latentopt.models.rugan import RUGANGenerator
from latentopt.physics.hamiltonian import ChiralMagnet, energy_per_spin
from latentopt.physics.heatbath import anneal
from latentopt.physics.thermal import thermal_schedule
from latentopt.studies import upscaling as U

SYSTEM = {"model": "chiral_magnet", "L": 8, "J": 1.0, "D": 0.3, "dmi": "interfacial", "K": 0.0, "B": [0, 0, 0]}
SCHEMA = load_schema(Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml")
SIMULATE = {"n_samples": 9, "T_min": 0.1, "T_max": 1.0, "n_temperatures": 3, "T_start": 2.0, "n_anneal": 5,
            "n_hold": 3, "shards": 1, "seed": 5}


def test_temperature_grid_and_schedule():
    np.testing.assert_allclose(U.temperature_grid({**SIMULATE, "spacing": "geometric"}), [0.1, np.sqrt(0.1), 1.0])
    np.testing.assert_allclose(U.temperature_grid(SIMULATE), [0.1, 0.55, 1.0])
    with pytest.raises(ValueError, match="simulate.spacing"):
        U.temperature_grid({**SIMULATE, "spacing": "log"})
    assert U.temperature_grid({**SIMULATE, "n_temperatures": 1}).tolist() == [0.1]
    sched = thermal_schedule(2.0, 0.5, 4, 2)
    np.testing.assert_allclose(sched, [2.0, 2.0 * 0.25 ** (1 / 3), 2.0 * 0.25 ** (2 / 3), 0.5, 0.5, 0.5])
    np.testing.assert_array_equal(U.sample_temperature_index(np.arange(7), 3), [0, 1, 2, 0, 1, 2, 0])


def test_simulate_is_shard_independent_and_labels_are_exact(tmp_path):
    one = U.simulate_shard(SYSTEM, SIMULATE, 0)
    paths = []
    for k in range(3):
        part = U.simulate_shard(SYSTEM, {**SIMULATE, "shards": 3}, k)
        paths.append(tmp_path / f"s{k}.h5")
        write_h5(paths[-1], part)
    U.merge_shards(paths[::-1], tmp_path / "dataset.h5", {"system": SYSTEM})
    merged, attrs = U.load_dataset(tmp_path / "dataset.h5")
    np.testing.assert_array_equal(merged["spins"], one["spins"])
    np.testing.assert_array_equal(merged["T"], one["T"])
    assert attrs["system"]["L"] == 8
    np.testing.assert_allclose(merged["energy"], energy_per_spin(one["spins"].astype(np.float64), ChiralMagnet(L=8)),
                               atol=1e-6)
    # each sample is an ordinary anneal of its own stream to its own temperature
    temps = U.temperature_grid(SIMULATE)
    i = 4
    alone = anneal(ChiralMagnet(L=8), [i], SIMULATE["seed"], thermal_schedule(2.0, temps[i % 3], 5, 3))
    np.testing.assert_array_equal(one["spins"][i], alone[0].astype(np.float32))
    # colder states have lower energy on average
    assert merged["energy"][np.isclose(merged["T"], 0.1)].mean() < merged["energy"][np.isclose(merged["T"], 1.0)].mean()


def _config(**over):
    study = {"kind": "upscaling", "system": dict(SYSTEM, L=16), "simulate": dict(SIMULATE), "gan": {"batch_size": 4},
             "evaluate": {}}
    for block, values in over.items():
        study[block] = {**study.get(block, {}), **values}
    return {"studies": {"up": study}}


@pytest.mark.parametrize("over,key", [
    ({"gan": {"upsample": 3}}, "studies.up.system.L"),
    ({"system": {"L": 12}, "gan": {"upsample": 4}}, "studies.up.system.L"),  # 3 noise cells: odd
    ({"gan": {"n_critic": 0}}, "studies.up.gan.n_critic"),
    ({"evaluate": {"scales": [1, 2.5]}}, "studies.up.evaluate.scales"),
    ({"evaluate": {"scales": [1, 1]}}, "studies.up.evaluate.scales"),
    ({"evaluate": {"scales": "4"}}, "studies.up.evaluate.scales"),
    ({"evaluate": {"heatbath_scale": 8}}, "studies.up.evaluate.heatbath_scale"),
    ({"gan": {"learning_rate": 1.0}}, "studies.up.gan"),
    ({"gan": {"batch_size": 10}}, "studies.up.gan.batch_size"),  # more than the 9 states
    ({"simulate": {"T_min": 2.0, "T_max": 1.0}}, "studies.up.simulate.T_min"),
    ({"simulate": {"T_start": 0.5}}, "studies.up.simulate.T_start"),
    ({"simulate": {"shards": 10}}, "studies.up.simulate.shards"),
    ({"vae": {"epochs": 3}}, "studies.up.vae"),  # a spin study's key
])
def test_bad_config_is_refused_naming_the_key(over, key):
    with pytest.raises(ConfigError, match=rf"^{key.replace('.', '[.]')}"):
        validate_config(_config(**over), SCHEMA)


def test_config_defaults_are_the_paper_settings():
    """The schema is the one source of the defaults (the library takes validated blocks): the paper's optimizer,
    three scales, the heat bath at the largest."""
    cfg = validate_config(_config(gan={"batch_size": 32}, simulate={"n_samples": 100}), SCHEMA)["studies"]["up"]
    assert cfg["gan"]["n_critic"] == 10 and cfg["gan"]["lr"] == 1e-4 and cfg["gan"]["betas"] == [0.0, 0.9]
    assert cfg["gan"]["lambda_gp"] == 10.0 and cfg["gan"]["lambda_ct"] == 2.0
    assert cfg["evaluate"]["scales"] == [1, 2, 4] and cfg["evaluate"]["heatbath_scale"] == 4


def test_generation_metrics_and_heatbath_plumbing():
    """Wiring of generate -> metrics -> heat-bath comparison -> summary on an untrained generator."""
    torch.manual_seed(0)
    data = U.simulate_shard(SYSTEM, SIMULATE, 0)
    G = RUGANGenerator(8, noise_channels=2, channels=4, out_channels=4, n_blocks=1,
                       label_mean=float(data["energy"].mean()), label_std=float(data["energy"].std())).eval()
    req = U.requested_labels(data, 12, seed=1)
    np.testing.assert_array_equal(req["requested"], data["energy"][req["index"]])
    np.testing.assert_array_equal(req["T"], data["T"][req["index"]])
    per_scale, gens = {}, {}
    for s in (1, 2):
        g = U.generate_scale(G, req, SYSTEM, s, seed=3, batch_size=5)
        assert g["spins"].shape == (12, 3, 8 * s, 8 * s)
        np.testing.assert_allclose(g["energy"], energy_per_spin(g["spins"].astype(np.float64),
                                                                ChiralMagnet(L=8 * s)), atol=1e-9)
        per_scale[s] = U.scale_metrics(g, SYSTEM)
        gens[s] = g
        assert per_scale[s]["L"] == 8 * s and per_scale[s]["states_per_s"] > 0
        # a periodic generator: no seam beyond noise
        assert abs(per_scale[s]["seam_excess"]) < 5 * per_scale[s]["seam_excess_se"] + 1e-9
    hb = U.heatbath_reference(SYSTEM, SIMULATE, 2, per_T=2, seed=9)
    assert hb["spins"].shape == (6, 3, 16, 16) and hb["sweeps"] == 8
    comp = U.compare_with_heatbath(gens[2], hb, train=data)
    assert len(comp["per_T"]) == 3 and 0.0 <= comp["energy_ks"] <= 1.0
    assert {"peak_q_generated", "peak_q_heatbath", "peak_q_train"} <= comp.keys()
    history = {"wasserstein": [0.1], "energy_mae": [0.2], "energy_r": [0.5], "generator_steps": 1}
    summary = U.summarize(per_scale, hb, comp, data, history)
    assert summary["heatbath"]["scale"] == 2 and summary["scales"]["1"]["paper_ks"] == 0.02
    assert summary["speedup"] == pytest.approx(per_scale[2]["states_per_s"] / hb["states_per_s"])
    with pytest.raises(ValueError, match="one size"):
        U.compare_with_heatbath(gens[1], hb)
