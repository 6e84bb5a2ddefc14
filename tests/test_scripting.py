"""Thread settings of the workflow jobs (latentopt.scripting.setup)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

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
