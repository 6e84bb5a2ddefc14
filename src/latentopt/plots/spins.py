"""Figures of spin studies (Park et al. 2022): energy densities, optimizer traces, W vs M_z.

Conventions (colouring, axes, validation) are those of :mod:`latentopt.plots.common`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Union

import numpy as np
from matplotlib.figure import Figure

from latentopt.plots.common import (as_map_batch, as_spin_batch, as_vector, check_nonempty, check_titles,
                                    color_wheel_legend, draw_spins, hide_ticks, image_grid, mark_sites,
                                    plot_spin_grid, site_markersize)


MARKERS = ("*", "D", "^", "s", "P", "X", "v", "p", "h", "<", ">", "o")
"""Marker cycle for highlighted points in :func:`plot_w_vs_mz`."""


Trace = Union[np.ndarray, tuple[np.ndarray, str]]


def plot_energy_histograms(densities: Mapping[str, np.ndarray], bins: int = 100,
                           threshold: float | None = None) -> Figure:
    """Histograms of local energy densities, as Fig. 3c of Park et al. (2022).

    Parameters
    ----------
    densities : dict of str to array_like
        Label (e.g. ``"X_IN"``, ``"X_VAE"``, ``"X'_VAE"``) -> energy densities, units of
        J, any shape (flattened).
    bins : int
        Number of bins, shared by all sets (edges span the pooled range).
    threshold : float, optional
        Nodal-point threshold on the energy density (J), drawn as a dashed vertical line.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: density-normalised step histograms on a log y axis; the legend sits
        outside it, right.
    """
    check_nonempty(densities, "densities")
    values = {label: np.asarray(v, dtype=float).ravel() for label, v in densities.items()}
    for label, v in values.items():
        if v.size == 0 or not np.all(np.isfinite(v)):
            raise ValueError(f"densities[{label!r}]: expected a non-empty finite array")
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins: expected a positive integer, got {bins!r}")
    edges = np.histogram_bin_edges(np.concatenate(list(values.values())), bins=bins)

    fig = Figure(figsize=(7.5, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for label, v in values.items():
        ax.hist(v, bins=edges, density=True, histtype="step", linewidth=1.5, label=label)
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1.0,
                   label=f"nodal threshold ε = {threshold:.3g} J")
    ax.set_yscale("log")
    ax.set_xlabel("local energy density ε (J)")
    ax.set_ylabel("probability density (1/J)")
    fig.legend(loc="outside right upper", frameon=False)
    return fig


def plot_energy_density_maps(spins, densities, nodal_masks, titles: Sequence[str] | None = None) -> Figure:
    """Spin images above their energy-density maps, with nodal points circled.

    Parameters
    ----------
    spins : array_like, shape (n, 3, L, L) or (3, L, L)
        Spin states.
    densities : array_like, shape (n, L, L) or (L, L)
        Local energy density of each site, J.
    nodal_masks : array_like of bool, shape (n, L, L) or (L, L)
        Nodal-point sites, circled on both rows.
    titles : sequence of str, optional
        One title per state (above the spin image).

    Returns
    -------
    matplotlib.figure.Figure
        ``2 n + 2`` axes: the n spin panels, the n density panels, the colour wheel and
        the colour bar (shared scale over all maps, colormap ``inferno``).
    """
    batch = as_spin_batch(spins)
    shape = (batch.shape[0], *batch.shape[2:])
    energy = as_map_batch(densities, shape, "densities")
    nodal = as_map_batch(nodal_masks, shape, "nodal_masks", dtype=bool)
    if not np.all(np.isfinite(energy)):
        raise ValueError("densities: contains NaN or inf")
    titles = check_titles(titles, len(batch))
    n = len(batch)
    markersize = site_markersize(max(shape[1:]))

    fig, grid = image_grid(n, nrows=2)
    for i, (state, eps, mask, title) in enumerate(zip(batch, energy, nodal, titles)):
        top, bottom = fig.add_subplot(grid[0, i]), fig.add_subplot(grid[1, i])
        draw_spins(top, state, title)
        image = bottom.imshow(eps, origin="lower", interpolation="nearest", cmap="inferno",
                              vmin=energy.min(), vmax=energy.max())
        hide_ticks(bottom)
        for ax in (top, bottom):
            mark_sites(ax, mask, markersize)
        if i == 0:
            top.set_ylabel("spins")
            bottom.set_ylabel("energy density")
    color_wheel_legend(fig.add_subplot(grid[0, -1]))
    cax = fig.add_subplot(grid[1, -1])
    cax.set_box_aspect(12.0)
    fig.colorbar(image, cax=cax, label="ε (J)")
    return fig


def _group_traces(traces: Mapping[str, Trace], default_objective: str | None
                  ) -> dict[str | None, dict[str, np.ndarray]]:
    """Split ``run -> values | (values, objective)`` into ``objective -> {run: values}``."""
    groups: dict[str | None, dict[str, np.ndarray]] = {}
    for run, trace in traces.items():
        if isinstance(trace, tuple) and len(trace) == 2 and isinstance(trace[1], str):
            values, objective = trace
        else:
            values, objective = trace, default_objective
        groups.setdefault(objective, {})[run] = as_vector(values, f"traces[{run!r}]")
    return groups


def plot_optimizer_traces(traces: Mapping[str, Trace], ylabel: str | None = None) -> Figure:
    """Best objective value of each iteration, one line per run.

    Each point is the best candidate of that iteration (not a running best).

    Parameters
    ----------
    traces : dict
        Run name -> best value per iteration, shape (n_iter,), or a tuple
        ``(values, objective_name)``; runs are grouped into one subplot per objective.
    ylabel : str, optional
        Objective name of the runs given as bare arrays (y label of their subplot).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per distinct objective, in order of first appearance. x is the
        0-based iteration index.
    """
    check_nonempty(traces, "traces")
    groups = _group_traces(traces, ylabel)
    fig = Figure(figsize=(5.0 * len(groups), 3.8), layout="constrained")
    for ax, (objective, runs) in zip(np.atleast_1d(fig.subplots(1, len(groups))), groups.items()):
        for run, values in runs.items():
            ax.plot(np.arange(len(values)), values, label=run)
        ax.set_xlabel("iteration")
        if objective is not None:
            ax.set_ylabel(f"best {objective}")
        ax.legend()
    return fig


def plot_best_states(snapshots, iterations, values, objective: str, run: str, polished=None) -> Figure:
    """The best state of a run at successive iterations, titled ``"it 120: W=3.1"``.

    Parameters
    ----------
    snapshots : array_like, shape (k, 3, L, L)
        Best state found by each recorded iteration.
    iterations : array_like of int, shape (k,)
        Iteration at which each snapshot was taken.
    values : array_like, shape (k,)
        Objective value of each snapshot.
    objective : str
        Objective name, e.g. ``"W"``.
    run : str
        Run name, used in the figure title.
    polished : (array_like (3, L, L), float), optional
        The best state relaxed in spin space (``polish: true``) and its objective value, drawn last.

    Returns
    -------
    matplotlib.figure.Figure
        One row of ``k`` (``k + 1`` with ``polished``) panels and the colour wheel.
    """
    batch = as_spin_batch(snapshots, "snapshots")
    iterations = as_vector(iterations, "iterations", len(batch)).astype(int)
    values = as_vector(values, "values", len(batch))
    titles = [f"it {it}: {objective}={v:.6g}" for it, v in zip(iterations, values)]
    if polished is not None:
        batch = np.concatenate([batch, as_spin_batch(polished[0], "polished")])
        titles.append(f"polished: {objective}={float(polished[1]):.6g}")
    return plot_spin_grid(batch, titles, ncols=len(batch), suptitle=f"{run}: best {objective}")


def plot_w_vs_mz(W, Mz, marked: Mapping[str, tuple[float, float]]) -> Figure:
    """Dataset in the (W, M_z) plane with optimised states highlighted (Fig. 5f).

    Parameters
    ----------
    W : array_like, shape (N,)
        Topological charge of each dataset state (dimensionless).
    Mz : array_like, shape (N,)
        Mean out-of-plane magnetisation of each dataset state (dimensionless).
    marked : dict of str to (float, float)
        Label -> ``(W, M_z)`` of an optimised state; each gets a distinct large marker.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; the legend sits outside it, right.
    """
    W = as_vector(W, "W")
    Mz = as_vector(Mz, "Mz", len(W))
    if not isinstance(marked, Mapping):
        raise ValueError(f"marked: expected a dict of label -> (W, Mz), got {marked!r}")
    for label, point in marked.items():
        if np.shape(point) != (2,):
            raise ValueError(f"marked[{label!r}]: expected a (W, Mz) pair, got {point!r}")

    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(W, Mz, s=4, color="0.6", alpha=0.5, linewidths=0, rasterized=True, label="dataset")
    for i, (label, (w, mz)) in enumerate(marked.items()):
        ax.scatter([w], [mz], s=160, marker=MARKERS[i % len(MARKERS)], color=f"C{i % 10}",
                   edgecolors="black", linewidths=0.8, zorder=3, label=label)
    ax.set_xlabel("topological charge W")
    ax.set_ylabel("magnetisation $M_z$")
    legend = fig.legend(loc="outside right upper", frameon=False)
    legend.legend_handles[0].set_sizes([20.0])  # the dataset's dots, readable
    return fig


def plot_baseline_comparison(rows: Sequence[Mapping]) -> Figure:
    """Latent vs direct search per run: best-so-far against evaluations, and each search's best state.

    Parameters
    ----------
    rows : sequence of dict
        One per run, keys ``run`` (title), ``ylabel`` (the objective as scored, or what the
        traces show), ``latent`` and ``direct``: ``(evaluations (m,), best_so_far (m,))``
        each, ``states``: ``(latent (3, L, L), direct (3, L, L))``, ``titles``: two strings,
        ``verdict``: a string naming the winner (drawn in the trace panel's title).
        Optional: ``yscale`` (``"linear"``, the default; ``"log"``; ``"symlog"``, linear
        within +-1), and ``polished``: ``(latent, direct)`` values after polishing, drawn
        as dashed horizontal lines in the traces' colours.

    Returns
    -------
    matplotlib.figure.Figure
        One row per run: the traces (x: objective evaluations, log scale), the latent
        run's best state, the direct search's; the colour wheel in the top-right corner and,
        with more than one row, the legend of all rows under it.

    Raises
    ------
    ValueError
        On no rows, a trace whose two arrays differ in length, or an unknown ``yscale``.
    """
    if not rows:
        raise ValueError("rows: expected at least one run")
    n = len(rows)
    fig, grid = image_grid(ncols=4, nrows=n, suptitle="latent-space search vs direct search in spin space")
    legend: dict[str, object] = {}  # label -> handle, over all rows
    for i, row in enumerate(rows):
        ax = fig.add_subplot(grid[i, 0:2])
        yscale = row.get("yscale", "linear")
        if yscale not in ("linear", "log", "symlog"):
            raise ValueError(f"rows[{i}]['yscale']: expected 'linear', 'log' or 'symlog', got {yscale!r}")
        polished = row.get("polished")
        lowest = np.inf
        for j, (key, color) in enumerate((("latent", "C0"), ("direct", "C3"))):
            x, y = (np.asarray(a, dtype=float) for a in row[key])
            if x.shape != y.shape:
                raise ValueError(f"rows[{i}][{key!r}]: evaluations {x.shape} and values {y.shape} differ")
            ax.plot(x, y, drawstyle="steps-post", linewidth=1.5, color=color, label=key)
            lowest = min(lowest, float(np.min(y, initial=np.inf)))
            if polished is not None:
                ax.axhline(float(polished[j]), color=color, linestyle="--", linewidth=1.0, label=f"{key} polished")
                lowest = min(lowest, float(polished[j]))
        ax.set_xscale("log")
        if yscale == "symlog":
            ax.set_yscale("symlog", linthresh=1.0)
            if lowest >= 0:  # no empty negative decades below values that are all >= 0
                ax.set_ylim(bottom=0.0)
        else:
            ax.set_yscale(yscale)
        ax.set_xlabel("objective evaluations")
        ax.set_ylabel(f"best {row['ylabel']}")
        ax.set_title(f"{row['run']}\n{row['verdict']}", fontsize="medium")
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
        states = as_spin_batch(np.stack(row["states"]), f"rows[{i}]['states']")
        for j, (state, title) in enumerate(zip(states, row["titles"])):
            draw_spins(fig.add_subplot(grid[i, 2 + j]), state, title)
    color_wheel_legend(fig.add_subplot(grid[0, 4]))
    if n > 1:  # the legend under the colour wheel; a single row keeps it in its trace panel
        legend_ax = fig.add_subplot(grid[1, 4])
        legend_ax.axis("off")
        legend_ax.legend(legend.values(), legend.keys(), loc="center left", frameon=False, fontsize="small")
    else:
        fig.axes[0].legend(legend.values(), legend.keys(), frameon=False, fontsize="small")
    return fig
