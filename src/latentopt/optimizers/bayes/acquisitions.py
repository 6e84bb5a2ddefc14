"""Acquisition functions of zBO and the early-stop gain.

For maximization, with ``mu, sigma`` the GP posterior at a candidate and ``y*`` the best
observation (Biswas et al. 2023, Table 1 step 8; the lecture's UCB):

- ``ei``:  ``E[max(y - y* - xi, 0)] = (mu - y* - xi) Phi(u) + sigma phi(u)``, ``u = (mu - y* - xi) / sigma``
- ``pi``:  ``P(y > y* + xi) = Phi(u)``
- ``ucb``: ``mu + kappa sigma`` (the lecture: ``kappa = 10``)

Early stop (Biswas et al.: "the acquisition function value goes to negligible"): the best
acquisition value of an iteration is turned into a *gain* (:func:`early_stop_gain`) and BO
stops when the gain falls below ``tol``.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

ACQUISITIONS = ("ei", "pi", "ucb")


def check_acquisition(kind: str) -> None:
    """Raise ValueError unless ``kind`` is one of :data:`ACQUISITIONS`."""
    if kind not in ACQUISITIONS:
        raise ValueError(f"acquisition: expected one of {ACQUISITIONS}, got {kind!r}")


def acquisition(kind: str, mean: np.ndarray, std: np.ndarray, y_best: float, kappa: float = 10.0,
                xi: float = 0.0) -> np.ndarray:
    """Acquisition values for maximization (module docstring); ``std = 0`` gives ``EI = max(mu - y* - xi, 0)``.

    Parameters
    ----------
    kind : {"ei", "pi", "ucb"}
    mean, std : ndarray, shape (m,)
        GP posterior.
    y_best : float
        Best observation so far.
    kappa : float
        UCB exploration weight.
    xi : float
        EI / PI improvement margin.

    Returns
    -------
    ndarray, shape (m,)

    Raises
    ------
    ValueError
        On an unknown ``kind``.
    """
    check_acquisition(kind)
    if kind == "ucb":
        return mean + kappa * std
    improvement = mean - y_best - xi
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(std > 0, improvement / std, np.where(improvement > 0, np.inf, -np.inf))
    if kind == "pi":
        return norm.cdf(u)
    return np.where(std > 0, improvement * norm.cdf(u) + std * norm.pdf(u), np.maximum(improvement, 0.0))


def early_stop_gain(kind: str, best_acquisition: float, y: np.ndarray) -> float:
    """The early-stop gain: an iteration's best acquisition value on the scale of the observations.

    ``max EI / span`` for EI, ``max PI`` for PI and ``(max UCB - y*) / span`` for UCB, with
    ``span = max(y) - min(y)`` (1 when all observations are equal) and ``y* = max(y)``: the
    expected improvement and the optimistic improvement relative to the observed range, and
    the probability of improvement as it is. A run stops when the gain falls below its
    ``tol`` (Biswas et al. 2023: "the acquisition function value goes to negligible").

    Parameters
    ----------
    kind : {"ei", "pi", "ucb"}
    best_acquisition : float
        Largest :func:`acquisition` value over the unexplored candidates.
    y : ndarray, shape (k,)
        The observations the GP was fitted to.

    Returns
    -------
    float
    """
    span = float(np.ptp(y)) or 1.0
    if kind == "ei":
        return best_acquisition / span
    if kind == "pi":
        return best_acquisition
    return (best_acquisition - float(y.max())) / span
