"""Heat-bath throughput: latentopt's annealing kernel vs a plain single-threaded numba kernel.

Prints spin updates per second at L = 128 (J = 1, D = 0.3). The baseline is the textbook
kernel: typewriter site order, ``np.random.random()`` draws, modulo neighbour lookup, one
thread. latentopt's kernel uses checkerboard order, per-sample xoshiro256** streams held
in registers, neighbour tables, and runs samples in parallel on all numba threads.

Usage: python benchmarks/bench_heatbath.py [--L 128] [--samples 4] [--sweeps 40]
"""

from __future__ import annotations

import argparse
import math
import time

import numba
import numpy as np

from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.physics.heatbath import anneal, heatbath_direction
from latentopt.physics.states import random_states


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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--L", type=int, default=128)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--sweeps", type=int, default=40)
    args = ap.parse_args()
    L, n, sweeps = args.L, args.samples, args.sweeps
    model = ChiralMagnet(L=L)
    J, Dx, Dy, _, B = model.kernel_args()
    temps = np.geomspace(2.0, 0.01, sweeps)
    updates = n * sweeps * L * L

    init = random_states(n, L, np.random.default_rng(0))
    plain_anneal(init[0].copy(), temps[:2], J, Dx, Dy, B, 0)  # compile
    t0 = time.perf_counter()
    for k in range(n):
        plain_anneal(init[k].copy(), temps, J, Dx, Dy, B, k)
    t_plain = time.perf_counter() - t0

    anneal(ChiralMagnet(L=16), np.arange(2), 0, temps[:2])  # compile
    rates = {}
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        t0 = time.perf_counter()
        anneal(model, np.arange(n), 0, temps)
        rates[threads] = updates / (time.perf_counter() - t0)

    plain = updates / t_plain
    print(f"L={L}, {n} samples x {sweeps} sweeps ({updates / 1e6:.1f} M spin updates)")
    print(f"plain single-threaded numba kernel : {plain / 1e6:7.2f} M updates/s")
    for threads, rate in rates.items():
        print(f"latentopt kernel, {threads} thread(s)        : {rate / 1e6:7.2f} M updates/s  ({rate / plain:.2f}x plain)")


if __name__ == "__main__":
    main()
