"""Shared pytest fixtures."""

from __future__ import annotations

import pytest
import torch


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
