"""Figures of transitions studies: minimum energy paths, saddle snapshots, W along the path,
meta-learning curves, convergence bands (Bushuev & Lobanov 2020, Figs. 1b and 2), methods table.

Energies are in units of J relative to the initial state (the ``transitions/<run>.h5``
contract); arc lengths are geodesic distances in radians. Spin states follow
:mod:`latentopt.plots` (hue = in-plane angle, lightness = s_z). Figures are built on
:class:`matplotlib.figure.Figure`, never through pyplot.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from latentopt.plots import plot_spin_grid

__all__ = ["plot_energy_path", "plot_path_snapshots", "plot_path_charge", "plot_meta_loss", "plot_convergence_bands",
           "methods_table_rows", "plot_methods_table"]


def _vec(x, name: str, n: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1 or (n is not None and len(a) != n) or len(a) == 0:
        want = f"({n},)" if n is not None else "(k,), k >= 1"
        raise ValueError(f"{name}: expected shape {want}, got {a.shape}")
    return a


def plot_energy_path(runs: Mapping[str, Mapping[str, np.ndarray]], title: str | None = None) -> Figure:
    """Energy along the path: images (markers), the Hermite interpolation (line), the barrier.

    Parameters
    ----------
    runs : mapping run name -> dict
        Each with ``arc (m,)``, ``energy (m,)``, ``profile_s (k,)``, ``profile_e (k,)``,
        ``barrier``, ``saddle_index`` (the ``transitions/<run>.h5`` datasets). The arc length
        is normalized to [0, 1] per run (reaction coordinate).
    title : str, optional

    Returns
    -------
    Figure
        One axes; the climbing image of each run is circled and its ``Delta E`` given in the legend.
    """
    if not runs:
        raise ValueError("runs: expected at least one run")
    fig = Figure(figsize=(6.0, 3.8), layout="constrained")
    ax = fig.subplots()
    for i, (name, d) in enumerate(runs.items()):
        arc = _vec(d["arc"], f"{name}.arc")
        e = _vec(d["energy"], f"{name}.energy", len(arc))
        ps, pe = _vec(d["profile_s"], f"{name}.profile_s"), _vec(d["profile_e"], f"{name}.profile_e")
        length = arc[-1] if arc[-1] > 0 else 1.0
        c = f"C{i % 10}"
        k = int(d["saddle_index"])
        ax.plot(ps / length, pe, color=c, lw=1.2)
        ax.plot(arc / length, e, "o", color=c, ms=4, label=f"{name}: $\\Delta E$ = {float(d['barrier']):.4f} J")
        ax.plot([arc[k] / length], [e[k]], "o", ms=10, mfc="none", mec=c, mew=1.5)
    ax.axhline(0.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("reaction coordinate (geodesic arc length / total)")
    ax.set_ylabel("$E - E_{initial}$ (J)")
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def plot_path_snapshots(path: np.ndarray, saddle_index: int, energy: np.ndarray | None = None,
                        W: np.ndarray | None = None, n_between: int = 0) -> Figure:
    """End states and the saddle (climbing image), optionally with ``n_between`` images on each side.

    Parameters
    ----------
    path : ndarray, shape (m, 3, L, L)
    saddle_index : int
    energy, W : ndarray, shape (m,), optional
        Shown in the panel titles.
    n_between : int
        Extra evenly spaced images between each end and the saddle.
    """
    p = np.asarray(path, dtype=float)
    if p.ndim != 4 or p.shape[1] != 3:
        raise ValueError(f"path: expected (m, 3, L, L), got {p.shape}")
    m = len(p)
    k = int(saddle_index)
    if not 0 <= k < m:
        raise ValueError(f"saddle_index: expected 0 <= index < {m}, got {saddle_index}")
    left = np.linspace(0, k, n_between + 2).round().astype(int)[:-1]
    right = np.linspace(k, m - 1, n_between + 2).round().astype(int)[1:]
    idx = list(dict.fromkeys([*left.tolist(), k, *right.tolist()]))
    titles = []
    for i in idx:
        name = "initial" if i == 0 else "final" if i == m - 1 else "saddle" if i == k else f"image {i}"
        extra = []
        if energy is not None:
            extra.append(f"E={float(energy[i]):.3f}")
        if W is not None:
            extra.append(f"W={float(W[i]):.2f}")
        titles.append(f"{name}" + (f"\n{', '.join(extra)}" if extra else ""))
    return plot_spin_grid(p[idx], titles=titles, ncols=len(idx))


def plot_path_charge(runs: Mapping[str, Mapping[str, np.ndarray]]) -> Figure:
    """Topological charge W of every image against the normalized reaction coordinate (W: -1 -> 0 for a collapse)."""
    if not runs:
        raise ValueError("runs: expected at least one run")
    fig = Figure(figsize=(5.5, 3.2), layout="constrained")
    ax = fig.subplots()
    for i, (name, d) in enumerate(runs.items()):
        arc = _vec(d["arc"], f"{name}.arc")
        w = _vec(d["W"], f"{name}.W", len(arc))
        ax.step(arc / (arc[-1] if arc[-1] > 0 else 1.0), w, where="mid", marker="o", ms=3, color=f"C{i % 10}",
                label=name)
        k = int(d["saddle_index"])
        ax.axvline(arc[k] / arc[-1], color=f"C{i % 10}", lw=0.8, ls="--")
    ax.set_xlabel("reaction coordinate")
    ax.set_ylabel("topological charge W")
    ax.legend(fontsize="small")
    return fig


def plot_meta_loss(train_loss: np.ndarray, test_loss: np.ndarray, steps_per_epoch: int,
                   param_history: np.ndarray | None = None) -> Figure:
    """Meta-learning loss ``L = mean ln rho`` per update (train) and per epoch (held-out test); Fig. 1b of the paper.

    Parameters
    ----------
    train_loss : ndarray, shape (epochs * steps_per_epoch,)
    test_loss : ndarray, shape (epochs + 1,)
        Before training and after each epoch.
    steps_per_epoch : int
    param_history : ndarray, shape (updates + 1, 3), optional
        ``(gamma, mu, beta)``; drawn in a second panel.
    """
    tr = _vec(train_loss, "train_loss")
    te = _vec(test_loss, "test_loss")
    spe = int(steps_per_epoch)
    if spe < 1 or len(tr) != (len(te) - 1) * spe:
        raise ValueError(f"train_loss ({len(tr)}) and test_loss ({len(te)}) do not match steps_per_epoch = {spe}")
    n = 2 if param_history is not None else 1
    fig = Figure(figsize=(5.2 * n, 3.4), layout="constrained")
    axs = np.atleast_1d(fig.subplots(1, n))
    ax = axs[0]
    ax.plot(np.arange(len(tr)) / spe, tr, ".", ms=3, color="C0", label="train (per update)")
    ax.plot(np.arange(len(te)), te, "o-", ms=4, color="C3", label="test (held-out paths)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss $L = \\langle \\ln \\rho \\rangle$")
    ax.legend(fontsize="small")
    if param_history is not None:
        ph = np.asarray(param_history, dtype=float)
        if ph.ndim != 2 or ph.shape[1] != 3:
            raise ValueError(f"param_history: expected (updates + 1, 3), got {ph.shape}")
        x = np.arange(len(ph)) / spe
        for j, name in enumerate(("$\\gamma$", "$\\mu$", "$\\beta$")):
            axs[1].semilogy(x, ph[:, j], label=name)
        axs[1].set_xlabel("epoch")
        axs[1].set_ylabel("parameter")
        axs[1].legend(fontsize="small")
    return fig


def _bands(ax, y: np.ndarray, color: str, label: str, log: bool = True) -> None:
    k = np.arange(y.shape[0])
    with warnings.catch_warnings():  # iterations where every path is below the floor: NaN, not drawn
        warnings.simplefilter("ignore", RuntimeWarning)
        pct = np.nanpercentile(y, [0, 10, 50, 90, 100], axis=1)
    ax.fill_between(k, pct[0], pct[4], color=color, alpha=0.15, lw=0)
    ax.fill_between(k, pct[1], pct[3], color=color, alpha=0.35, lw=0)
    ax.plot(k, pct[2], color=color, lw=1.5, label=f"{label} (median; 10-90%, 0-100%)")
    if log:
        ax.set_yscale("log")


def plot_convergence_bands(delta_initial: np.ndarray, delta_learned: np.ndarray,
                           params: Mapping[str, Mapping[str, float]] | None = None, floor: float = 1e-16) -> Figure:
    """Barrier error and convergence rate against the iteration, percentile bands over paths (Fig. 2 of the paper).

    Parameters
    ----------
    delta_initial, delta_learned : ndarray, shape (iterations + 1, P)
        ``Delta^(k) = Q[S^(k)] - Q0`` for the initial and the learned parameters.
    params : mapping, optional
        ``{"initial": {gamma, mu, beta}, "learned": {...}}`` for the labels.
    floor : float
        Errors are clipped below at ``floor`` for the log scale (rounding level).

    Returns
    -------
    Figure
        Left: ``Delta^(k)``; right: ``rho^(k) = Delta^(k+1) / Delta^(k)``.
    """
    d0, d1 = (np.asarray(d, dtype=float) for d in (delta_initial, delta_learned))
    for name, d in (("delta_initial", d0), ("delta_learned", d1)):
        if d.ndim != 2 or d.shape[0] < 2:
            raise ValueError(f"{name}: expected (iterations + 1, P) with >= 2 iterations, got {d.shape}")
    fig = Figure(figsize=(10.5, 3.6), layout="constrained")
    ax_d, ax_r = fig.subplots(1, 2)
    for d, c, key in ((d0, "C0", "initial"), (d1, "C3", "learned")):
        lab = key
        if params and key in params:
            p = params[key]
            lab = f"{key} ($\\gamma$={p['gamma']:.3g}, $\\mu$={p['mu']:.3g}, $\\beta$={p['beta']:.3g})"
        dc = np.clip(d, floor, None)
        _bands(ax_d, dc, c, lab)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = dc[1:] / dc[:-1]
        rate[(dc[1:] <= floor) | (dc[:-1] <= floor)] = np.nan  # below rounding: undefined
        _bands(ax_r, rate, c, lab)
    ax_d.axhline(1e-6, color="0.4", ls=":", lw=0.8)
    ax_d.set_xlabel("iteration k")
    ax_d.set_ylabel("barrier error $\\Delta^{(k)}$")
    ax_r.axhline(1.0, color="0.4", ls=":", lw=0.8)
    ax_r.set_xlabel("iteration k")
    ax_r.set_ylabel("rate $\\rho^{(k)} = \\Delta^{(k+1)} / \\Delta^{(k)}$")
    ax_d.legend(fontsize="x-small")
    return fig


def methods_table_rows(metrics: Mapping) -> list[list[str]]:
    """Rows (header first) of the methods table from ``metrics.json``: run, method, initial path,
    iterations, force evaluations, wall time, barrier, doubled-image change, negative modes."""
    header = ["run", "initial path", "converged", "iterations", "force evals", "time (s)", "ΔE (J)",
              "ΔE shift, 2x images", "negative modes"]
    rows = [header]
    for name, r in metrics.get("runs", {}).items():
        ch = r.get("barrier_change_doubled")
        rows.append([name, str(r.get("initial_path", "geodesic")), "yes" if r.get("converged") else "NO",
                     str(r["iterations"]), str(r["force_evaluations"]), f"{r['wall_time']:.2f}", f"{r['barrier']:.5f}",
                     "" if ch is None else f"{ch:+.1e}", str(r.get("negative_modes", ""))])
    return rows


def plot_methods_table(metrics: Mapping, title: str | None = None) -> Figure:
    """The methods table (:func:`methods_table_rows`) drawn as a figure."""
    rows = methods_table_rows(metrics)
    if len(rows) < 2:
        raise ValueError("metrics: no runs to tabulate")
    fig = Figure(figsize=(11.0, 0.45 * len(rows) + 0.6), layout="constrained")
    ax = fig.subplots()
    ax.axis("off")
    table = ax.table(cellText=rows[1:], colLabels=rows[0], loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1.0, 1.3)
    if title:
        ax.set_title(title)
    return fig
