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


#: ``OMP_WAIT_POLICY`` of the jobs (unless the environment sets it). numba (threading layer
#: ``omp``: the system libgomp) and torch (its own bundled libgomp) run two separate OpenMP
#: pools; with the default policy each pool's idle workers keep spinning after a parallel
#: region, taking the cores from the other pool (small torch ops after a numba call ran
#: about 40x slower) and, on a loaded machine, from their own team's next region (a 2-thread
#: torch op then waits for a time slice). Passive workers sleep at once; the cost is a
#: thread wake-up (microseconds) per parallel region. ``benchmarks/bench_training.py
#: waitpolicy`` measures both effects.
WAIT_POLICY = "passive"
os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)  # for torch's pool, when imported before torch


def setup(log_path: str | Path | None, threads: int = 1, study: str | None = None) -> logging.Logger:
    """Redirect stdout/stderr to ``log_path`` (appending) and set numba/torch thread settings.

    Thread settings: ``OMP_NUM_THREADS`` (``threads``) and ``OMP_WAIT_POLICY``
    (:data:`WAIT_POLICY`) unless already set, then numba's and torch's thread counts. An
    OpenMP runtime reads the environment when it loads: numba's loads at its first
    parallel call, after this function, so the settings apply to it; torch's loads with
    ``import torch``, so they apply to torch only if set before that (the workflow sets
    ``OMP_WAIT_POLICY`` for every job, or import this module first:
    importing it sets ``OMP_WAIT_POLICY`` too).

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
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
    import numba
    import torch

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    torch.set_num_threads(threads)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        force=True)
    logging.captureWarnings(True)
    return logging.getLogger("latentopt")
