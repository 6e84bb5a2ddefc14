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
import time
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
    """Redirect stdout/stderr to ``log_path`` (appending), set the thread settings, log the start-up time.

    Thread settings: ``OMP_NUM_THREADS`` and ``NUMBA_NUM_THREADS`` become ``threads``
    (Snakemake already sets ``OMP_NUM_THREADS`` to a job's threads), ``OMP_WAIT_POLICY``
    becomes :data:`WAIT_POLICY` unless already set. torch and numba read these when they
    are imported; a module already imported gets its thread count set directly. Neither is
    imported here: a job that needs neither (plots, HDF5 merges, Gaussian processes) does
    not pay for them. The OpenMP runtime of torch reads ``OMP_WAIT_POLICY`` when torch is
    imported, so a script that imports torch before calling this function should import
    this module first (importing it sets ``OMP_WAIT_POLICY`` too).

    The log gets one line ``start-up: <wall> s wall, <cpu> s CPU``: the time from the
    process start to this call (the interpreter, Snakemake's script preamble and the
    script's imports), which ``benchmarks/profile_run.py`` reads.

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
    set_threads(threads)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        force=True)
    logging.captureWarnings(True)
    log = logging.getLogger("latentopt")
    wall, cpu = startup_time()
    if wall is not None:
        log.info("start-up: %.2f s wall, %.2f s CPU (interpreter, Snakemake preamble, imports)", wall, cpu)
    return log


def set_threads(threads: int) -> None:
    """Set torch's and numba's thread counts to ``threads`` (>= 1), now or when they are imported.

    See :func:`setup`. ``NUMBA_NUM_THREADS`` is never raised above a smaller value already
    in the environment (numba cannot run more threads than that).
    """
    threads = max(1, int(threads))
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
    numba_max = int(os.environ.get("NUMBA_NUM_THREADS", threads))
    if "numba" in sys.modules:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    else:
        os.environ["NUMBA_NUM_THREADS"] = str(min(threads, numba_max))
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)


def startup_time() -> tuple[float | None, float | None]:
    """``(wall s, CPU s)`` of this process since it started, or ``(None, None)`` without psutil.

    On Linux the wall time is the clock since boot (``CLOCK_BOOTTIME``) minus the process's
    start in ``/proc/self/stat`` (field 22, clock ticks since boot), exact to a tick (10 ms).
    psutil's ``create_time()`` adds that start to the boot time of ``/proc/stat``, which the
    kernel gives in whole seconds: its age of a process is too long by the boot time's
    fraction of a second, a constant of this machine between 0 and 1 s (0.76 s on the
    machine that first showed it, where every job's start-up seemed 0.8 s longer than its CPU).
    """
    try:
        import psutil
    except ImportError:  # psutil comes with Snakemake; the library itself does not need it
        return None, None
    proc = psutil.Process()
    cpu = proc.cpu_times()
    coarse = time.time() - proc.create_time()
    wall = process_age()
    if wall is None or not 0.0 <= wall <= coarse + 0.02:  # e.g. a time namespace shifting one clock only
        wall = coarse
    return wall, cpu.user + cpu.system


def process_age() -> float | None:
    """Seconds since this process started, from the kernel's own clocks; None where unavailable (not Linux)."""
    try:
        stat = Path("/proc/self/stat").read_text()
        start_ticks = int(stat[stat.rindex(")") + 2:].split()[19])  # field 22; the name may hold spaces
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError, IndexError):
        return None
