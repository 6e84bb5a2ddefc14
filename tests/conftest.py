"""Shared pytest fixtures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from workflow_runs import all_tiny_studies, run_snakemake


@pytest.fixture(scope="module")
def float64_default():
    """torch's default dtype float64 for the tests of one module, restored afterwards.

    A module-level ``torch.set_default_dtype(torch.float64)`` runs when pytest collects the
    module and so leaks into every other test module of the session (float64 weights of a
    model fed float32 data); modules that want float64 tensors by default say
    ``pytestmark = pytest.mark.usefixtures("float64_default")`` instead.
    """
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@dataclass(frozen=True)
class TinyRun:
    """The finished run of every kind's tiny study: its working directory, config and console output."""

    workdir: Path
    config: Path
    log: str


@pytest.fixture(scope="session")
def tiny_studies(tmp_path_factory) -> TinyRun:
    """One ``snakemake --cores 2`` of all the tiny studies (``tests/data/tiny*.yaml``), shared by the end-to-end tests.

    One run instead of one per kind: no study runs twice, Snakemake starts once, and the two
    cores stay busy across the kinds' jobs. Tests only read it (or dry-run against it); a test
    that changes files works on a copy.
    """
    workdir = tmp_path_factory.mktemp("tiny-studies")
    config = all_tiny_studies(workdir.parent / "tiny-studies.yaml")
    proc = run_snakemake(workdir, "--cores", "2", config=config)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return TinyRun(workdir, config, proc.stdout + proc.stderr)
