"""Heat-bath throughput: latentopt's annealing kernels vs a plain single-threaded numba kernel.

Prints spin updates per second at L = 128 (J = 1, D = 0.3) for

- ``plain``: the textbook kernel: typewriter site order, ``np.random.random()`` draws,
  modulo neighbour lookup, scalar libm, one thread, one sample after the other;
- ``scalar``: latentopt's pre-vectorization kernel (``anneal_scalar`` of ``tests/heatbath_reference.py``):
  checkerboard order, per-sample xoshiro256** streams in registers, neighbour tables,
  samples in parallel over numba threads;
- ``simd``: :func:`latentopt.physics.heatbath.anneal`: the same streams, 16 samples per
  block with the sample index innermost, every step one AVX-512 instruction on 8 samples.

The machine is shared, so every kernel is timed ``--repeats`` times in turn (interleaved)
and the medians of the rates and of the ratios to ``plain`` within a repeat are reported;
``cpu`` is the process CPU time per update (insensitive to other load for one thread).
Samples: ``--samples`` (default 32 = two blocks of 16, one per thread).

``--asm`` compiles an uncached copy of the lane kernel and prints its innermost loop's
instruction mix (vector width of the registers, divisions, square roots, FMAs): the
evidence that the same site of 16 samples is updated with two 8-wide AVX-512 vectors.

Usage: python benchmarks/bench_heatbath.py [--L 128] [--samples 32] [--sweeps 40] [--repeats 5] [--K 0] [--asm]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numba
import numpy as np

from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.physics import heatbath as hb
from latentopt.physics.heatbath import anneal
from latentopt.physics.states import random_states

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from heatbath_reference import anneal_scalar, heatbath_direction  # noqa: E402  (the tests' reference kernel)


@numba.njit(cache=True)
def plain_anneal(s, temperatures, J, Dx, Dy, B, seed):
    """Baseline: one state, typewriter order, np.random, modulo neighbours (no anisotropy)."""
    np.random.seed(seed)
    L = s.shape[1]
    for T in temperatures:
        beta = 1.0 / T
        for y in range(L):
            for x in range(L):
                xp, xm, yp, ym = (x + 1) % L, (x - 1) % L, (y + 1) % L, (y - 1) % L
                hx = J * (s[0, y, xp] + s[0, y, xm] + s[0, yp, x] + s[0, ym, x]) + B[0]
                hy = J * (s[1, y, xp] + s[1, y, xm] + s[1, yp, x] + s[1, ym, x]) + B[1]
                hz = J * (s[2, y, xp] + s[2, y, xm] + s[2, yp, x] + s[2, ym, x]) + B[2]
                ax, ay, az = s[0, y, xp] - s[0, y, xm], s[1, y, xp] - s[1, y, xm], s[2, y, xp] - s[2, y, xm]
                bx, by, bz = s[0, yp, x] - s[0, ym, x], s[1, yp, x] - s[1, ym, x], s[2, yp, x] - s[2, ym, x]
                hx += ay * Dx[2] - az * Dx[1] + by * Dy[2] - bz * Dy[1]
                hy += az * Dx[0] - ax * Dx[2] + bz * Dy[0] - bx * Dy[2]
                hz += ax * Dx[1] - ay * Dx[0] + bx * Dy[1] - by * Dy[0]
                nx, ny, nz = heatbath_direction(hx, hy, hz, beta, np.random.random(), np.random.random())
                s[0, y, x], s[1, y, x], s[2, y, x] = nx, ny, nz


def lane_loop_asm() -> list[str]:
    """Instruction mix of the innermost loops of the lane kernel that contain vector divisions.

    Compiled here with the anisotropy flag as a run-time argument, the Metropolis-Hastings
    correction (``K != 0``) sits behind a branch inside one lane loop; a job compiles the flag
    as a literal (``_anneal_lanes``), which gives a loop without the correction for ``K = 0``.
    """
    kernel = numba.njit(error_model="numpy")(hb._sweeps_lanes.py_func)  # uncached: inspectable
    kernel(np.zeros((8, 8, 3, hb._LANES)), np.ones((4, hb._LANES), np.uint64), np.ones(1),
           *ChiralMagnet(L=8).kernel_args(), False)  # a run-time flag: both lane loops in one function
    asm = next(iter(kernel.inspect_asm().values())).splitlines()
    labels = {ln.rstrip(":"): i for i, ln in enumerate(asm) if re.match(r"^\.LBB\d+_\d+:", ln)}
    loops = set()
    for i, ln in enumerate(asm):
        m = re.match(r"^\s+j\w+\s+(\.LBB\d+_\d+)$", ln)
        if m and labels.get(m.group(1), i) < i and any("vdivpd" in x for x in asm[labels[m.group(1)]:i]):
            loops.add((labels[m.group(1)], i))
    inner = [(a, b) for a, b in loops if not any(a <= c and d <= b and (c, d) != (a, b) for c, d in loops)]
    out = []
    for a, b in sorted(inner):
        body = [ln for ln in asm[a + 1:b + 1] if ln.strip() and not ln.strip().startswith((".", "#"))]
        ops = Counter(ln.split()[0] for ln in body)
        regs = Counter(r for ln in body for r in re.findall(r"%([xyz])mm", ln))
        fma = sum(v for k, v in ops.items() if "fmadd" in k or "fmsub" in k or "fnm" in k)
        out.append(f"lane loop {asm[a].rstrip(':')}: {len(body)} instructions per iteration (= one site of "
                   f"{hb._LANES} samples); register operands zmm {regs['z']}, ymm {regs['y']}, xmm {regs['x']}; "
                   f"vdivpd {ops['vdivpd']}, vsqrtpd {ops['vsqrtpd']}, FMA {fma}, vmulpd {ops['vmulpd']}, "
                   f"vaddpd+vsubpd {ops['vaddpd'] + ops['vsubpd']}, vcvtqq2pd (uniforms) {ops['vcvtqq2pd']}, "
                   f"scalar vdivsd/vsqrtsd {ops['vdivsd'] + ops['vsqrtsd']}, calls {ops['callq'] + ops['call']}")
    return out or ["no vectorized lane loop found"]


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--L", type=int, default=128)
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--plain-samples", type=int, default=2, help="samples for the (slow) plain kernel")
    ap.add_argument("--sweeps", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--K", type=float, default=0.0, help="anisotropy of the scalar/simd runs")
    ap.add_argument("--asm", action="store_true", help="print the lane loop's instruction mix")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs (tests)")
    args = ap.parse_args()
    if args.quick:
        args.L, args.samples, args.plain_samples, args.sweeps, args.repeats = 16, 16, 1, 4, 1
    if args.asm:
        print("\n".join(lane_loop_asm()))
    L, n, sweeps = args.L, args.samples, args.sweeps
    model = ChiralMagnet(L=L, K=args.K)
    J, Dx, Dy, _, B = model.kernel_args()
    temps = np.geomspace(2.0, 0.01, sweeps)
    init = random_states(args.plain_samples, L, np.random.default_rng(0))

    plain_anneal(init[0].copy(), temps[:2], J, Dx, Dy, B, 0)  # compile
    anneal(ChiralMagnet(L=16, K=args.K), np.arange(2), 0, temps[:2])
    anneal_scalar(ChiralMagnet(L=16, K=args.K), np.arange(2), 0, temps[:2])
    threads = sorted({1, numba.config.NUMBA_NUM_THREADS})
    kernels = {"plain": None}
    for t in threads:
        kernels[f"scalar, {t} thread(s)"] = (anneal_scalar, t)
        kernels[f"simd,   {t} thread(s)"] = (anneal, t)
    rates = {k: [] for k in kernels}
    cpu = {k: [] for k in kernels}
    before = numba.get_num_threads()
    try:
        for _ in range(args.repeats):
            for name, spec in kernels.items():
                if spec is None:
                    upd = args.plain_samples * sweeps * L * L
                    wall, c = _timed(lambda: [plain_anneal(init[k].copy(), temps, J, Dx, Dy, B, k)
                                              for k in range(args.plain_samples)])
                else:
                    fn, t = spec
                    numba.set_num_threads(t)
                    upd = n * sweeps * L * L
                    wall, c = _timed(lambda: fn(model, np.arange(n), 0, temps))
                rates[name].append(upd / wall)
                cpu[name].append(c / upd)
    finally:
        numba.set_num_threads(before)
    plain = np.array(rates["plain"])
    print(f"L={L}, K={args.K}, {n} samples x {sweeps} sweeps, {args.repeats} interleaved repeats "
          f"(medians); {numba.config.NUMBA_NUM_THREADS} numba threads available")
    for name in kernels:
        r = np.array(rates[name])
        print(f"{name:22s}: {np.median(r) / 1e6:8.2f} M updates/s  ({np.median(r / plain):6.2f}x plain)  "
              f"cpu {np.median(cpu[name]) * 1e9:6.2f} ns/update")


if __name__ == "__main__":
    main()
