"""Every shell command shown in README.md, config/README.md and docs/*.md runs, so the docs cannot drift from the CLI.

Commands are taken from ```bash blocks and from inline code spans that start with
``snakemake``, ``python`` or ``pip``. Workflow runs are executed as dry runs (``-n``) in a
scratch directory that sees the repository's config, resources and profile; placeholders
are filled in (``N`` cores -> 2, ``FILE`` / ``my.yaml`` -> a copy of the default config).
The install line and the test command are what ``.ci/run`` executes verbatim.

config/README.md's key tables are generated from the schema (:mod:`latentopt.schema_docs`);
the tests check that the committed tables are the generated ones.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from latentopt.config import load_schema
from latentopt.schema_docs import MARKER, fill, literal, table, type_of

REPO = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "config/README.md", *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md")))
PROGRAMS = ("snakemake", "python", "pip")
#: the one lint ``snakemake --lint`` may report (README, "Where to go next": no conda channel here)
CONDA_LINT = "Specify a conda environment or container for each rule."


def documented_commands() -> list[tuple[str, str]]:
    """``(doc, command)`` for every command shown in the docs, in order, without duplicates."""
    found: dict[str, str] = {}
    for doc in DOCS:
        text = (REPO / doc).read_text()
        for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
            for line in block.splitlines():
                for cmd in line.split("&&"):
                    cmd = cmd.split(" #")[0].strip()
                    if cmd:
                        found.setdefault(cmd, doc)
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        for span in re.findall(r"`([^`\n]+)`", prose):
            if span.split()[0] in PROGRAMS and len(span.split()) > 1:
                found.setdefault(span.strip(), doc)
    return [(doc, cmd) for cmd, doc in found.items()]


COMMANDS = documented_commands()


def test_the_docs_show_commands():
    programs = {shlex.split(cmd)[0] for _, cmd in COMMANDS}
    assert {"snakemake", "python", "pip"} <= programs, COMMANDS
    assert any("--unlock" in cmd for _, cmd in COMMANDS)


def test_install_and_test_lines_are_what_ci_runs():
    """.ci/run installs exactly as README says and runs README's test command: both run on every CI run."""
    ci = (REPO / ".ci/run").read_text()
    quick_start = re.search(r"## Quick start\n\n```bash\n(.*?)```", (REPO / "README.md").read_text(), re.S).group(1)
    install, test = quick_start.strip().splitlines()
    assert install.split("&&")[0].strip() in ci.splitlines()
    assert test.strip() in ci.splitlines()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A working directory with the repository's inputs but its own .snakemake/ and results/."""
    work = tmp_path_factory.mktemp("docs")
    for name in ("config", "resources", "slurm", "workflow", "Snakefile"):
        (work / name).symlink_to(REPO / name)
    shutil.copy(REPO / "config/config.yaml", work / "my.yaml")
    return work


def as_dry_run(cmd: str) -> list[str] | None:
    """The command made runnable here, or None for one that CI runs itself (install, test suite)."""
    argv = shlex.split(cmd)
    argv = ["2" if a == "N" else a for a in argv]
    argv = ["my.yaml" if a in ("FILE", "my.yaml") else a for a in argv]
    argv = [a for a in argv if a != "--write"]  # a docs rewrite is run as its check: tests change no tracked file
    if argv[0] == "pip" or argv[:3] == ["python", "-m", "pytest"]:
        return None
    if argv[0] == "snakemake":
        if "--unlock" not in argv and "-n" not in argv and "--lint" not in argv:
            argv.append("-n")
        if "--cores" not in argv and "-n" in argv:
            argv += ["--cores", "1"]
        return [sys.executable, "-m", *argv]
    if argv[0] == "python" and argv[1].startswith("benchmarks/"):
        return [sys.executable, *argv[1:], "--quick"]
    return [sys.executable, *argv[1:]]


@pytest.mark.parametrize("doc, cmd", COMMANDS, ids=[c for _, c in COMMANDS])
def test_documented_command_runs(doc, cmd, scratch):
    argv = as_dry_run(cmd)
    if argv is None:
        assert cmd.startswith(("pip install", "python -m pytest")), cmd  # covered by the CI test above
        return
    workflow_run = argv[1:3] == ["-m", "snakemake"]
    proc = subprocess.run(argv, cwd=scratch if workflow_run else REPO, capture_output=True, text=True, timeout=600)
    if "--lint" in argv:  # exit 1 on any lint: only the conda/container one may remain (no conda channel here)
        lints = set(re.findall(r"^\s+\* (.+?):?$", proc.stdout + proc.stderr, flags=re.M))
        assert lints == {CONDA_LINT}, f"{doc}: `{cmd}` reports more than the conda lint: {lints}"
        return
    assert proc.returncode == 0, f"{doc}: `{cmd}` failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"


def _schema_keys(node, path=""):
    """Every property name of a JSON schema, with where it sits (``(key, path)`` pairs)."""
    if not isinstance(node, dict):
        return
    for key, sub in (node.get("properties") or {}).items():
        yield key, f"{path}.{key}"
        yield from _schema_keys(sub, f"{path}.{key}")
    for name in ("items", "additionalProperties"):
        yield from _schema_keys(node.get(name), f"{path}[]")
    for name in ("oneOf", "anyOf", "allOf"):
        for sub in node.get(name) or []:
            yield from _schema_keys(sub, path)
    for name, sub in (node.get("$defs") or {}).items():
        yield from _schema_keys(sub, f"#{name}")


def test_every_config_key_is_documented():
    """Each key of the config schemas appears in config/README.md (in a code span), so the docs cannot drift."""
    doc = re.sub(r"```.*?```", "", (REPO / "config/README.md").read_text(), flags=re.S)  # code spans, not blocks
    words = {w for span in re.findall(r"`([^`]+)`", doc) for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span)}
    schemas = [REPO / "workflow/schemas/config.schema.yaml", *sorted((REPO / "workflow/schemas/kinds").glob("*.yaml"))]
    missing = [f"{schema.name}{where}" for schema in schemas
               for key, where in _schema_keys(yaml.safe_load(schema.read_text())) if key not in words]
    assert not missing, f"config keys not documented in config/README.md: {missing}"


def test_the_docs_pages_are_read():
    """The commands of the docs/ pages (troubleshooting, cluster, development) are among those run."""
    pages = {doc for doc, _ in COMMANDS}
    assert {"docs/troubleshooting.md", "docs/cluster.md", "docs/development.md"} <= pages, pages


def test_links_resolve():
    """Every relative link of the docs names a file or folder of the repository."""
    broken = [f"{doc}: {target}" for doc in DOCS
              for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", (REPO / doc).read_text())
              if "://" not in target and not ((REPO / doc).parent / target).resolve().exists()]
    assert not broken, broken


def test_config_key_tables_are_generated_from_the_schema():
    """config/README.md's key tables are exactly what the schema's types, defaults and descriptions give."""
    text = (REPO / "config/README.md").read_text()
    assert len(MARKER.findall(text)) >= 30
    generated = fill(text, load_schema(REPO / "workflow/schemas/config.schema.yaml"))
    assert generated == text, "config/README.md is stale: run python -m latentopt.schema_docs config/README.md --write"


TOY = {
    "properties": {"study": {"$ref": "#/$defs/study"}},
    "$defs": {
        "seed": {"type": "integer", "minimum": 0},
        "study": {
            "type": "object",
            "required": ["L"],
            "properties": {
                "L": {"type": "integer", "minimum": 2, "maximum": 512, "description": "lattice | side"},
                "rate": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 1.0e-8},
                "seed": {"$ref": "#/$defs/seed", "default": 3, "description": "seed"},
                "mode": {"enum": ["a", "b"], "default": "a"},
                "pool": {"type": ["integer", "null"], "minimum": 2, "default": None},
                "B": {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3,
                      "default": [0.0, 0.0, 1.0]},
                "grid": {"type": "object", "description": "the grid", "default": {},
                         "properties": {"n": {"type": "integer", "minimum": 1, "default": 4}}},
                "other": {"$ref": "#/$defs/seed", "description": "a referenced node stays one row"},
                "algorithm": {"enum": ["ga", "sgd"]},
                "lr": {"type": "number", "description": "step"},
            },
            "allOf": [{"if": {"properties": {"algorithm": {"const": "ga"}}},
                       "then": {"properties": {"algorithm": True, "lr": {"default": 0.5},
                                               "population": {"type": "integer", "default": 10}}}},
                      {"if": {"properties": {"algorithm": {"const": "sgd"}}},
                       "then": {"properties": {"algorithm": True, "lr": {"default": 0.01}}}}],
        },
    },
}


def test_key_table_rows():
    """Types, defaults and descriptions of a toy schema, rendered as the config tables render them."""
    rows = table(TOY, "study").splitlines()[2:]
    assert rows == [
        "| `L` | int 2 to 512 | required | lattice \\| side |",
        "| `rate` | number in (0, 1] | `1e-8` |  |",
        "| `seed` | int >= 0 | `3` | seed |",
        "| `mode` | `a` \\| `b` | `a` |  |",
        "| `pool` | int >= 2 or null | `null` |  |",
        "| `B` | list of 3 numbers | `[0.0, 0.0, 1.0]` |  |",
        "| `grid` | mapping | `{}` | the grid |",
        "| `grid.n` | int >= 1 | `4` |  |",
        "| `other` | int >= 0 |  | a referenced node stays one row |",
        "| `algorithm` | `ga` \\| `sgd` |  |  |",
        "| `lr` | number |  | step |",  # the branches disagree (0.5, 0.01): no single default
    ]
    assert table(TOY, "study/ga").splitlines()[2:] == ["| `population` | int | `10` |  |"]
    assert table(TOY, "study grid").splitlines()[2:] == ["| `grid` | mapping | `{}` | the grid |",
                                                        "| `grid.n` | int >= 1 | `4` |  |"]
    assert literal({"kind": "skyrmion", "r": [1, None, True]}) == "{kind: skyrmion, r: [1, null, true]}"
    assert type_of(TOY, {"oneOf": [{"type": "boolean"}, {"type": "string"}]}) == "bool or string"


def test_stale_tables_are_regenerated_and_unknown_keys_fail():
    stale = "prose\n<!-- keys: study/ga -->\n| key | hand-written |\n<!-- end keys -->\nmore prose\n"
    assert fill(stale, TOY) == ("prose\n<!-- keys: study/ga -->\n| key | type | default | meaning |\n"
                                "| --- | --- | --- | --- |\n| `population` | int | `10` |  |\n"
                                "<!-- end keys -->\nmore prose\n")
    for spec in ("nosuch", "study nosuch", "study/nosuch"):
        with pytest.raises(KeyError):
            table(TOY, spec)
