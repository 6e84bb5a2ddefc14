"""The single-spin NEB benchmark of Bushuev & Lobanov, Nanosystems 11, 642 (2020), Figs. 1-2.

Single spin ``E = -K1 S_x^2 - K2 S_z^2`` (:mod:`latentopt.physics.single_spin`): random paths
of 8-14 images perturbed by at most 5% of the path length around the exact MEP
(:func:`random_paths`, :func:`path_set`; the training and test sets of
:mod:`latentopt.optimizers.meta_neb`). The barrier error of a path is
``Delta = Q[S] - Q0`` (:func:`barrier_error`), with ``Q[S]`` the maximum energy along the
piecewise-geodesic path (:func:`latentopt.optimizers.neb_path.path_maximum`) and ``Q0`` the
exact saddle energy. :func:`convergence_benchmark` runs the NEB map M(gamma, mu, beta)
(:func:`latentopt.optimizers.neb_band.paper_step`) on held-out paths and records
``Delta^(k)``; the speed-up of learned parameters is the ratio of the median numbers of
iterations needed to reach ``Delta < 1e-6``.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from latentopt.physics import single_spin, spheres

from .neb_band import PARAMS, paper_step
from .neb_path import EnergyFn, path_maximum

__all__ = ["random_paths", "path_set", "barrier_error", "BenchmarkResult", "convergence_benchmark"]


def _seed(*parts) -> int:
    """A 63-bit seed from any parts (stable across runs and platforms)."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little") >> 1


def random_paths(n_paths: int, n_images: int, perturbation: float = 0.05, bend: float = 0.0,
                 seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    """Random single-spin paths around the exact MEP (Bushuev & Lobanov 2020, Fig. 1a).

    Start from the exact MEP with equally spaced images (:func:`latentopt.physics.single_spin.mep`,
    through ``+y``, length ``pi``); each interior image is rotated by an angle uniform in
    ``[0, perturbation * pi]`` in a uniformly random tangent direction; with ``bend > 0`` the
    whole path is first bent out of the easy plane by ``A sin(pi k / (m - 1))`` (rotation
    towards ``z``) with ``A`` uniform in ``[-bend * pi, bend * pi]``. End images stay at the minima.

    Parameters
    ----------
    n_paths, n_images : int
        ``n_images >= 3``.
    perturbation, bend : float
        Fractions of the path length ``pi``.
    seed : int

    Returns
    -------
    Tensor, shape (n_paths, n_images, 3)
    """
    if int(n_paths) < 1:
        raise ValueError(f"n_paths: expected >= 1, got {n_paths}")
    if int(n_images) < 3:
        raise ValueError(f"n_images: expected >= 3, got {n_images}")
    if perturbation < 0 or bend < 0:
        raise ValueError(f"perturbation, bend: expected non-negative fractions, got {perturbation}, {bend}")
    g = torch.Generator().manual_seed(int(seed))
    P, m = int(n_paths), int(n_images)
    base = single_spin.mep(m, dtype=dtype).expand(P, m, 3).clone()
    ez = torch.tensor([0.0, 0.0, 1.0], dtype=dtype)
    k = torch.arange(m, dtype=dtype)
    amp = (2 * torch.rand(P, generator=g, dtype=dtype) - 1) * bend * math.pi
    disp = amp[:, None, None] * torch.sin(math.pi * k / (m - 1))[None, :, None] * ez
    x = spheres.exp_map(base, disp, dim=2)
    e1, e2 = spheres.tangent_basis(x, dim=2)
    phi = 2 * math.pi * torch.rand(P, m, 1, generator=g, dtype=dtype)
    r = torch.rand(P, m, 1, generator=g, dtype=dtype) * perturbation * math.pi
    jitter = r * (torch.cos(phi) * e1 + torch.sin(phi) * e2)
    jitter[:, 0] = 0.0
    jitter[:, -1] = 0.0
    x = spheres.exp_map(x, jitter, dim=2)
    x[:, 0], x[:, -1] = base[:, 0], base[:, -1]
    return x


def path_set(n_paths: int, images: tuple[int, int] = (8, 14), perturbation: float = 0.05, bend: float = 0.0,
             seed: int = 0, path_generator: Callable | None = None) -> list[torch.Tensor]:
    """``n_paths`` random paths with image counts drawn uniformly from ``images`` (inclusive), grouped by count.

    Parameters
    ----------
    path_generator : callable, optional
        ``(n_paths, n_images, seed) -> (P, m, 3, *sites)``; default :func:`random_paths` with
        ``perturbation`` and ``bend``.

    Returns
    -------
    list of Tensor, each shape (P_m, m, 3, *sites)
        One group per image count present (ascending ``m``).
    """
    lo, hi = int(images[0]), int(images[1])
    if lo < 3 or hi < lo:
        raise ValueError(f"images: expected a range (lo, hi) with 3 <= lo <= hi, got {images}")
    if path_generator is None:
        def path_generator(n, m, s):
            return random_paths(n, m, perturbation, bend, s)
    rng = np.random.default_rng(_seed("counts", seed))
    counts = rng.integers(lo, hi + 1, size=int(n_paths))
    return [path_generator(int((counts == m).sum()), int(m), _seed("paths", seed, int(m))) for m in np.unique(counts)]


def barrier_error(energy_fn: EnergyFn, images: torch.Tensor, q0: float) -> torch.Tensor:
    """``Delta = Q[S] - Q0`` of each path ``images (P, m, 3, *sites) -> (P,)``, differentiable (:func:`path_maximum`)."""
    q, _, _ = path_maximum(energy_fn, images)
    return q - q0


@dataclass
class BenchmarkResult:
    """Convergence of the NEB map on a set of paths (the paper's Fig. 2).

    Attributes
    ----------
    delta : ndarray, shape (iterations + 1, P)
        Barrier error ``Delta^(k) = Q[S^(k)] - Q0`` per iteration and path.
    rate : ndarray, shape (iterations, P)
        ``rho^(k) = Delta^(k+1) / Delta^(k)``.
    iterations_to_threshold : ndarray, shape (P,)
        First ``k`` with ``Delta^(k) < threshold`` (``inf`` if never within ``max_iter``).
    median_iterations : float
    threshold : float
    final_barrier_error : ndarray, shape (P,)
        ``Delta`` at the last iteration run.
    wall_time : float
    """

    delta: np.ndarray
    rate: np.ndarray
    iterations_to_threshold: np.ndarray
    median_iterations: float
    threshold: float
    final_barrier_error: np.ndarray
    wall_time: float


def convergence_benchmark(params, paths: torch.Tensor | list, *, energy_fn: EnergyFn | None = None,
                          q0: float | None = None, max_iter: int = 5000, record: int = 60,
                          threshold: float = 1e-6, climbing: bool = False) -> BenchmarkResult:
    """Run the NEB map with fixed parameters on held-out paths and record the barrier error.

    Stops when every path has reached ``Delta < threshold`` or after ``max_iter`` iterations;
    ``delta`` is recorded for the first ``record`` iterations (the paper's 60) and the
    iteration counts to the threshold over the whole run.

    Parameters
    ----------
    params : dict or (gamma, mu, beta)
    paths : Tensor (P, m, 3, *sites) or list of such groups
    energy_fn, q0 : as for :func:`meta_learn`
    max_iter : int
    record : int
        Iterations whose ``Delta`` are kept.
    threshold : float
    climbing : bool

    Returns
    -------
    BenchmarkResult
    """
    energy_fn = energy_fn or single_spin.energy_fn()
    q0 = single_spin.saddle_energy() if q0 is None else float(q0)
    gamma, mu, beta = (params[p] for p in PARAMS) if isinstance(params, dict) else params
    groups = paths if isinstance(paths, (list, tuple)) else [paths]
    t0 = time.perf_counter()
    deltas, hits, finals = [], [], []
    for x in groups:
        x = x.detach()
        d = barrier_error(energy_fn, x, q0).detach()
        hist = [d.cpu().numpy()]
        hit = np.where(hist[0] < threshold, 0.0, np.inf)
        for k in range(1, int(max_iter) + 1):
            with torch.enable_grad():
                x = paper_step(x, energy_fn, gamma, mu, beta, climbing=climbing, create_graph=False).detach()
            d = barrier_error(energy_fn, x, q0).detach().cpu().numpy()
            if k <= record:
                hist.append(d)
            hit = np.where(np.isinf(hit) & (d < threshold), float(k), hit)
            if k >= record and np.isfinite(hit).all():
                break
            if not np.isfinite(d).all():
                break
        deltas.append(np.stack(hist))
        hits.append(hit)
        finals.append(d)
    n_rec = min(len(h) for h in deltas)
    delta = np.concatenate([h[:n_rec] for h in deltas], axis=1)
    hit = np.concatenate(hits)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = delta[1:] / delta[:-1]
    return BenchmarkResult(delta=delta, rate=rate, iterations_to_threshold=hit,
                           median_iterations=float(np.median(hit)), threshold=threshold,
                           final_barrier_error=np.concatenate(finals), wall_time=time.perf_counter() - t0)
