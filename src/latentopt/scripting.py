"""Helpers for the thin workflow scripts: log redirection, thread settings, one-line errors.

Workflow scripts call :func:`setup` first; everything they print (including progress bars
and warnings) goes to the rule's ``log:`` file. A :class:`~latentopt.errors.LatentoptError`
(a file to rebuild, a setting to change) is reported as its one-line message, on the
console and as the last line of the log; any other exception leaves its traceback in the
log and one line on the console that points there.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path

from latentopt.errors import LatentoptError


def _report(log_path: str | Path, console, where: str):
    """An :data:`sys.excepthook` writing errors as described in the module docstring."""

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, LatentoptError):
            line = f"latentopt: {where}{exc}"
            print(line, file=sys.stderr, flush=True)
        else:
            traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
            sys.stderr.flush()
            line = f"latentopt: {exc_type.__name__}: {exc} (traceback in {log_path})"
        if console is not sys.stderr:
            print(line, file=console, flush=True)

    return hook


def setup(log_path: str | Path | None, threads: int = 1, study: str | None = None) -> logging.Logger:
    """Redirect stdout/stderr to ``log_path`` (appending) and set numba/torch thread counts.

    Parameters
    ----------
    log_path : path or None
        The rule's log file; output stays on the console when None.
    threads : int
        Threads granted by Snakemake (``snakemake.threads``).
    study : str, optional
        The study (``snakemake.wildcards.study``): error messages start with ``studies.<study>:``
        so that the config keys they name are complete.

    Returns
    -------
    logging.Logger
        The ``latentopt`` logger, writing timestamped lines to the log.
    """
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        fh = open(log_path, "a", buffering=1)
        console = sys.stderr
        sys.stdout = sys.stderr = fh
        sys.excepthook = _report(log_path, console, f"studies.{study}: " if study else "")
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
