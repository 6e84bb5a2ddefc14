"""Helpers of the end-to-end tests: run Snakemake on a test config in a scratch directory, read an HDF5 file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py

REPO = Path(__file__).resolve().parents[1]


def snakemake_command(workdir: Path, *args: str, config: Path) -> list[str]:
    """``python -m snakemake --snakefile <repo>/Snakefile --directory workdir --configfile config *args``."""
    return [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(config), *args]


def run_snakemake(workdir: Path, *args: str, config: Path, timeout: int = 1800, env: dict | None = None,
                  cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run :func:`snakemake_command` to the end, output captured (``cwd``: where profiles are looked up)."""
    return subprocess.run(snakemake_command(workdir, *args, config=config), capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)


def h5(path: Path) -> tuple[dict, dict]:
    """The top-level datasets of an HDF5 file (as arrays) and its attributes."""
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in f.keys() if isinstance(f[k], h5py.Dataset)}, dict(f.attrs)
