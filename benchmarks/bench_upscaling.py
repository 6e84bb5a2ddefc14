"""Generated vs heat-bath states per second at the upscaled lattice size (same machine, one run).

The generator is the RUGAN of the upscaling study (an untrained one of the default
architecture unless ``--generator`` names a ``generator.pt``; the speed does not depend on
the weights). The heat bath is latentopt's annealing kernel with the study's schedule
(``--sweeps`` sweeps from T_start = 2 down to T, then held), one chain per state, states
in parallel over numba threads. Both rates count finished states of ``(3, sL, sL)``.

Usage: python benchmarks/bench_upscaling.py [--L 16] [--scales 1 2 4] [--n 256] [--hb 24]
       [--sweeps 150] [--threads 2] [--generator results/<study>/gan/generator.pt] [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numba
import numpy as np
import torch

from latentopt.config import load_schema
from latentopt.models.rugan import RUGANGenerator, generate, load_generator
from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.physics.heatbath import anneal
from latentopt.physics.thermal import thermal_schedule

SCHEMA = Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--L", type=int, default=16, help="training lattice size")
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--n", type=int, default=256, help="generated states per scale")
    ap.add_argument("--hb", type=int, default=24, help="heat-bath states per scale")
    ap.add_argument("--sweeps", type=int, default=150, help="heat-bath sweeps per state (anneal + hold)")
    ap.add_argument("--T", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--generator", default=None)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs (tests)")
    args = ap.parse_args()
    if args.quick:
        args.L, args.scales, args.n, args.hb, args.sweeps, args.batch = 8, [1, 2], 8, 2, 6, 4
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    if args.generator:
        G = load_generator(args.generator, args.device)
    else:
        keys = ("noise_channels", "channels", "out_channels", "n_blocks", "upsample", "label_every_block", "film_hidden")
        gan = load_schema(SCHEMA)["$defs"]["rugan"]["properties"]  # the default architecture of a study
        G = RUGANGenerator(args.L, **{k: gan[k]["default"] for k in keys}).to(args.device).eval()
    L = G.L
    sched = thermal_schedule(2.0, args.T, max(1, args.sweeps * 2 // 3), args.sweeps - max(1, args.sweeps * 2 // 3))
    anneal(ChiralMagnet(L=4), np.arange(1), 0, sched[:2])  # compile
    print(f"training size L={L}; {args.threads} thread(s); device {args.device}; heat bath {len(sched)} sweeps/state")
    print(f"{'scale':>5} {'size':>9} {'generated/s':>12} {'heat bath/s':>12} {'ratio':>8}")
    rng = np.random.default_rng(0)
    for s in args.scales:
        e = rng.uniform(-1.9, -0.6, args.n)
        generate(G, e[:args.batch], s, 1, args.device, args.batch)  # warm-up
        if args.device != "cpu":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        generate(G, e, s, 0, args.device, args.batch)
        gen_rate = args.n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        anneal(ChiralMagnet(L=s * L), np.arange(args.hb), 0, sched)
        hb_rate = args.hb / (time.perf_counter() - t0)
        print(f"{s:>5} {s * L:>4}x{s * L:<4} {gen_rate:>12.1f} {hb_rate:>12.2f} {gen_rate / hb_rate:>7.1f}x")


if __name__ == "__main__":
    main()
