"""Shared pytest fixtures."""

import pytest
import torch


@pytest.fixture
def float64():
    """Run one test with torch's default dtype float64 and restore the previous default after it.

    Setting the default at module import time would leak into every module collected after it.
    """
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)
