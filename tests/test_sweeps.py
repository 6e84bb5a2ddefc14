"""Sweep expansion, point names and validation (latentopt.sweeps and the spin study's check); no workflow run."""

import copy
from pathlib import Path

import pytest
import yaml

from latentopt import studies
from latentopt.config import ConfigError, validate_config
from latentopt.sweeps import SweepError, check_sweep, expand_sweep, point_name, point_system

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
SYSTEM_KEYS = {"model", "L", "J", "D", "dmi", "K", "B"}


def tiny_sweep() -> dict:
    return yaml.safe_load((REPO / "tests/data/tiny_sweep.yaml").read_text())


def test_expand_is_the_product_with_readable_names():
    system = {"L": 16, "J": 1.0, "D": 0.3, "B": [0.01, 0.0, 0.5]}
    pts = expand_sweep(system, {"system.D": [0.3, 0.5], "system.B_z": [0, 0.02, 0.1]})
    assert list(pts) == ["B_z~0.0__D~0.3", "B_z~0.0__D~0.5", "B_z~0.02__D~0.3", "B_z~0.02__D~0.5",
                         "B_z~0.1__D~0.3", "B_z~0.1__D~0.5"]
    p = pts["B_z~0.02__D~0.5"]
    assert p["values"] == {"system.B_z": 0.02, "system.D": 0.5}
    # B_z replaces the z component only; the other keys are kept; the input is not changed
    assert p["system"] == {"L": 16, "J": 1.0, "D": 0.5, "B": [0.01, 0.0, 0.02]}
    assert system["B"] == [0.01, 0.0, 0.5]


def test_vector_field_sweep():
    pts = expand_sweep({"L": 16}, {"system.B": [[0, 0, 0.1], [0.05, 0, 0.1]]})
    assert list(pts) == ["B~0.0,0.0,0.1", "B~0.05,0.0,0.1"]
    assert pts["B~0.05,0.0,0.1"]["system"]["B"] == [0.05, 0.0, 0.1]
    assert point_system({"L": 16}, {"system.K": 0.1}) == {"L": 16, "K": 0.1}


def test_names_are_stable_when_a_value_is_added():
    before = expand_sweep({"L": 16}, {"system.B_z": [0.0, 0.02], "system.D": [0.3]})
    after = expand_sweep({"L": 16}, {"system.B_z": [0.0, 0.01, 0.02], "system.D": [0.3]})
    assert set(before) < set(after)
    assert set(after) - set(before) == {"B_z~0.01__D~0.3"}
    for name, p in before.items():
        assert after[name] == p
    assert point_name({"system.B_z": 1e-5}) == "B_z~1e-05"


@pytest.mark.parametrize("sweep, key, message", [
    ({"system.L": [16, 32]}, "sweep.system.L", "cannot be swept"),
    ({"system.dmi": ["bulk"]}, "sweep.system.dmi", "cannot be swept"),
    ({"vae.lr": [0.1]}, "sweep.vae.lr", "only keys of the system block"),
    ({"B_z": [0.1]}, "sweep.B_z", "only keys of the system block"),
    ({"system.T": [0.1]}, "sweep.system.T", "not a sweepable key"),
    ({"system.B": [0.1, 0.2]}, r"sweep.system.B\[0\]", "system.B_z"),
    ({"system.B_z": []}, "sweep.system.B_z", "non-empty list"),
    ({"system.B_z": 0.1}, "sweep.system.B_z", "non-empty list"),
    ({"system.B_z": [0.1, "x"]}, r"sweep.system.B_z\[1\]", "a number"),
    ({"system.D": [0.3, True]}, r"sweep.system.D\[1\]", "a number"),
    ({"system.B_z": [0.1, 0.10]}, "sweep.system.B_z", "repeated"),
    ({"system.B_z": [0.1], "system.B": [[0, 0, 1]]}, "sweep.system.B_z", "not both"),
    ({}, "sweep", "at least one"),
])
def test_check_names_the_key(sweep, key, message):
    with pytest.raises(SweepError, match=rf"^studies\.s\.{key}: .*{message}"):
        check_sweep("studies.s", sweep, SYSTEM_KEYS)


def test_the_tiny_sweep_validates_and_fills_the_phases_block():
    cfg = validate_config(tiny_sweep(), SCHEMA, root=REPO)
    study = cfg["studies"]["tiny_sweep"]
    assert study["phases"] == {"n_spirals": 2, "max_strain": 0.16, "period_range": [0.6, 1.6], "tol": 1e-5,
                               "max_iter": 2000}
    targets = studies.final_targets(cfg["studies"])
    assert targets == ["results/tiny_sweep/sweep/metrics.json", "results/tiny_sweep/figures/sweep_table.html",
                       "results/tiny_sweep/figures/sweep_phase_diagram.png",
                       "results/tiny_sweep/figures/sweep_energies.png", "results/tiny_sweep/figures/sweep_states.png"]


def _with(change) -> dict:
    cfg = tiny_sweep()
    change(cfg["studies"]["tiny_sweep"])
    return cfg


@pytest.mark.parametrize("change, message", [
    (lambda s: s["sweep"].update({"system.L": [16, 32]}), r"studies\.tiny_sweep\.sweep\.system\.L: cannot be swept"),
    (lambda s: s["optimize"]["ga-E"].pop("polish"), r"studies\.tiny_sweep\.optimize\.ga-E: .*polish: true"),
    (lambda s: s["optimize"]["ga-E"].update(objective="W"), r"studies\.tiny_sweep\.optimize\.ga-E: .*energy"),
    (lambda s: s["optimize"].clear(), r"studies\.tiny_sweep\.optimize: a sweep needs at least one run"),
    (lambda s: s["phases"].update(n_spirals=0), r"studies\.tiny_sweep\.phases\.n_spirals"),
    (lambda s: s.update(sweep=[0.1]), r"studies\.tiny_sweep\.sweep"),
])
def test_invalid_sweep_studies_name_the_key(change, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(_with(change), SCHEMA, root=REPO)


def test_training_split_counts_the_pooled_states():
    """8 states per point, 2 points: a batch of 12 fits the 12 pooled training states, not 8 alone."""
    ok = _with(lambda s: s["vae"].update(batch_size=12))
    validate_config(ok, SCHEMA, root=REPO)
    bad = _with(lambda s: s["vae"].update(batch_size=13))
    with pytest.raises(ConfigError, match=r"vae\.batch_size: 13 .* sweep's points"):
        validate_config(bad, SCHEMA, root=REPO)


def test_a_study_without_sweep_keeps_its_targets():
    cfg = validate_config(yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text()), SCHEMA, root=REPO)
    targets = studies.final_targets(cfg["studies"])
    assert "results/tiny/metrics.json" in targets
    assert not any("sweep" in t for t in targets)


def test_shipped_sweep_configs_validate():
    cfg = validate_config(yaml.safe_load((REPO / "config/sweeps.yaml").read_text()), SCHEMA, root=REPO)
    (name, study), = cfg["studies"].items()
    fields = study["sweep"]["system.B_z"]
    assert len(fields) >= 8 and fields[0] == 0
    assert study["system"]["D"] / study["system"]["J"] == pytest.approx(0.3)
    assert max(fields) > 0.801 * study["system"]["D"] ** 2 / study["system"]["J"]  # past the continuum B_c2
    paper = validate_config(yaml.safe_load((REPO / "config/paper.yaml").read_text()), SCHEMA, root=REPO)
    sweeps = {n: s for n, s in paper["studies"].items() if "sweep" in s}
    assert sweeps, "config/paper.yaml has no sweep study"
    for s in sweeps.values():
        assert s["system"]["L"] == 128
        assert min(s["sweep"]["system.D"]) == pytest.approx(0.1) and max(s["sweep"]["system.D"]) == pytest.approx(0.5)
    assert copy.deepcopy(cfg) == cfg


def _row(b, latent, reference, fam, D=0.3, gap=0.0):
    return {"point": f"B_z~{b!r}", "values": {"system.B_z": b, "system.D": D}, "B_z": b, "J": 1.0, "D": D,
            "h": b / D ** 2, "latent_run": "r", "latent_energy": -2.0 - b + gap, "latent_phase": latent,
            "latent_W": 0.0, "latent_Mz": 0.5, "reference_candidate": "x", "reference_energy": -2.0 - b,
            "reference_phase": reference, "candidates": {"ferromagnet": {"energy": -2.0 - b, "phase": "ferromagnet",
                                                                         "W": 0.0}},
            "family_energy": fam, "gap": gap}


def test_sweep_boundaries_latent_vs_reference():
    from latentopt.studies.spin_sweeps import sweep_boundaries

    # spiral below 0.02, skyrmion lattice from 0.02 (reference) or 0.03 (latent), ferromagnet from 0.07
    fields = [0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08]
    ref = ["spiral"] * 2 + ["skyrmion_lattice"] * 5 + ["ferromagnet"] * 2
    lat = ["spiral"] * 3 + ["skyrmion_lattice"] * 4 + ["ferromagnet"] * 2
    fam = [{"spiral": b - 0.015, "skyrmion_lattice": 0.0, "ferromagnet": 0.065 - b}
           for b in fields]
    rows = [_row(b, l, r, f) for b, l, r, f in zip(fields, lat, ref, fam)]
    rows += [_row(0.0, "spiral", "spiral", {"spiral": -1.0}, D=0.5)]  # another line, one point
    out = sweep_boundaries(rows)
    assert set(out) == {"D=0.3", "D=0.5"}
    b = out["D=0.3"]
    assert b["reference"] == {"B_c1": 0.02, "B_c2": 0.07} and b["latent"] == {"B_c1": 0.03, "B_c2": 0.07}
    assert b["grid_step"] == pytest.approx(0.01)
    assert b["agree_within_one_step"] == {"B_c1": True, "B_c2": True}
    # the spiral's family energy crosses the lattice's (0) at 0.015, the ferromagnet's at 0.065
    assert b["reference_crossings"]["B_c1"] == pytest.approx(0.015)
    assert b["reference_crossings"]["B_c2"] == pytest.approx(0.065)
    assert b["continuum"]["B_c2"] == pytest.approx(0.801 * 0.09)
    lat2 = ["spiral"] * 4 + ["skyrmion_lattice"] * 3 + ["ferromagnet"] * 2  # two steps late
    out2 = sweep_boundaries([_row(b, l, r, f) for b, l, r, f in zip(fields, lat2, ref, fam)])
    assert out2["D=0.3"]["agree_within_one_step"]["B_c1"] is False


def test_sweep_figures_and_table():
    from latentopt.plots.sweeps import plot_energies, plot_phase_diagram, plot_sweep_states
    from latentopt.physics.states import ferromagnet
    from latentopt.studies.spin_sweeps import sweep_boundaries, sweep_table

    fields = [0.0, 0.02, 0.05]
    rows = [_row(b, p, p, {p: -2.0 - b}, gap=g) for b, p, g in zip(fields, ["spiral", "skyrmion_lattice",
                                                                            "ferromagnet"], [1e-4, -2e-5, 0.0])]
    bounds = sweep_boundaries(rows)
    fig = plot_phase_diagram(rows, bounds)
    assert len(fig.axes[0].patches) == 3
    assert len(plot_energies(rows).axes) == 2
    states = {r["point"]: ferromagnet(16) for r in rows}
    assert len(plot_sweep_states(rows, states).axes) == 4  # three panels and the colour wheel
    rows[0]["latent_W"] = -3e-17  # a float W of 0 is titled "W=0", not "W=-0"
    assert plot_sweep_states(rows, states).axes[0].get_title().endswith(" W=0")
    metrics = {"points": rows, "boundaries": bounds, "tolerance": 5e-4, "points_within_tolerance": 3,
               "n_points": 3, "max_gap": 1e-4}
    blocks = sweep_table(metrics, "s")
    assert len(blocks[1].rows) == 3 and len(blocks[3].rows) == 2
    with pytest.raises(ValueError, match="rows"):
        plot_phase_diagram([], {})
