"""Figures of trajectory studies: training trajectories, the 2D latent space, BO diagnostics.

Latent maps are drawn with ``origin="lower"``: ``z_1`` to the right, ``z_2`` upwards. A
grid array ``(G*G,)`` is in the row-major order of
:func:`latentopt.latent.latent_grid` (row ``i`` holds ``z_2 = axes[1][i]``).
Polarization maps ``(2, N, N)`` follow ``docs/design.md`` (last axis x). Figures are built on
:class:`matplotlib.figure.Figure`, never through pyplot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from latentopt.plots.common import placeholder

__all__ = ["plot_best_history", "plot_bo_convergence", "plot_bo_surfaces", "plot_feasible_region",
           "plot_latent_parameters", "plot_trajectory_samples"]


def _extent(axes: Sequence[np.ndarray]) -> list[float]:
    a1, a2 = np.asarray(axes[0]), np.asarray(axes[1])
    h1, h2 = (a1[1] - a1[0]) / 2, (a2[1] - a2[0]) / 2
    return [a1[0] - h1, a1[-1] + h1, a2[0] - h2, a2[-1] + h2]


def _image(ax: Axes, values: np.ndarray, axes: Sequence[np.ndarray], title: str, cmap: str = "viridis", **kw):
    G = len(axes[0])
    im = ax.imshow(np.asarray(values, dtype=float).reshape(len(axes[1]), G), origin="lower",
                   extent=_extent(axes), aspect="auto", cmap=cmap, interpolation="nearest", **kw)
    ax.figure.colorbar(im, ax=ax, shrink=0.85)
    ax.set_title(title)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    return im


def plot_trajectory_samples(t: np.ndarray, trajectories: np.ndarray, params: np.ndarray,
                            names: Sequence[str], n_show: int = 12, ylabel: str = "$E / E_c$") -> Figure:
    """Training trajectories coloured by each family parameter (one panel per parameter).

    Parameters
    ----------
    t : ndarray, shape (T,)
    trajectories : ndarray, shape (n, T)
    params : ndarray, shape (n, k)
        Family parameters (NaN where a family lacks one).
    names : sequence of str, length k
    n_show : int
        Trajectories drawn per panel (the first ``n_show``; the set is shuffled).
    """
    x, p = np.asarray(trajectories), np.asarray(params, dtype=float)
    if x.ndim != 2 or p.ndim != 2 or len(p) != len(x) or p.shape[1] != len(names) or x.shape[1] != len(t):
        raise ValueError(f"shapes: t {np.shape(t)}, trajectories {x.shape}, params {p.shape}, {len(names)} names")
    k = max(1, len(names))
    fig = Figure(figsize=(3.6 * k, 3.2), layout="constrained")
    axs = np.atleast_1d(fig.subplots(1, k, sharey=True))
    sel = slice(0, min(n_show, len(x)))
    for j, ax in enumerate(axs):
        vals = p[sel, j] if len(names) else np.zeros(len(x[sel]))
        finite = np.isfinite(vals)
        lo, hi = (np.nanmin(vals), np.nanmax(vals)) if finite.any() else (0.0, 1.0)
        norm = mpl.colors.Normalize(lo, hi if hi > lo else lo + 1)
        cmap = mpl.colormaps["plasma"]
        for xi, v in zip(x[sel], vals):
            ax.plot(t, xi, color=cmap(norm(v)) if np.isfinite(v) else "0.6", lw=1)
        fig.colorbar(mpl.cm.ScalarMappable(norm, cmap), ax=ax, label=names[j] if len(names) else "")
        ax.set_xlabel("t")
    axs[0].set_ylabel(ylabel)
    return fig


def plot_latent_parameters(z: np.ndarray, params: np.ndarray, names: Sequence[str]) -> Figure:
    """Encoded training means ``z (n, 2)`` coloured by each family parameter (disentanglement map)."""
    z, p = np.asarray(z), np.asarray(params, dtype=float)
    if z.ndim != 2 or z.shape[1] != 2 or p.shape != (len(z), len(names)):
        raise ValueError(f"expected z (n, 2) and params (n, {len(names)}), got {z.shape}, {p.shape}")
    k = max(1, len(names))
    fig = Figure(figsize=(3.6 * k, 3.3), layout="constrained")
    for j, ax in enumerate(np.atleast_1d(fig.subplots(1, k, sharex=True, sharey=True))):
        sc = ax.scatter(z[:, 0], z[:, 1], c=p[:, j], s=3, cmap="plasma", rasterized=True)
        fig.colorbar(sc, ax=ax, shrink=0.85)
        ax.set_title(names[j])
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$")
    return fig


def plot_feasible_region(feasible: np.ndarray, axes: Sequence[np.ndarray], z_train: np.ndarray,
                         t: np.ndarray, trajectories: np.ndarray, n_sub: int = 5, ylabel: str = "$E / E_c$") -> Figure:
    """Feasible part of the latent grid with the training means, and decoded trajectories on a sub-grid.

    Parameters
    ----------
    feasible : ndarray of bool, shape (G*G,)
    axes : (axis1, axis2), each shape (G,)
    z_train : ndarray, shape (n, 2)
    t : ndarray, shape (T,)
    trajectories : ndarray, shape (G*G, T)
        Decoded grid trajectories.
    n_sub : int
        The decoded trajectories are shown on an ``n_sub x n_sub`` sub-grid (Biswas et al.
        2023, Fig. 5c-e); infeasible ones in red.
    """
    G = len(axes[0])
    ok = np.asarray(feasible, dtype=bool)
    if ok.shape != (G * len(axes[1]),):
        raise ValueError(f"feasible: expected shape ({G * len(axes[1])},), got {ok.shape}")
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1, 1.1])
    ax = left.subplots()
    ax.imshow(ok.reshape(len(axes[1]), G), origin="lower", extent=_extent(axes), aspect="auto", cmap="Greys_r",
              vmin=-0.5, vmax=1.5, interpolation="nearest")
    ax.scatter(*np.asarray(z_train)[:, :2].T, s=2, c="C0", alpha=0.5, rasterized=True, label="training means")
    ax.set_title(f"feasible: {ok.sum()} of {ok.size} grid points (light)")
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.legend(loc="upper right", markerscale=4, fontsize=8)
    sub = np.linspace(0, G - 1, n_sub).round().astype(int)
    sub2 = np.linspace(0, len(axes[1]) - 1, n_sub).round().astype(int)
    x = np.asarray(trajectories)
    grid_axes = right.subplots(n_sub, n_sub, sharex=True, sharey=True)
    for r in range(n_sub):          # row 0 at the top shows the largest z_2
        for c in range(n_sub):
            idx = sub2[n_sub - 1 - r] * G + sub[c]
            a = grid_axes[r, c]
            a.plot(t, x[idx], color="C0" if ok[idx] else "C3", lw=1)
            a.tick_params(labelsize=6)
    right.suptitle("decoded trajectories on a sub-grid (red: infeasible)", fontsize=10)
    right.supxlabel("t", fontsize=9)
    right.supylabel(ylabel, fontsize=9)
    return fig


def plot_bo_surfaces(axes: Sequence[np.ndarray], gp_mean: np.ndarray, gp_std: np.ndarray,
                     feasible: np.ndarray, z: np.ndarray, initial: np.ndarray, best_z: np.ndarray,
                     truth: np.ndarray | None = None, label: str = "objective") -> Figure:
    """Ground-truth surface next to the GP mean and standard deviation, with the explored points.

    The lecture's "reconstructed vs original curl surface". Infeasible grid points are
    blank. Initial random points are white circles, BO points red dots, the best point a
    star.
    """
    ok = np.asarray(feasible, dtype=bool)
    # (title, values, colour map, drawn on the ground truth's colour scale)
    panels = ([(f"ground truth: {label}", truth, "viridis", True)] if truth is not None else []) \
        + [(f"GP mean: {label}", gp_mean, "viridis", True), ("GP std", gp_std, "magma", False)]
    fig = Figure(figsize=(4.6 * len(panels), 4.0), layout="constrained")
    axs = np.atleast_1d(fig.subplots(1, len(panels), sharex=True, sharey=True))
    finite_truth = np.asarray(truth, dtype=float)[ok] if truth is not None else np.asarray(gp_mean)[ok]
    vmin, vmax = float(np.nanmin(finite_truth)), float(np.nanmax(finite_truth))
    z, initial = np.asarray(z), np.asarray(initial, dtype=bool)
    for ax, (title, values, cmap, shared_scale) in zip(axs, panels):
        v = np.where(ok, np.asarray(values, dtype=float), np.nan)
        _image(ax, v, axes, title, cmap=cmap, **(dict(vmin=vmin, vmax=vmax) if shared_scale else {}))
        ax.scatter(*z[initial].T, s=9, facecolors="none", edgecolors="white", lw=0.6, label="initial (random)")
        ax.scatter(*z[~initial].T, s=5, c="red", label="BO")
        ax.scatter(*np.asarray(best_z)[:2], marker="*", s=160, c="gold", edgecolors="black", label="best")
    axs[0].legend(loc="lower left", fontsize=7, framealpha=0.7)
    return fig


def plot_bo_convergence(runs: Mapping[str, Mapping[str, np.ndarray]], truth_max: float | None = None,
                        label: str = "objective") -> Figure:
    """Best-so-far vs evaluations for each BO run, with random search at the same budget.

    Parameters
    ----------
    runs : mapping
        Run name -> ``{"y": (k,), "n_initial": int, "random_best": (seeds, k)}``.
    truth_max : float, optional
        Ground-truth maximum (drawn with its 95% level).
    """
    if not runs:
        return placeholder("no optimization runs")
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.subplots()
    for i, (name, r) in enumerate(runs.items()):
        y = np.maximum.accumulate(np.asarray(r["y"], dtype=float))
        n = np.arange(1, len(y) + 1)
        ax.plot(n, y, color=f"C{i}", lw=2, label=f"{name} (BO)")
        rand = np.asarray(r["random_best"], dtype=float)
        if rand.size:
            q25, q50, q75 = np.percentile(rand, [25, 50, 75], axis=0)
            m = np.arange(1, rand.shape[1] + 1)
            ax.plot(m, q50, color=f"C{i}", ls="--", lw=1, label=f"random search, median of {len(rand)}")
            ax.fill_between(m, q25, q75, color=f"C{i}", alpha=0.15, lw=0,
                            label="random search, 25-75 % (each run's colour)" if i == 0 else None)
        ax.axvline(r["n_initial"] + 0.5, color=f"C{i}", ls=":", lw=0.8)
    if truth_max is not None:
        ax.axhline(truth_max, color="k", lw=0.8, label="ground-truth max")
        ax.axhline(0.95 * truth_max, color="k", lw=0.8, ls=":", label="95% of max")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("evaluations (dotted: end of random initialisation)")
    ax.set_ylabel(f"best {label} so far")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_best_history(t: np.ndarray, trajectory: np.ndarray, equilibration: int, p: np.ndarray,
                      curl_map: np.ndarray, title: str = "", ylabel: str = "$E / E_c$",
                      coercive: float = 1.0) -> Figure:
    """The best field history (with its equilibration segment) and its final polarization with the curl.

    Parameters
    ----------
    t : ndarray, shape (T,)
        Time axis of the trajectory.
    trajectory : ndarray, shape (T,)
        Field history, in the study's field unit.
    equilibration : int
        Steps holding the last value (drawn shaded).
    p : ndarray, shape (2, N, N)
        Final polarization map.
    curl_map : ndarray, shape (N, N)
        Its curl.
    title : str
    ylabel : str
        Label of the field axis (its unit).
    coercive : float
        The tetragonal coercive field ``E_c`` in that unit (1, or sqrt(2) in FerroSim's
        unit); dotted lines at plus and minus it.
    """
    p, c = np.asarray(p), np.asarray(curl_map)
    if p.ndim != 3 or p.shape[0] != 2 or c.shape != p.shape[1:]:
        raise ValueError(f"p (2, N, N) and curl (N, N) expected, got {p.shape}, {c.shape}")
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.3, 1])
    t = np.asarray(t, dtype=float)
    dt = t[1] - t[0] if len(t) > 1 else 1.0
    t_eq = t[-1] + dt * np.arange(0, equilibration + 1)
    ax1.plot(t, trajectory, color="C0", lw=1.5, label="decoded field history")
    ax1.plot(t_eq, np.full(len(t_eq), trajectory[-1]), color="C1", lw=1.5,
             label=f"equilibration ({equilibration} steps)")
    ax1.axvspan(t_eq[0], t_eq[-1], color="C1", alpha=0.1)
    for level in (-coercive, coercive):
        ax1.axhline(level, color="0.5", lw=0.6, ls=":")
    ax1.set_xlabel("t")
    ax1.set_ylabel(f"{ylabel} (dotted: $\\pm E_c$, 1D coercive field)")
    ax1.legend(fontsize=8)
    lim = float(np.abs(c).max()) or 1.0
    N = c.shape[0]
    im = ax2.imshow(c, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim, extent=[-0.5, N - 0.5, -0.5, N - 0.5])
    fig.colorbar(im, ax=ax2, shrink=0.85, label="$(\\nabla \\times p)_z$")
    yy, xx = np.mgrid[0:N, 0:N]
    ax2.quiver(xx, yy, p[0], p[1], pivot="middle", color="black", width=0.004)
    ax2.set_title("final polarization and its curl")
    ax2.set_xlabel("x")
    ax2.set_ylabel("y")
    if title:
        fig.suptitle(title)
    return fig
