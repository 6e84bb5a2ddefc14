"""Requested vs realized: how closely generated states follow the property they were asked for.

Mills et al. 2019 compare the energies requested through the conditioning label with the
energies of the generated states by a two-sample Kolmogorov-Smirnov test (KS 0.02, p 0.19
at the training size; 0.02, p 0.18 at four times the area). Here the KS test
(:func:`scipy.stats.ks_2samp`, two-sided, exact/asymptotic as scipy chooses) is reported
together with the per-state agreement: Pearson r and the mean absolute error. The KS test
compares only the two marginal distributions; r and MAE require each state to match its
own request.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def compare_requested_realized(requested: np.ndarray, realized: np.ndarray) -> dict[str, float]:
    """KS statistic and p-value, Pearson r and mean absolute error between paired values.

    Parameters
    ----------
    requested, realized : ndarray, shape (n,)
        Requested and realized values (e.g. energies per spin, J), paired by index,
        ``n >= 2``, finite.

    Returns
    -------
    dict
        ``ks``, ``p_value`` (two-sample KS of the two marginals), ``pearson_r``
        (NaN if either set is constant), ``mae`` (mean ``|realized - requested|``),
        ``bias`` (mean ``realized - requested``), ``n``.

    Raises
    ------
    ValueError
        On mismatched shapes, fewer than 2 pairs or non-finite values.
    """
    a = np.asarray(requested, dtype=np.float64)
    b = np.asarray(realized, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"requested, realized: expected two 1-D arrays of equal length, got {a.shape}, {b.shape}")
    if len(a) < 2:
        raise ValueError(f"requested: need at least 2 pairs, got {len(a)}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("requested, realized: contain NaN or inf")
    ks = stats.ks_2samp(a, b)
    r = float(stats.pearsonr(a, b).statistic) if a.std() > 0 and b.std() > 0 else float("nan")
    return {"ks": float(ks.statistic), "p_value": float(ks.pvalue), "pearson_r": r,
            "mae": float(np.abs(b - a).mean()), "bias": float((b - a).mean()), "n": int(len(a))}


def ks_distance(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Two-sample KS statistic and p-value of two unpaired samples (any lengths >= 1).

    Returns
    -------
    dict
        ``ks``, ``p_value``.
    """
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise ValueError(f"a, b: expected non-empty samples, got sizes {a.size}, {b.size}")
    ks = stats.ks_2samp(a, b)
    return {"ks": float(ks.statistic), "p_value": float(ks.pvalue)}
