"""Every shell command shown in README.md, config/README.md and docs/*.md runs, so the docs cannot drift from the CLI.

Commands are taken from ```bash blocks and from inline code spans that start with
``snakemake``, ``python`` or ``pip``. Workflow runs are executed as dry runs (``-n``) in a
scratch directory that sees the repository's config, resources and profile; placeholders
are filled in (``N`` cores -> 2, ``FILE`` / ``my.yaml`` -> a copy of the default config).
The install line and the test command are what ``.ci/run`` executes verbatim.
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

REPO = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "config/README.md", *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md")))
PROGRAMS = ("snakemake", "python", "pip")


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
    if argv[0] == "pip" or argv[:3] == ["python", "-m", "pytest"]:
        return None
    if argv[0] == "snakemake":
        if "--unlock" not in argv and "-n" not in argv:
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

