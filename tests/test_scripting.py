"""Thread settings of the workflow jobs (latentopt.scripting.setup)."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time

import numba
import pytest
import torch

from latentopt import scripting


@pytest.fixture
def restore_threads():
    saved = torch.get_num_threads(), numba.get_num_threads(), logging.getLogger().handlers[:]
    yield
    torch.set_num_threads(saved[0])
    numba.set_num_threads(saved[1])
    logging.getLogger().handlers[:] = saved[2]


def test_setup_makes_idle_openmp_workers_passive_unless_set(monkeypatch, restore_threads):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    scripting.setup(None, threads=1)
    assert os.environ["OMP_WAIT_POLICY"] == scripting.WAIT_POLICY == "passive"
    assert os.environ["OMP_NUM_THREADS"] == "1" and torch.get_num_threads() == 1
    monkeypatch.setenv("OMP_WAIT_POLICY", "active")  # a user's choice is kept
    scripting.setup(None, threads=1)
    assert os.environ["OMP_WAIT_POLICY"] == "active"


def test_importing_scripting_first_sets_the_policy_before_torch_loads():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = ("import os, sys; import latentopt.scripting; assert 'torch' not in sys.modules; "
            "print(os.environ['OMP_WAIT_POLICY'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "passive"


def test_setup_imports_neither_torch_nor_numba_and_they_get_the_jobs_threads_later(tmp_path):
    """A plot or HDF5 job does not pay for torch or numba; a job that imports them later runs `threads` threads."""
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_NUM_THREADS", "OMP_WAIT_POLICY")}
    env["OMP_NUM_THREADS"] = "2"  # e.g. a user's shell setting: the job's own count wins
    log = tmp_path / "job.log"
    code = ("import sys; from latentopt.scripting import setup; setup(sys.argv[1], threads=1); "
            "assert 'torch' not in sys.modules and 'numba' not in sys.modules; "
            "import torch, numba; print(torch.get_num_threads(), numba.get_num_threads(), file=sys.__stdout__)")
    out = subprocess.run([sys.executable, "-c", code, str(log)], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1"]
    wall, cpu = map(float, re.search(r"start-up: ([0-9.]+) s wall, ([0-9.]+) s CPU", log.read_text()).groups())
    assert 0 < cpu and 0 < wall < 600


def test_startup_time_counts_this_process():
    wall, cpu = scripting.startup_time()
    assert wall > 0 and cpu > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/stat")
def test_process_age_is_bounded_by_the_parents_clock():
    # a child's age when it reports cannot exceed the time since its parent spawned it (up to one
    # clock tick of /proc/self/stat); psutil's create_time() gave up to 1 s more (whole-second boot time)
    code = "import time; time.sleep(0.3); from latentopt.scripting import process_age; print(process_age())"
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    elapsed = time.monotonic() - t0
    age = float(out.stdout)
    assert 0.3 <= age <= elapsed + 0.011
    wall, _ = scripting.startup_time()  # the start-up line of a job's log uses this clock
    assert abs(wall - scripting.process_age()) < 0.05
