"""The Slurm test's installer waits for another package manager instead of giving up (tests/slurm_cluster.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from slurm_cluster import apt_get  # noqa: E402

FAKE_APT = """#!/bin/sh
n=$(cat "{count}" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "{count}"
echo "$@" >> "{calls}"
if [ $n -le {busy} ]; then
  echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2; exit 100
fi
{tail}
"""


@pytest.fixture
def fake_apt(tmp_path, monkeypatch):
    def make(busy: int, tail: str = "exit 0"):
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        script = bin_dir / "apt-get"
        script.write_text(FAKE_APT.format(count=tmp_path / "count", calls=tmp_path / "calls", busy=busy, tail=tail))
        script.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        return tmp_path / "calls"
    return make


def test_waits_while_another_package_manager_holds_the_lock(fake_apt):
    calls = fake_apt(busy=2)
    apt_get("update", poll=0.01)
    lines = calls.read_text().splitlines()
    assert len(lines) == 3 and all("DPkg::Lock::Timeout=" in ln and ln.endswith("update") for ln in lines)


def test_gives_up_on_a_lock_only_after_the_timeout(fake_apt):
    fake_apt(busy=10_000)
    with pytest.raises(subprocess.CalledProcessError):
        apt_get("update", lock_timeout=0.05, poll=0.01)


def test_other_failures_are_not_retried(fake_apt):
    calls = fake_apt(busy=0, tail='echo "E: Unable to locate package slurmd" >&2; exit 100')
    with pytest.raises(subprocess.CalledProcessError):
        apt_get("install", "-y", "slurmd", poll=0.01)
    assert len(calls.read_text().splitlines()) == 1
