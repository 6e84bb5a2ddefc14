"""Overhead of one Bayesian-optimization iteration (GP fit + acquisition over the candidates).

Issue goal: median <= 0.1 s per iteration with 600 observations and 10,000 candidates on a
2-core machine. The objective here is a cheap analytic surface on a 100 x 100 grid (the
lecture's latent grid), so the timings are the BO machinery alone (FerroSIM evaluations
are excluded; ``fit_seconds`` in ``bo/<run>.h5`` is the same quantity inside a workflow run).

Measured, in one process:

1. the steady state at 600 observations: ``--iterations`` iterations starting from 600
   random observations, kernel refitted every ``--refit-every`` iterations as in a run,
   with the incremental posterior (the default) and with the reference path (fixed
   hyper-parameter refit + :func:`gp_posterior` every iteration), whose chosen candidates
   must be the same;
2. a whole run, ``--n-initial`` random points + BO up to 600 observations (incremental);
3. for reference, one ``predict(return_std=True)`` of scikit-optimize on the 10,000
   candidates against :func:`latentopt.optimizers.bayes.gp_posterior`.

Usage: python benchmarks/bench_bayes.py [--threads 2] [--skip-full]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def surface(z: np.ndarray) -> np.ndarray:
    """A smooth multi-modal test surface on [0, 1]^2."""
    x, y = z[:, 0], z[:, 1]
    return (np.sin(7 * x) * np.cos(5 * y) + 1.5 * np.exp(-((x - 0.8) ** 2 + (y - 0.2) ** 2) / 0.01)
            + 0.5 * x * y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--grid", type=int, default=100)
    ap.add_argument("--observations", type=int, default=600)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--refit-every", type=int, default=10)
    ap.add_argument("--n-initial", type=int, default=100)
    ap.add_argument("--skip-full", action="store_true", help="skip the whole-run measurement")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs (tests)")
    args = ap.parse_args()
    if args.quick:
        args.grid, args.observations, args.iterations, args.n_initial, args.skip_full = 20, 40, 3, 10, True

    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    threadpool_limits(args.threads)
    from latentopt.optimizers.bayes import bo  # holds the incremental-posterior switch
    from latentopt.optimizers.bayes import bayesian_optimization, gp_posterior, unit_box

    a = np.linspace(0, 1, args.grid)
    z = np.stack(np.meshgrid(a, a), -1).reshape(-1, 2)
    y = surface(z)
    M = len(z)
    print(f"{M} candidates, {args.threads} threads")

    # 1. steady state: start from `observations` random points
    def evaluate(idx):
        return y[idx]

    runs = {}
    for incremental in (True, False):
        bo._INCREMENTAL_POSTERIOR = incremental
        runs[incremental] = bayesian_optimization(
            z, evaluate, n_initial=args.observations, iterations=args.iterations, acquisition_function="ucb",
            kappa=10.0, refit_every=args.refit_every, n_restarts=0, seed=0, progress=False)
    bo._INCREMENTAL_POSTERIOR = True
    for incremental, name in ((False, "reference (refit + gp_posterior)"), (True, "incremental posterior")):
        t = runs[incremental].fit_seconds
        refits = t[:: args.refit_every]
        between = np.delete(t, np.s_[:: args.refit_every])
        print(f"steady state at {args.observations}..{args.observations + args.iterations} observations, {name}: "
              f"median {np.median(t):.4f} s/iter, mean {t.mean():.4f}; between refits median "
              f"{np.median(between):.4f}, refit iterations median {np.median(refits):.3f}")
    same = np.array_equal(runs[True].index, runs[False].index)
    speedup = np.median(runs[False].fit_seconds) / np.median(runs[True].fit_seconds)
    print(f"same chosen candidates: {same}; median speed-up {speedup:.1f}x")
    res = runs[True]

    # 3. posterior on all candidates: ours vs scikit-optimize's predict
    gp = res.gp
    X = unit_box(z)(z)
    t0 = time.perf_counter()
    gp_posterior(gp, X)
    ours = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        gp.predict(X, return_std=True)
        skopt = time.perf_counter() - t0
    print(f"posterior over {M} candidates with {len(res.y)} observations: gp_posterior {ours:.3f} s, "
          f"skopt predict(return_std=True) {skopt:.3f} s ({skopt / ours:.0f}x)")

    # 2. a whole run
    if not args.skip_full:
        t0 = time.perf_counter()
        full = bayesian_optimization(z, evaluate, n_initial=args.n_initial,
                                     iterations=args.observations - args.n_initial, acquisition_function="ucb",
                                     kappa=10.0, refit_every=args.refit_every, seed=1, progress=False)
        wall = time.perf_counter() - t0
        f = full.fit_seconds
        print(f"whole run {args.n_initial} + {len(f)} iterations: {wall:.1f} s, median {np.median(f):.3f} s/iter, "
              f"last 50 median {np.median(f[-50:]):.3f}, max {f.max():.3f}; best {full.y.max():.4f} of {y.max():.4f}")


if __name__ == "__main__":
    main()
