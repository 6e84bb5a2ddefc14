"""Profile a finished workflow run: per job, wall and CPU time split into start-up and work.

Reads, in a run's working directory,

- the Snakemake log of the run (the newest ``.snakemake/log/*.snakemake.log`` in which jobs
  finished, or ``--log``):
  each job's rule, wildcards, log file, start and finish (1 s resolution) and the run's wall;
- each rule's ``benchmark:`` file (``results/<study>/benchmarks/...tsv``): the job's wall
  ``s`` and ``cpu_time`` as Snakemake measured them;
- each job's own log, where :func:`latentopt.scripting.setup` writes
  ``start-up: <wall> s wall, <cpu> s CPU``: the time from the job's process start to the
  start of its work (interpreter, Snakemake's script preamble, the script's imports).

and prints one row per job (slowest first), the totals per study, and how well the cores
were used (the cores the jobs held, sum of wall x threads, and their sampled CPU, each over
cores x run wall). ``--probe`` adds the import cost of the
modules that jobs import (one fresh interpreter per row).

Usage::

    python benchmarks/profile_run.py                 # in the directory the run was made in
    python benchmarks/profile_run.py --dir RUN --cores 2 --probe

``--quick`` profiles a small made-up run (two jobs) instead: a self-check of the parsing.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

STARTUP_RE = re.compile(r"start-up: ([0-9.]+) s wall, ([0-9.]+) s CPU")
STAMP_RE = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
PROBES = ("pass", "import numpy", "import h5py", "import numba", "import torch", "import matplotlib.pyplot",
          "import snakemake.script")


@dataclass
class Job:
    jobid: int
    rule: str
    wildcards: str = ""
    log: str = ""
    benchmark: str = ""
    start: float | None = None
    end: float | None = None
    bench_wall: float | None = None
    cpu: float | None = None
    startup_wall: float | None = None
    startup_cpu: float | None = None
    threads: int = 1

    @property
    def wall(self) -> float | None:
        if self.bench_wall is not None:
            return self.bench_wall
        return None if self.start is None or self.end is None else self.end - self.start

    @property
    def study(self) -> str:
        m = re.search(r"study=([^,]+)", self.wildcards)
        return m.group(1) if m else "-"


def _stamp(text: str) -> float:
    return dt.datetime.strptime(" ".join(text.split()), "%a %b %d %H:%M:%S %Y").timestamp()


def parse_snakemake_log(path: Path) -> tuple[dict[int, Job], float | None, float | None]:
    """Jobs ``{jobid: Job}`` and the first and last time stamps of a Snakemake log."""
    jobs: dict[int, Job] = {}
    stamp = first = last = None
    current: Job | None = None
    for line in path.read_text().splitlines():
        m = STAMP_RE.match(line.strip())
        if m:
            stamp = _stamp(m.group(1))
            first = stamp if first is None else first
            last = stamp
            continue
        s = line.strip()
        m = re.match(r"(?:local)?rule (\w+):$", s)
        if m:
            current = Job(jobid=-1, rule=m.group(1))
            current.start = stamp
            continue
        if current is not None:
            key, _, value = s.partition(": ")
            if key == "jobid":
                current.jobid = int(value)
                jobs[current.jobid] = current
            elif key == "threads":
                current.threads = int(value)
            elif key in ("log", "benchmark", "wildcards"):
                setattr(current, key, value.split(" (")[0].split(", ")[0] if key != "wildcards" else value)
            elif not s:
                current = None
        m = re.match(r"Finished jobid: (\d+)", s) or re.match(r"Finished job (\d+)\.", s)
        if m and int(m.group(1)) in jobs:
            jobs[int(m.group(1))].end = stamp
    return jobs, first, last


def read_benchmark(path: Path) -> tuple[float, float] | None:
    """``(wall s, cpu_time s)`` of a Snakemake benchmark file (its last row), or None."""
    if not path.is_file():
        return None
    rows = list(csv.DictReader(path.open(), delimiter="\t"))
    if not rows:
        return None
    return float(rows[-1]["s"]), float(rows[-1]["cpu_time"])


def read_startup(path: Path) -> tuple[float, float] | None:
    """``(wall s, cpu s)`` of the last ``start-up:`` line of a job log, or None."""
    if not path.is_file():
        return None
    hits = STARTUP_RE.findall(path.read_text(errors="replace"))
    return (float(hits[-1][0]), float(hits[-1][1])) if hits else None


def probe() -> list[tuple[str, float]]:
    """Wall seconds of a fresh interpreter running each of :data:`PROBES` (best of 3)."""
    out = []
    for stmt in PROBES:
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", stmt], check=True)
            best = min(best, time.perf_counter() - t0)
        out.append((stmt, best))
    return out


def _fmt(x: float | None, width: int = 7) -> str:
    return f"{x:{width}.1f}" if x is not None else " " * (width - 1) + "-"


def report(run_dir: Path, log: Path | None, cores: int) -> str:
    if log is None:  # the newest log of a run that did something (a dry run writes a log too)
        logs = sorted((run_dir / ".snakemake/log").glob("*.snakemake.log"), reverse=True)
        log = next((p for p in logs if re.search(r"Finished job", p.read_text(errors="replace"))), None)
    if log is None:
        raise SystemExit(f"{run_dir}: no .snakemake/log/*.snakemake.log (give --log)")
    jobs, first, last = parse_snakemake_log(log)
    for job in jobs.values():
        if job.benchmark:
            got = read_benchmark(run_dir / job.benchmark)
            if got:
                job.bench_wall, job.cpu = got
        if job.log:
            got = read_startup(run_dir / job.log)
            if got:
                job.startup_wall, job.startup_cpu = got
    rows = sorted((j for j in jobs.values() if j.rule != "all"), key=lambda j: -(j.wall or 0))
    lines = [f"run log: {log}", f"{'study':<20} {'rule':<22} {'wildcards':<28} {'wall':>7} {'cpu':>7} "
             f"{'su-wall':>7} {'su-cpu':>7} {'work':>7}"]
    for j in rows:
        wc = re.sub(r"study=[^,]+,? ?", "", j.wildcards)[:28]
        work = None if j.wall is None or j.startup_wall is None else j.wall - j.startup_wall
        lines.append(f"{j.study:<20} {j.rule:<22} {wc:<28} {_fmt(j.wall)} {_fmt(j.cpu)} {_fmt(j.startup_wall)} "
                     f"{_fmt(j.startup_cpu)} {_fmt(work)}")
    per_study: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0])
    for j in rows:
        acc = per_study[j.study]
        acc[0] += j.wall or 0
        acc[1] += j.cpu or 0
        acc[2] += j.startup_cpu or 0
        acc[3] += 1
    total_wall = sum(a[0] for a in per_study.values())
    lines += ["", f"{'study':<20} {'jobs':>5} {'wall':>8} {'share':>6} {'cpu':>8} {'start-up cpu':>13}"]
    for name, (wall, cpu, su, n) in sorted(per_study.items(), key=lambda kv: -kv[1][0]):
        lines.append(f"{name:<20} {n:>5} {wall:>8.1f} {wall / max(total_wall, 1e-9):>6.0%} {cpu:>8.1f} {su:>13.1f}")
    cpu = sum(j.cpu or 0 for j in rows)
    su_cpu = sum(j.startup_cpu or 0 for j in rows)
    lines.append(f"{'all':<20} {len(rows):>5} {total_wall:>8.1f} {'':>6} {cpu:>8.1f} {su_cpu:>13.1f}")
    missing = sum(j.cpu is None for j in rows)
    if missing:
        lines.append(f"({missing} jobs without a benchmark file: their CPU time is not counted)")
    if first is not None and last is not None:
        run_wall = last - first
        held = sum((j.wall or 0) * min(j.threads, cores) for j in rows)
        lines.append(f"run wall {run_wall:.0f} s (log time stamps); cores held by jobs: sum(wall x threads) / "
                     f"({cores} cores x run wall) = {held / max(cores * run_wall, 1e-9):.0%}; job CPU / ({cores} "
                     f"cores x run wall) = {cpu / max(cores * run_wall, 1e-9):.0%}")
        lines.append("(Snakemake samples a job's CPU time in its benchmark file while the job runs, so the CPU "
                     "column under-counts: jobs of over ~15 s show about 15 s per sample; for the run's CPU time "
                     "use /usr/bin/time -v snakemake ...)")
    return "\n".join(lines)


EXAMPLE_LOG = """\
[Mon Dec  7 02:09:01 2026]
rule spins_train:
    output: results/demo/vae/model.pt
    log: results/demo/logs/train_vae.log
    jobid: 3
    benchmark: results/demo/benchmarks/train_vae.tsv
    wildcards: study=demo
    threads: 2

[Mon Dec  7 02:09:01 2026]
localrule spins_merge:
    output: results/demo/data/dataset.h5
    log: results/demo/logs/merge_dataset.log
    jobid: 2
    wildcards: study=demo

[Mon Dec  7 02:09:05 2026]
Finished jobid: 2 (Rule: spins_merge)
[Mon Dec  7 02:10:41 2026]
Finished jobid: 3 (Rule: spins_train)
"""


def example_run(root: Path) -> Path:
    """A made-up finished run of two jobs under ``root`` (``--quick``): Snakemake log, benchmark and job logs."""
    (root / ".snakemake/log").mkdir(parents=True)
    (root / ".snakemake/log/example.snakemake.log").write_text(EXAMPLE_LOG)
    (root / "results/demo/benchmarks").mkdir(parents=True)
    (root / "results/demo/benchmarks/train_vae.tsv").write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        "100.0\t0:01:40\t1\t1\t1\t1\t0\t0\t180\t180.0\n")
    (root / "results/demo/logs").mkdir(parents=True)
    (root / "results/demo/logs/train_vae.log").write_text("INFO start-up: 2.50 s wall, 2.10 s CPU (...)\n")
    (root / "results/demo/logs/merge_dataset.log").write_text("INFO start-up: 0.80 s wall, 0.60 s CPU (...)\n")
    return root


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=Path("."), help="the run's working directory")
    ap.add_argument("--log", type=Path, help="a Snakemake log (default: the newest in DIR/.snakemake/log)")
    ap.add_argument("--cores", type=int, default=2, help="the run's --cores")
    ap.add_argument("--probe", action="store_true", help="also time the imports jobs pay at start-up")
    ap.add_argument("--quick", action="store_true", help="profile a small made-up run (a self-check)")
    args = ap.parse_args(argv)
    if args.quick:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            print(report(example_run(Path(tmp)), None, args.cores))
        return
    print(report(args.dir, args.log, args.cores))
    if args.probe:
        print("\nstart-up probe (fresh interpreter, best of 3, wall s):")
        for stmt, sec in probe():
            print(f"  {stmt:<28} {sec:6.2f}")


if __name__ == "__main__":
    main()
