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

import math

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
        ``bias`` (mean ``realized - requested``), ``cold_decile_bias`` (the same mean over the
        ``ceil(n / 10)`` pairs of the lowest requested values: for energies, how much too warm
        the coldest requests come out), ``n``.

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
            "mae": float(np.abs(b - a).mean()), "bias": float((b - a).mean()),
            "cold_decile_bias": decile_bias(a, b, "cold"), "n": int(len(a))}


def decile_bias(requested: np.ndarray, realized: np.ndarray, end: str = "cold") -> float:
    """Mean ``realized - requested`` over the ``ceil(n / 10)`` pairs at one end of the requests.

    ``end="cold"``: the pairs of the lowest requested values (for energies per spin, how much
    too warm the coldest requests come out; ``cold_decile_bias`` of
    :func:`compare_requested_realized`); ``"hot"``: those of the highest. Ties keep their
    order (stable sort).

    Parameters
    ----------
    requested, realized : ndarray, shape (n,)
        Paired values, ``n >= 1`` (units of the values, e.g. J per spin).
    end : {"cold", "hot"}

    Returns
    -------
    float

    Raises
    ------
    ValueError
        On mismatched shapes, no pairs or another ``end``.
    """
    a = np.asarray(requested, dtype=np.float64)
    b = np.asarray(realized, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or len(a) == 0:
        raise ValueError(f"requested, realized: expected two non-empty 1-D arrays of equal length, got {a.shape}, "
                         f"{b.shape}")
    if end not in ("cold", "hot"):
        raise ValueError(f"end: expected 'cold' or 'hot', got {end!r}")
    n = math.ceil(len(a) / 10)
    order = np.argsort(a, kind="stable")
    idx = order[:n] if end == "cold" else order[-n:]
    return float((b[idx] - a[idx]).mean())


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


def fit_calibration(labels: np.ndarray, realized: np.ndarray, n_knots: int = 32) -> dict[str, list[float]]:
    """Monotone map from a conditioning label to the mean realized value, for inverting the conditioning.

    A conditional generator whose realized values follow the label with a systematic,
    label-dependent bias ``E[realized | label] = g(label)`` is corrected by requesting
    ``g^{-1}(target)`` instead of ``target``. ``g`` is fitted by isotonic (non-decreasing)
    least-squares regression (:class:`sklearn.isotonic.IsotonicRegression`) of ``realized``
    on ``labels`` and tabulated at ``n_knots`` quantiles of the labels.

    Parameters
    ----------
    labels, realized : ndarray, shape (n,)
        Labels fed to the generator and the exact values of the generated states.
    n_knots : int
        Table size (>= 2).

    Returns
    -------
    dict
        ``label`` and ``realized``: lists of ``n_knots`` floats, both non-decreasing
        (plain lists, so the table can be stored as JSON or in a model file).

    Raises
    ------
    ValueError
        On mismatched or too short inputs, or ``n_knots < 2``.
    """
    from sklearn.isotonic import IsotonicRegression

    a = np.asarray(labels, dtype=np.float64)
    b = np.asarray(realized, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or len(a) < 2:
        raise ValueError(f"labels, realized: expected two 1-D arrays of equal length >= 2, got {a.shape}, {b.shape}")
    if n_knots < 2:
        raise ValueError(f"n_knots: expected an int >= 2, got {n_knots}")
    iso = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(a, b)
    knots = np.unique(np.quantile(a, np.linspace(0.0, 1.0, n_knots)))
    return {"label": knots.tolist(), "realized": iso.predict(knots).tolist()}


def invert_calibration(table: dict[str, list[float]], targets: np.ndarray) -> np.ndarray:
    """Labels to request so that the calibrated mean realized value equals ``targets``.

    Piecewise-linear inverse of the table of :func:`fit_calibration`; flat stretches of
    the fitted map are resolved at their midpoint, targets outside the realized range are
    clipped to the end labels.

    Parameters
    ----------
    table : dict
        ``label``, ``realized`` (non-decreasing lists of equal length).
    targets : ndarray, shape (n,)

    Returns
    -------
    ndarray, shape (n,), float64
    """
    lab = np.asarray(table["label"], dtype=np.float64)
    real = np.asarray(table["realized"], dtype=np.float64)
    if lab.ndim != 1 or lab.shape != real.shape or len(lab) < 2 or np.any(np.diff(real) < 0):
        raise ValueError("table: expected non-decreasing 'label' and 'realized' lists of equal length >= 2")
    # collapse flat stretches of the realized values to the mean of their labels
    uniq, inv = np.unique(real, return_inverse=True)
    lab_mid = np.bincount(inv, weights=lab) / np.bincount(inv)
    if len(uniq) == 1:
        return np.full(np.shape(targets), lab_mid[0])
    return np.interp(np.asarray(targets, dtype=np.float64), uniq, lab_mid)
