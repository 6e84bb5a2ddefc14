"""Curl of FerroSIM polarization maps and the lecture's curl objectives.

Maps are ``(..., 2, N, N)`` with channels ``(p_x, p_y)``, axis -1 x and axis -2 y
(docs/design.md, "Physics conventions"); :func:`curl` relates this to FerroSim's
``calc_curl``, which takes axis -2 as x.
"""

from __future__ import annotations

import numpy as np

from .ferrosim_lattice import BOUNDARIES


def curl(p: np.ndarray, boundary: str = "periodic") -> np.ndarray:
    """Discrete curl ``(curl p)_z = dp_y/dx - dp_x/dy`` of polarization maps.

    Central differences (lattice constant 1): with periodic wrap-around on a
    ``"periodic"`` and on a ``"ferrosim"`` lattice, one-sided differences on the edges of
    an ``"open"`` one (:func:`numpy.gradient`). A counter-clockwise vortex ``p = (-y, x)``
    has curl ``+2``.

    On a ``"ferrosim"`` lattice the curl wraps around as FerroSim's ``calc_curl`` does
    (its indices ``i - 1`` and ``(i + 1) % N`` wrap although its lattice does not), so
    that the objective means what the lecture's did; the edge terms then difference
    sites on opposite, uncoupled edges.

    Axes: FerroSim's ``calc_curl`` takes array axis -2 (its first lattice index) as x and
    axis -1 as y; latentopt takes axis -1 as x (``docs/design.md``). On the same map ``P``
    (shape ``(2, N, N)``) ``calc_curl(P) == curl(P.swapaxes(-1, -2), "periodic").T``
    (checked against FerroSim's code to 2e-16 on a random 7 x 7 map), so
    ``sum |calc_curl(P)| == curl_objective(P.swapaxes(-1, -2))``; ``curl_objective(P)``
    itself differs (e.g. 34.74 against 35.84 on that map). The dynamics do not mix
    lattice axes with polarization components (isotropic coupling, uniform field), so
    both conventions describe statistically equal lattices; only a given map's curl
    depends on which axis is x.

    Parameters
    ----------
    p : ndarray, shape (..., 2, N, N)
        Channels ``(p_x, p_y)``; axis -1 is x, axis -2 is y.
    boundary : {"periodic", "open", "ferrosim"}

    Returns
    -------
    ndarray, shape (..., N, N)
    """
    p = np.asarray(p, dtype=np.float64)
    if p.ndim < 3 or p.shape[-3] != 2:
        raise ValueError(f"p: expected shape (..., 2, N, N), got {p.shape}")
    px, py = p[..., 0, :, :], p[..., 1, :, :]
    if boundary in ("periodic", "ferrosim"):
        dpy_dx = 0.5 * (np.roll(py, -1, axis=-1) - np.roll(py, 1, axis=-1))
        dpx_dy = 0.5 * (np.roll(px, -1, axis=-2) - np.roll(px, 1, axis=-2))
    elif boundary == "open":
        if p.shape[-1] < 2:
            return np.zeros(p.shape[:-3] + p.shape[-2:])
        dpy_dx = np.gradient(py, axis=-1)
        dpx_dy = np.gradient(px, axis=-2)
    else:
        raise ValueError(f"boundary: expected one of {BOUNDARIES}, got {boundary!r}")
    return dpy_dx - dpx_dy


#: objectives of a final polarization map, see :func:`curl_objective`
OBJECTIVES = ("curl", "curl_normalized", "curl_unit")


def curl_objective(p: np.ndarray, kind: str = "curl", boundary: str = "periodic", eps: float = 1e-3) -> np.ndarray:
    """Scalar curl objectives of final polarization maps (the lecture's target functions).

    - ``"curl"``: ``sum_sites |curl p|``.
    - ``"curl_normalized"``: ``sum_sites |curl p| / max(|<p>|, eps)``, the curl per unit
      net polarization.
    - ``"curl_unit"``: ``sum_sites |curl (p / |p|)|``, the curl of the normalized vectors
      (the lecture's "normalized curl": how much the field rotates regardless of
      magnitude).

    Parameters
    ----------
    p : ndarray, shape (..., 2, N, N)
    kind : {"curl", "curl_normalized", "curl_unit"}
    boundary : {"periodic", "open", "ferrosim"}
        Edge treatment of :func:`curl` (whose docstring relates it to FerroSim's
        ``calc_curl``: same objective on the map with its two lattice axes swapped).
    eps : float
        Floor of ``|<p>|`` (curl_normalized) and ``|p|`` (curl_unit).

    Returns
    -------
    ndarray, shape (...)
    """
    p = np.asarray(p, dtype=np.float64)
    if kind == "curl":
        return np.abs(curl(p, boundary)).sum(axis=(-2, -1))
    if kind == "curl_normalized":
        mean = np.hypot(p[..., 0, :, :].mean(axis=(-2, -1)), p[..., 1, :, :].mean(axis=(-2, -1)))
        return np.abs(curl(p, boundary)).sum(axis=(-2, -1)) / np.maximum(mean, eps)
    if kind == "curl_unit":
        norm = np.maximum(np.hypot(p[..., 0, :, :], p[..., 1, :, :]), eps)
        return np.abs(curl(p / norm[..., None, :, :], boundary)).sum(axis=(-2, -1))
    raise ValueError(f"objective: expected one of {OBJECTIVES}, got {kind!r}")
