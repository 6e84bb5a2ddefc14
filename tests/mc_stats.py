"""Equilibrium statistics of Monte Carlo chains with honest errors (helper of the heat-bath tests).

Each chain runs ``burn_in`` sweeps at fixed temperature, then records energy per spin and
M_z every ``spacing`` sweeps. Records within a chain are autocorrelated; chains are
independent. Errors are therefore computed over chains: the mean of a quantity is the
mean of the chain means, with the standard error of the chain means (which contains the
integrated autocorrelation time exactly, however long it is), and its variance is
estimated from the pooled first and second moments with a jackknife over chains.

Energies are computed with the torch version of the Hamiltonian in float64 (identical
conventions, tested against the numba one): numba's parallel energy kernel would leave
OpenMP workers spinning between the chain segments, which slows a torch sampler sharing
the process severalfold on a busy two-core machine.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

import torch

from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.physics.torch_physics import energy_per_spin

#: ``run(initial or None, segment, n_sweeps) -> spins (n, 3, L, L)``: continue every chain by ``n_sweeps``
#: sweeps at the fixed temperature from ``initial`` (random states when None) with fresh randomness per segment
Runner = Callable[[np.ndarray | None, int, int], np.ndarray]


def chain_records(run: Runner, model: ChiralMagnet, burn_in: int, records: int, spacing: int) -> dict[str, np.ndarray]:
    """Energy per spin and M_z of every chain at ``records`` times after ``burn_in``; arrays ``(n_chains, records)``."""
    spins = run(None, 0, burn_in)
    e, mz = [], []
    for k in range(records):
        spins = run(spins, k + 1, spacing)
        e.append(energy_per_spin(torch.as_tensor(spins, dtype=torch.float64), model).numpy())
        mz.append(spins[:, 2].mean(axis=(-2, -1)))
    return {"energy": np.stack(e, axis=1), "Mz": np.stack(mz, axis=1)}


def mean_and_variance(q: np.ndarray) -> tuple[float, float, float, float]:
    """``(mean, its error, variance, its error)`` of records ``q (n_chains, records)``; errors over chains."""
    m1, m2 = q.mean(axis=1), (q * q).mean(axis=1)
    c = len(m1)
    mean, err_mean = m1.mean(), m1.std(ddof=1) / np.sqrt(c)
    var = m2.mean() - mean**2
    # jackknife over chains for the variance
    s1, s2 = m1.sum(), m2.sum()
    jack = (s2 - m2) / (c - 1) - ((s1 - m1) / (c - 1)) ** 2
    err_var = np.sqrt((c - 1) / c * ((jack - jack.mean()) ** 2).sum())
    return float(mean), float(err_mean), float(var), float(err_var)


def assert_same_distribution(a: dict[str, np.ndarray], b: dict[str, np.ndarray], n_sigma: float = 5.0,
                             mean_resolution: float = 0.05, var_resolution: float = 0.15) -> dict[str, tuple]:
    """Assert that means and variances of every recorded quantity agree within ``n_sigma`` combined errors.

    Against a vacuous pass, the combined error of each mean must be below
    ``mean_resolution`` standard deviations of the quantity and that of each variance below
    ``var_resolution`` times the variance. Returns ``(mean_a, mean_b, err, var_a, var_b,
    err)`` per quantity.
    """
    out = {}
    for key in a:
        ma, ea, va, eva = mean_and_variance(a[key])
        mb, eb, vb, evb = mean_and_variance(b[key])
        err_m, err_v = float(np.hypot(ea, eb)), float(np.hypot(eva, evb))
        out[key] = (ma, mb, err_m, va, vb, err_v)
        assert err_m < mean_resolution * np.sqrt(max(va, vb)), f"{key}: too few samples to resolve the mean {out[key]}"
        assert err_v < var_resolution * max(va, vb), f"{key}: too few samples to resolve the variance {out[key]}"
        assert abs(ma - mb) < n_sigma * err_m, f"{key} means differ: {ma} vs {mb} +- {err_m}"
        assert abs(va - vb) < n_sigma * err_v, f"{key} variances differ: {va} vs {vb} +- {err_v}"
    return out
