"""The study-kind registry (latentopt.studies) and the layout it promises: one home per kind."""

from __future__ import annotations

import ast
import re
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
    """A kind is one record, one study module, one hooks module, one figure module, one rule file, one schema,
    its scripts and captions."""
    assert (SRC / f"studies/{kind}.py").is_file()
    assert (SRC / f"studies/hooks/{kind}.py").is_file()
    assert (SRC / f"plots/{kind}.py").is_file()
    assert (REPO / f"workflow/rules/{kind}.smk").is_file()
    assert (REPO / f"workflow/schemas/kinds/{kind}.schema.yaml").is_file()
    assert any((REPO / f"workflow/scripts/{kind}").glob("*.py"))
    assert any((REPO / f"workflow/report/{kind}").glob("*.rst"))
    schema = load_schema(SCHEMA)
    assert f"{kind}_study" in schema["$defs"]
    assert schema["$defs"][f"{kind}_study"]["properties"]["kind"] == {"const": kind}


def test_the_snakefile_includes_every_registered_kind():
    """The Snakefile includes workflow/rules/<kind>.smk for each record: a new kind needs no line there."""
    text = (REPO / "Snakefile").read_text()
    assert "for kind in studies.KINDS:" in text and 'include: f"workflow/rules/{kind}.smk"' in text


def _functions(path: Path) -> set[str]:
    return {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)} | {
        t.id for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Assign) for t in n.targets
        if isinstance(t, ast.Name)}


@pytest.mark.parametrize("kind", sorted(studies.KINDS))
def test_the_record_names_hooks_of_its_own_modules(kind):
    """Config check and estimators in the kind's hooks module, the metrics table in its study module."""
    k = studies.KINDS[kind]
    homes = {"config_check": f"latentopt.studies.hooks.{kind}", "estimates": f"latentopt.studies.hooks.{kind}",
             "metrics_table": f"latentopt.studies.{kind}"}
    for hook, module in homes.items():
        name, _, attr = getattr(k, hook).partition(":")
        assert name == module, (hook, name)
        assert attr in _functions(SRC / (module.removeprefix("latentopt.").replace(".", "/") + ".py")), (hook, attr)
    assert callable(studies.resolve(k.config_check))
    assert all(callable(f) for f in studies.resolve(k.estimates).values())


@pytest.mark.parametrize("kind", sorted(studies.KINDS))
def test_every_report_figure_has_its_caption(kind):
    k = studies.KINDS[kind]
    captions = REPO / f"workflow/report/{kind}"
    assert (captions / "metrics.rst").is_file()
    for item in k.figures + k.run_figures:
        assert (captions / f"{item.caption_stem}.rst").is_file(), item
    for item in k.run_figures:
        assert f"{{{k.run_wildcard}}}" in item.stem, item  # one file per run


def _rules(kind: str) -> dict[str, str]:
    """The rules of workflow/rules/<kind>.smk: name -> the rule's text."""
    text = (REPO / f"workflow/rules/{kind}.smk").read_text()
    parts = re.split(r"^rule (\w+):\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def _local_rules(kind: str) -> set[str]:
    text = (REPO / f"workflow/rules/{kind}.smk").read_text()
    block = re.search(r"^localrules:\n((?:    \w+,\n)+)", text, flags=re.M)
    return set(re.findall(r"\w+", block.group(1))) if block else set()


@pytest.mark.parametrize("kind", sorted(studies.KINDS))
def test_rules_follow_the_naming_scheme(kind):
    """Rule <kind>_<step>: script scripts/<kind>/<step>.py, resources estimate("<step>"), every file under the
    kind's root (no two kinds can make the same file), a benchmark unless local, the report from the record."""
    root = studies.KINDS[kind].root
    rules = _rules(kind)
    assert rules and f"{kind}_evaluate" in rules
    local = _local_rules(kind)
    assert local <= set(rules)
    for name, body in rules.items():
        assert name.startswith(f"{kind}_"), name
        step = name.removeprefix(f"{kind}_")
        assert f'"../scripts/{kind}/{step}.py"' in body, name
        assert (REPO / f"workflow/scripts/{kind}/{step}.py").is_file(), name
        estimates = re.findall(r'estimate\("(\w+)"\)', body)
        assert estimates in ([], [step]), (name, estimates)
        assert (name in local) or estimates, f"{name}: a cluster rule without resources"
        assert (name in local) or "    benchmark:\n" in body, f"{name}: a cluster rule without benchmark"
        files = re.findall(r'"(results/[^"]*)"', body)
        assert files and all(f.startswith(f"{root}/") for f in files), (name, files)
    assert f'**study_figures("{kind}")' in rules[f"{kind}_evaluate"]
    if studies.KINDS[kind].run_figures:
        assert f'**run_figures("{kind}")' in rules[f"{kind}_plot"]
    scripts = {p.stem for p in (REPO / f"workflow/scripts/{kind}").glob("*.py")}
    assert scripts == {n.removeprefix(f"{kind}_") for n in rules}, "a script without its rule"


def _string_constants(path: Path) -> set[str]:
    """The string literals of a module, less the keys of subscripts (``study["trajectories"]`` is a config block
    that two kinds share, not a kind)."""
    tree = ast.parse(path.read_text())
    keys = {id(n.slice) for n in ast.walk(tree) if isinstance(n, ast.Subscript)}
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in keys}


def test_shared_code_names_no_kind():
    """Only a kind's own files name it: the shared modules, common.smk and the Snakefile ask the records."""
    for module in ("config.py", "cluster.py", "tables.py", "studies/hooks/__init__.py"):
        assert not _string_constants(SRC / module) & set(studies.KINDS), module
    for smk in ("Snakefile", "workflow/rules/common.smk"):
        text = (REPO / smk).read_text()
        for kind in studies.KINDS:
            assert not re.search(rf"[\"'/]{kind}[\"'/_]", text), (smk, kind)


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
    """Kinds share library layers only: no study, hooks or figure module imports another kind's."""
    for module in (SRC / f"studies/{kind}.py", SRC / f"studies/hooks/{kind}.py", SRC / f"plots/{kind}.py"):
        imported = _imports(module)
        for other in set(studies.KINDS) - {kind}:
            assert not {f"latentopt.studies.{other}", f"latentopt.plots.{other}",
                        f"latentopt.studies.hooks.{other}"} & imported, (module, other)


def test_registry_is_light():
    """The Snakefile imports the registry, the config validation and every kind's hooks on every invocation:
    they must not pull in torch, numba or matplotlib."""
    hooks = ", ".join(f"latentopt.studies.hooks.{k}" for k in studies.KINDS)
    code = (f"import sys, latentopt.studies, latentopt.config, latentopt.tables, {hooks}; "
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
    cfg_targets = studies.final_targets(cfg["studies"])
    assert targets[0] == "results/tiny/metrics.json"
    assert "results/tiny/figures/optimize/ga-W.png" in targets
    assert "results/tiny/figures/w_vs_mz.png" in targets
    assert "results/trajectories/ferro/figures/bo/ucb_surfaces.png" in targets
    assert "results/trajectories/ferro/figures/bo/ei_best.png" in targets
    assert not any(t.startswith("results/ferro/") or "/figures/optimize/" in t for t in targets[len(cfg_targets):])
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


def test_each_kind_has_its_own_folder():
    """Distinct roots; only the spin studies keep results/<study>/, so a study may not be named like a kind."""
    roots = {k.name: k.root for k in studies.KINDS.values()}
    assert len(set(roots.values())) == len(roots)
    assert roots["spins"] == "results/{study}"
    assert all(root == f"results/{name}/{{study}}" for name, root in roots.items() if name != "spins")
    cfg = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    cfg["studies"] = {"upscaling": cfg["studies"]["tiny"]}
    with pytest.raises(ConfigError, match=r"^studies\.upscaling: a study may not be named like a study kind"):
        validate_config(cfg, SCHEMA, root=REPO)


def test_run_settings_and_paths_follow_the_record():
    cfg = validate_config(yaml.safe_load((REPO / "tests/data/tiny_upscaling.yaml").read_text()), SCHEMA, root=REPO)
    up = cfg["studies"]["up"]
    kind = studies.kind_of(up)
    assert kind.path("up", "gan", "generator.pt") == "results/upscaling/up/gan/generator.pt"
    assert kind.runs(up) == [str(s) for s in up["evaluate"]["scales"]]
    with pytest.raises(KeyError, match="no settings of their own"):
        kind.run_settings(up, kind.runs(up)[0])
    tiny = validate_config(yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text()), SCHEMA, root=REPO)["studies"]
    spins = studies.kind_of(tiny["tiny"])
    assert spins.run_settings(tiny["tiny"], "ga-W") is tiny["tiny"]["optimize"]["ga-W"]


def test_metrics_table_page():
    """The one HTML helper: header and row labels as <th>, values escaped, apostrophes kept in headings."""
    from latentopt.tables import Heading, Paragraph, Table, html_page

    page = html_page([Heading("runs of X'_VAE <1>"), Table(["run", "E < 0"], [["a&b", "-2.04"]]),
                      Table(["scale", "KS"], [["1x", "0.02"]], row_labels=False), Paragraph("p < 0.05")])
    assert page.startswith("<html><head><meta charset='utf-8'>") and page.endswith("</body></html>")
    assert "<h3>runs of X'_VAE &lt;1&gt;</h3>" in page
    assert "<table><tr><th>run</th><th>E &lt; 0</th></tr><tr><th>a&amp;b</th><td>-2.04</td></tr></table>" in page
    assert "<tr><td>1x</td><td>0.02</td></tr>" in page and "<p>p &lt; 0.05</p>" in page
