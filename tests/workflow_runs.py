"""Helpers of the end-to-end tests: run Snakemake on a test config in a scratch directory, read an HDF5 file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import yaml

REPO = Path(__file__).resolve().parents[1]

#: One tiny study of every kind (each file also runs alone: ``snakemake --configfile tests/data/tiny.yaml``).
TINY_CONFIGS = ("tiny.yaml", "tiny_ferro.yaml", "tiny_schedules.yaml", "tiny_transitions.yaml", "tiny_upscaling.yaml",
                "tiny_sweep.yaml")


def all_tiny_studies(path: Path) -> Path:
    """Write one config holding the studies of every ``tests/data`` file of :data:`TINY_CONFIGS`; return ``path``.

    The files share their top-level settings (device, threads, progress); a study name appearing twice
    is an error.
    """
    merged: dict = {"studies": {}}
    for name in TINY_CONFIGS:
        cfg = yaml.safe_load((REPO / "tests/data" / name).read_text())
        studies = cfg.pop("studies")
        clash = set(studies) & set(merged["studies"])
        assert not clash, f"{name}: study names {clash} already used"
        merged["studies"].update(studies)
        for key, value in cfg.items():
            assert merged.setdefault(key, value) == value, f"{name}: {key} differs between the tiny configs"
    path.write_text(yaml.safe_dump(merged, sort_keys=False))  # run order matters (e.g. the default double_images)
    return path


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
