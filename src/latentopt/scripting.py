"""Helpers for the thin workflow scripts: log redirection and thread settings.

Workflow scripts call :func:`setup` first; everything they print (including progress bars
and warnings) goes to the rule's ``log:`` file.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path


def setup(log_path: str | Path | None, threads: int = 1) -> logging.Logger:
    """Redirect stdout/stderr to ``log_path`` (appending) and set numba/torch thread counts.

    Parameters
    ----------
    log_path : path or None
        The rule's log file; output stays on the console when None.
    threads : int
        Threads granted by Snakemake (``snakemake.threads``).

    Returns
    -------
    logging.Logger
        The ``latentopt`` logger, writing timestamped lines to the log.
    """
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        fh = open(log_path, "a", buffering=1)
        sys.stdout = sys.stderr = fh
    threads = max(1, int(threads))
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import numba
    import torch

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    torch.set_num_threads(threads)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        force=True)
    logging.captureWarnings(True)
    return logging.getLogger("latentopt")
