"""Fixed costs the default run stopped paying (issue 21), each timed against what it replaced, in one run.

``optimizer``: a fresh interpreter that imports torch and takes one Adam step, with
``opt.step()`` (torch imports TorchDynamo on the first optimizer call) and with
:func:`latentopt.torch_startup.optimizer_step` (no such import); CPU time of each process.

``batchnorm``: forward + backward of a 3-channel batch norm on a channels-last batch
``(100, 3, 64, 64)`` (the spin VAE's last block): ``torch.nn.BatchNorm2d`` (PyTorch's
channels-last kernel) against :class:`latentopt.models.vae.PlanarBatchNorm2d` (NCHW).

``neighbours``: the batched effective field and energy of 100 states of 64 x 64
(:mod:`latentopt.physics.torch_physics`) with neighbours from ``torch.roll`` (the path taken
when the states require a gradient) and as views of one periodic padding (no gradient).

``compile`` (skipped with ``--quick``): the first heat-bath anneal in a fresh interpreter
with an empty numba cache, for ``K = 0`` alone (what a job compiles now: the variant it runs)
and for ``K = 0`` then ``K != 0`` (both lane loops: about what every job compiled before, when
one function held both behind a run-time branch).

Prints the median over ``--repeats`` of each and the ratio. Usage::

    python benchmarks/bench_overheads.py [--threads 1] [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import torch

from latentopt.models.vae import PlanarBatchNorm2d
from latentopt.physics import torch_physics as tp
from latentopt.physics.hamiltonian import ChiralMagnet

STEP = textwrap.dedent("""
    import time
    t0 = time.process_time()
    import torch
    {imports}
    p = torch.nn.Parameter(torch.zeros(8))
    opt = torch.optim.Adam([p], lr=0.1)
    opt.zero_grad()
    (p - 1).square().sum().backward()
    {step}
    print(time.process_time() - t0)
""")

COMPILE = textwrap.dedent("""
    import time
    import numpy as np
    from latentopt.physics.hamiltonian import ChiralMagnet
    from latentopt.physics.heatbath import anneal
    t0 = time.perf_counter()
    for K in {anisotropies}:
        anneal(ChiralMagnet(L=8, J=1.0, D=0.3, K=K), np.arange(16), 1, np.array([1.0, 0.5]))
    print(time.perf_counter() - t0)
""")


def _process_seconds(code: str, env: dict | None = None) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return float(out.stdout.strip().splitlines()[-1])


def _median_ms(fn, repeats: int, inner: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner * 1e3)
    return statistics.median(times)


def _row(what: str, before: float, after: float, unit: str) -> None:
    print(f"{what:<52} before {before:9.2f} {unit}   after {after:9.2f} {unit}   {before / after:5.2f}x")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="small sizes, one repeat, no compile timing (seconds)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    repeats = 1 if args.quick else args.repeats
    n, L = (8, 16) if args.quick else (100, 64)

    before = statistics.median(_process_seconds(STEP.format(imports="", step="opt.step()")) for _ in range(repeats))
    after = statistics.median(_process_seconds(STEP.format(
        imports="from latentopt.torch_startup import optimizer_step", step="optimizer_step(opt)")) for _ in range(repeats))
    _row("optimizer: import torch + one Adam step (CPU)", before, after, "s ")

    x = torch.randn(n, 3, L, L).contiguous(memory_format=torch.channels_last)
    g = torch.randn(n, 3, L, L)

    def norm_step(layer):
        leaf = x.detach().requires_grad_()  # a fresh leaf: no gradient accumulates across calls
        layer(leaf).backward(g, inputs=[leaf])

    ref, ours = torch.nn.BatchNorm2d(3), PlanarBatchNorm2d(3)
    _row(f"batchnorm: forward + backward ({n}, 3, {L}, {L})", _median_ms(lambda: norm_step(ref), repeats, 10),
         _median_ms(lambda: norm_step(ours), repeats, 10), "ms")

    model = ChiralMagnet(L=L, J=1.0, D=0.3)
    s = torch.nn.functional.normalize(torch.randn(n, 3, L, L), dim=1)
    rolled = s.clone().requires_grad_()  # a state that requires a gradient takes the rolls
    with torch.no_grad():
        for name, fn in (("effective field", tp.effective_field), ("energy per spin", tp.energy_per_spin)):
            assert torch.equal(fn(rolled, model), fn(s, model))
            _row(f"neighbours: {name} of {n} states of {L} x {L}", _median_ms(lambda: fn(rolled, model), repeats, 10),
                 _median_ms(lambda: fn(s, model), repeats, 10), "ms")

    if args.quick:
        print("compile: skipped with --quick")
        return
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        both = _process_seconds(COMPILE.format(anisotropies="(0.0, 0.1)"), env)
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        one = _process_seconds(COMPILE.format(anisotropies="(0.0,)"), env)
    _row("compile: first anneal, both lane loops vs the one run", both, one, "s ")


if __name__ == "__main__":
    main()
