"""The study-kind registry (latentopt.studies) and the layout it promises: one home per kind."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from latentopt import studies
from latentopt.config import ConfigError, load_schema, validate_config

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src/latentopt"
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


@pytest.mark.parametrize("kind", sorted(studies.KINDS))
def test_every_kind_has_its_homes(kind):
    """A kind is one study module, one figure module, one rule file, one schema, its scripts and captions."""
    assert (SRC / f"studies/{kind}.py").is_file()
    assert (SRC / f"plots/{kind}.py").is_file()
    assert (REPO / f"workflow/rules/{kind}.smk").is_file()
    assert (REPO / f"workflow/schemas/kinds/{kind}.schema.yaml").is_file()
    assert any((REPO / f"workflow/scripts/{kind}").glob("*.py"))
    assert any((REPO / f"workflow/report/{kind}").glob("*.rst"))
    assert f'include: "workflow/rules/{kind}.smk"' in (REPO / "Snakefile").read_text()
    schema = load_schema(SCHEMA)
    assert f"{kind}_study" in schema["$defs"]
    assert schema["$defs"][f"{kind}_study"]["properties"]["kind"] == {"const": kind}


def test_schema_dispatches_exactly_the_registered_kinds():
    schema = load_schema(SCHEMA)
    study = schema["$defs"]["study"]
    assert set(study["properties"]["kind"]["enum"]) == set(studies.KINDS)
    dispatched = {b["if"]["properties"]["kind"]["const"]: b["then"]["$ref"] for b in study["allOf"]}
    assert dispatched == {k: f"#/$defs/{k}_study" for k in studies.KINDS}
    kind_files = {p.name.removesuffix(".schema.yaml") for p in (REPO / "workflow/schemas/kinds").glob("*.yaml")}
    assert kind_files == set(studies.KINDS)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


@pytest.mark.parametrize("kind", sorted(studies.KINDS))
def test_no_study_module_imports_another_kind(kind):
    """Kinds share library layers only: neither a study module nor a figure module imports another kind's."""
    for module in (SRC / f"studies/{kind}.py", SRC / f"plots/{kind}.py"):
        imported = _imports(module)
        for other in set(studies.KINDS) - {kind}:
            assert not {f"latentopt.studies.{other}", f"latentopt.plots.{other}"} & imported, (module, other)


def test_registry_is_light():
    """The Snakefile imports the registry on every invocation: it must not pull in torch, numba or matplotlib."""
    code = ("import sys, latentopt.studies, latentopt.config; "
            "print(sorted(m for m in ('torch', 'numba', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("study, kind", [
    ({"system": {"L": 16}}, "spins"),
    ({"system": {"model": "chiral_magnet", "L": 16}}, "spins"),
    ({"system": {"model": "ferrosim", "N": 8}}, "trajectories"),
    ({"kind": "trajectories", "system": {"model": "chiral_magnet"}}, "trajectories"),  # explicit wins
    ({}, "spins"),
])
def test_infer_kind(study, kind):
    assert studies.infer_kind(study) == kind


def test_register_kind_refuses_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        studies.register_kind(studies.Kind(name="spins", paper="", pipeline=""))
    with pytest.raises(ValueError, match="ferrosim"):
        studies.register_kind(studies.Kind(name="other", paper="", pipeline="", models=("ferrosim",)))
    assert "other" not in studies.KINDS


def test_targets_follow_the_kind():
    cfg = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    ferro = yaml.safe_load((REPO / "tests/data/tiny_ferro.yaml").read_text())
    both = {**cfg["studies"], **ferro["studies"]}
    targets = studies.final_targets(both)
    assert targets[0] == "results/tiny/metrics.json"
    assert "results/tiny/figures/optimize/ga-W.png" in targets
    assert "results/tiny/figures/w_vs_mz.png" in targets
    assert "results/ferro/figures/bo/ucb_surfaces.png" in targets and "results/ferro/figures/bo/ei_best.png" in targets
    assert not any(t.startswith("results/ferro/figures/optimize/") for t in targets)
    assert studies.studies_of_kind(both, "trajectories") == ["ferro"]
    assert studies.names_regex([]) == "(?!)"


def test_kind_is_filled_in_and_explicit_kind_validates_the_same():
    tiny = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    ferro = yaml.safe_load((REPO / "tests/data/tiny_ferro.yaml").read_text())
    for cfg, kind in ((tiny, "spins"), (ferro, "trajectories")):
        implicit = validate_config(cfg, SCHEMA, root=REPO)
        name = next(iter(cfg["studies"]))
        explicit_cfg = yaml.safe_load(yaml.safe_dump(cfg))
        explicit_cfg["studies"][name]["kind"] = kind
        assert implicit["studies"][name]["kind"] == kind
        assert validate_config(explicit_cfg, SCHEMA, root=REPO) == implicit


@pytest.mark.parametrize("mutate, message", [
    # a key of another kind is named, with the kind it belongs to
    (lambda s: s.update(trajectories={"n": 10}), r"studies\.tiny\.trajectories: not a key of a spins study "
                                                 r"\(a key of schedules, trajectories studies\)"),
    (lambda s: s.update(bogus=1), r"studies\.tiny\.bogus: not a key of a spins study \(an unknown key\)"),
    (lambda s: s.update(kind="magnets"), r"studies\.tiny\.kind: 'magnets' is not one of"),
    # the kind and the model disagree: the model key is named
    (lambda s: s.update(kind="trajectories"), r"studies\.tiny\.(system|simulate)"),
])
def test_kind_errors_name_the_key(mutate, message):
    cfg = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    mutate(cfg["studies"]["tiny"])
    with pytest.raises(ConfigError, match=message):
        validate_config(cfg, SCHEMA, root=REPO)
