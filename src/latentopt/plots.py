"""Figures: spin textures, energy densities, training and optimizer diagnostics.

Spin states are ``(3, L, L)`` arrays of unit vectors ``(s_x, s_y, s_z)``; batches are
``(n, 3, L, L)``. The last axis is x (columns), the one before is y (rows), and every
image is drawn with ``origin="lower"`` so that y increases upwards (a right-handed frame).

Spins are coloured as in Park et al. (2022), Fig. 1: the hue is the in-plane angle
``atan2(s_y, s_x)`` (red along +x), the lightness is ``(1 + s_z) / 2`` (white for +z,
black for -z, fully saturated colour in the plane). :func:`color_wheel_legend` draws the
key.

Figures are built on :class:`matplotlib.figure.Figure` directly, never through pyplot,
so this module keeps no global state and is safe in headless and threaded workers.
Every function validates its input and raises :class:`ValueError` on wrong shapes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Union

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.patches import Circle
from matplotlib.ticker import MaxNLocator

from latentopt.io import atomic_path

PANEL_SIZE = 2.0
"""Side of one image panel, inches."""

WHEEL_WIDTH = 0.5
"""Width of the colour-wheel column, as a fraction of a panel."""

MARKERS = ("*", "D", "^", "s", "P", "X", "v", "p", "h", "<", ">", "o")
"""Marker cycle for highlighted points in :func:`plot_w_vs_mz`."""

Trace = Union[np.ndarray, tuple[np.ndarray, str]]


# --------------------------------------------------------------------------- validation


def _as_spin_batch(spins, name: str = "spins") -> np.ndarray:
    """Return ``spins`` as a float batch ``(n, 3, L_y, L_x)``; a single state gets n = 1."""
    arr = np.asarray(spins, dtype=float)
    if arr.ndim not in (3, 4) or arr.shape[-3] != 3 or 0 in arr.shape:
        raise ValueError(f"{name}: expected shape (3, L, L) or (n, 3, L, L), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or inf")
    return arr if arr.ndim == 4 else arr[None]


def _as_map_batch(maps, shape: tuple[int, int, int], name: str, dtype=float) -> np.ndarray:
    """Return per-site maps as ``(n, L_y, L_x)``; a single ``(L_y, L_x)`` map is accepted for n = 1."""
    arr = np.asarray(maps, dtype=dtype)
    if arr.shape == shape[1:] and shape[0] == 1:
        arr = arr[None]
    if arr.shape != shape:
        raise ValueError(f"{name}: expected shape {shape} to match the spins, got {arr.shape}")
    return arr


def _as_vector(values, name: str, length: int | None = None) -> np.ndarray:
    """Return a non-empty 1-D float array, of ``length`` elements when given."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array, got shape {arr.shape}")
    if length is not None and arr.size != length:
        raise ValueError(f"{name}: expected {length} values, got {arr.size}")
    return arr


def _check_titles(titles: Sequence[str] | None, n: int) -> list[str | None]:
    """Return one title (or None) per panel."""
    if titles is None:
        return [None] * n
    if isinstance(titles, str) or len(titles) != n:
        raise ValueError(f"titles: expected a sequence of {n} strings, got {titles!r}")
    return list(titles)


def _check_nonempty(mapping: Mapping, name: str) -> None:
    if not isinstance(mapping, Mapping) or not mapping:
        raise ValueError(f"{name}: expected a non-empty dict, got {mapping!r}")


# --------------------------------------------------------------------------- colours


def _hls_to_rgb(hue: np.ndarray, lightness: np.ndarray, saturation: float = 1.0) -> np.ndarray:
    """Vectorised HLS -> RGB conversion.

    Uses the closed form ``f(n) = L - a * clip(min(k - 3, 9 - k), -1, 1)`` with
    ``k = (n + 12 H) mod 12``, ``a = S min(L, 1 - L)`` and ``n = 0, 8, 4`` for R, G, B,
    equivalent to :func:`colorsys.hls_to_rgb` without the loop over pixels.

    Parameters
    ----------
    hue : ndarray, shape (...)
        Hue in turns, [0, 1).
    lightness : ndarray, shape (...)
        Lightness in [0, 1].
    saturation : float
        Saturation in [0, 1].

    Returns
    -------
    ndarray, shape (..., 3)
        RGB in [0, 1].
    """
    k = np.mod(np.array([0.0, 8.0, 4.0]) + 12.0 * hue[..., None], 12.0)
    half_chroma = saturation * np.minimum(lightness, 1.0 - lightness)[..., None]
    rgb = lightness[..., None] - half_chroma * np.clip(np.minimum(k - 3.0, 9.0 - k), -1.0, 1.0)
    return np.clip(rgb, 0.0, 1.0)


def spin_to_rgb(spins) -> np.ndarray:
    """Colour spins by direction (Park et al. 2022, Fig. 1).

    Hue is the in-plane angle ``atan2(s_y, s_x) / 2 pi`` mapped to [0, 1) (red = +x,
    chartreuse = +y, cyan = -x, violet = -y), lightness is ``(1 + s_z) / 2`` (white = +z,
    black = -z) and saturation is 1.

    Parameters
    ----------
    spins : array_like, shape (3, L, L) or (n, 3, L, L)
        Unit spin vectors (dimensionless).

    Returns
    -------
    ndarray, shape (L, L, 3) or (n, L, L, 3)
        RGB values in [0, 1], ready for ``imshow(..., origin="lower")``.

    Raises
    ------
    ValueError
        If ``spins`` has the wrong shape or is not finite.
    """
    single = np.ndim(spins) == 3
    sx, sy, sz = np.moveaxis(_as_spin_batch(spins), 1, 0)
    hue = np.mod(np.arctan2(sy, sx) / (2.0 * np.pi), 1.0)
    lightness = np.clip(0.5 * (1.0 + sz), 0.0, 1.0)
    rgb = _hls_to_rgb(hue, lightness)
    return rgb[0] if single else rgb


def _hide_ticks(ax: Axes) -> None:
    """Remove the ticks and tick labels of an image panel."""
    ax.set_xticks([])
    ax.set_yticks([])


def color_wheel_legend(ax: Axes, resolution: int = 256) -> Axes:
    """Draw the key of :func:`spin_to_rgb` as a colour wheel into ``ax``.

    The disk is the whole unit sphere seen from +z: the polar angle is ``pi * r`` (white
    centre ``s_z = +1``, saturated ring at half radius ``s_z = 0``, black rim ``s_z = -1``)
    and the azimuth is the in-plane angle measured from +x, in the same frame as the spin
    images.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes to draw in; its frame and ticks are hidden.
    resolution : int
        Pixels across the wheel.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``.
    """
    centres = (np.arange(resolution) + 0.5) / resolution * 2.0 - 1.0
    x, y = np.meshgrid(centres, centres)
    radius = np.hypot(x, y)
    polar, azimuth = np.pi * np.minimum(radius, 1.0), np.arctan2(y, x)
    sphere = np.stack([np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar)])
    image = ax.imshow(spin_to_rgb(sphere), origin="lower", extent=(-1, 1, -1, 1), interpolation="bilinear")
    image.set_clip_path(Circle((0.0, 0.0), 1.0, transform=ax.transData))
    for xy, label, align in (((1.08, 0), "$+x$", dict(ha="left", va="center")),
                             ((0, 1.08), "$+y$", dict(ha="center", va="bottom"))):
        ax.text(*xy, label, fontsize="small", **align)
    ax.set_xlabel("centre $+z$, rim $-z$", fontsize="x-small")
    _hide_ticks(ax)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_aspect("equal")
    return ax


# --------------------------------------------------------------------------- panels


def _draw_spins(ax: Axes, state: np.ndarray, title: str | None = None) -> None:
    """Show one ``(3, L, L)`` state as an RGB image, y upwards, without ticks."""
    ax.imshow(spin_to_rgb(state), origin="lower", interpolation="nearest")
    _hide_ticks(ax)
    if title:
        ax.set_title(title, fontsize="medium")


def _mark_sites(ax: Axes, mask: np.ndarray, markersize: float) -> None:
    """Circle the ``True`` sites of an ``(L, L)`` mask (white rings with a black outline)."""
    rows, cols = np.nonzero(mask)
    ax.plot(cols, rows, linestyle="none", marker="o", markersize=markersize, markerfacecolor="none",
            markeredgecolor="white", markeredgewidth=1.0, scalex=False, scaley=False,
            path_effects=[patheffects.withStroke(linewidth=2.5, foreground="black")])


def _site_markersize(side: int) -> float:
    """Marker size (points) of about 1.5 sites of a ``side``-site lattice in a :data:`PANEL_SIZE` panel."""
    return float(np.clip(1.5 * PANEL_SIZE * 72.0 / side, 3.0, 8.0))


def _image_grid(ncols: int, nrows: int = 1, suptitle: str | None = None) -> tuple[Figure, GridSpec]:
    """Figure and gridspec for ``nrows x ncols`` image panels plus a narrow key column."""
    height = PANEL_SIZE * nrows + (0.4 if suptitle else 0.0)
    fig = Figure(figsize=(PANEL_SIZE * (ncols + WHEEL_WIDTH), height), layout="constrained")
    grid = fig.add_gridspec(nrows, ncols + 1, width_ratios=[1.0] * ncols + [WHEEL_WIDTH])
    if suptitle:
        fig.suptitle(suptitle)
    return fig, grid


# --------------------------------------------------------------------------- figures


def plot_spin_grid(spins, titles: Sequence[str] | None = None, ncols: int | None = None,
                   suptitle: str | None = None) -> Figure:
    """Grid of spin images with a colour-wheel key in the top-right corner.

    Parameters
    ----------
    spins : array_like, shape (n, 3, L, L) or (3, L, L)
        Spin states.
    titles : sequence of str, optional
        One title per panel, e.g. ``"W=1.02, e=-2.031"``.
    ncols : int, optional
        Panels per row; ``min(n, 6)`` by default.
    suptitle : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        ``n + 1`` axes: the panels in row-major order, then the colour wheel.
    """
    batch = _as_spin_batch(spins)
    n = len(batch)
    titles = _check_titles(titles, n)
    ncols = min(n, 6) if ncols is None else ncols
    if not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols: expected a positive integer, got {ncols!r}")
    ncols = min(ncols, n)
    fig, grid = _image_grid(ncols, math.ceil(n / ncols), suptitle)
    for i, (state, title) in enumerate(zip(batch, titles)):
        _draw_spins(fig.add_subplot(grid[divmod(i, ncols)]), state, title)
    color_wheel_legend(fig.add_subplot(grid[0, -1]))
    return fig


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
    _check_nonempty(densities, "densities")
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
    batch = _as_spin_batch(spins)
    shape = (batch.shape[0], *batch.shape[2:])
    energy = _as_map_batch(densities, shape, "densities")
    nodal = _as_map_batch(nodal_masks, shape, "nodal_masks", dtype=bool)
    if not np.all(np.isfinite(energy)):
        raise ValueError("densities: contains NaN or inf")
    titles = _check_titles(titles, len(batch))
    n = len(batch)
    markersize = _site_markersize(max(shape[1:]))

    fig, grid = _image_grid(n, nrows=2)
    for i, (state, eps, mask, title) in enumerate(zip(batch, energy, nodal, titles)):
        top, bottom = fig.add_subplot(grid[0, i]), fig.add_subplot(grid[1, i])
        _draw_spins(top, state, title)
        image = bottom.imshow(eps, origin="lower", interpolation="nearest", cmap="inferno",
                              vmin=energy.min(), vmax=energy.max())
        _hide_ticks(bottom)
        for ax in (top, bottom):
            _mark_sites(ax, mask, markersize)
        if i == 0:
            top.set_ylabel("spins")
            bottom.set_ylabel("energy density")
    color_wheel_legend(fig.add_subplot(grid[0, -1]))
    cax = fig.add_subplot(grid[1, -1])
    cax.set_box_aspect(12.0)
    fig.colorbar(image, cax=cax, label="ε (J)")
    return fig


def _log_scale_if_positive(ax: Axes, *series: np.ndarray) -> None:
    """Use a log y axis when every value drawn is positive (losses may not be)."""
    if all(np.all(s > 0) for s in series):
        ax.set_yscale("log")


def _legend_above(ax: Axes, handles: list) -> None:
    """Legend in one row above ``ax``, clear of the curves (twin axes included)."""
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(handles),
              frameon=False)


def plot_training_curves(history: Mapping[str, Sequence[float]]) -> Figure:
    """VAE training curves per epoch.

    Parameters
    ----------
    history : dict
        Lists of per-epoch values, equal lengths: ``loss`` and ``val_loss`` (total
        training and validation loss), ``reconstruction`` and ``kl`` (the two terms of
        the training loss).

    Returns
    -------
    matplotlib.figure.Figure
        Three axes: total and validation loss (log y when positive); reconstruction
        (left y) and, on its twin, KL divergence (right y). x is the 1-based epoch.
    """
    _check_nonempty(history, "history")
    keys = ("loss", "val_loss", "reconstruction", "kl")
    missing = [k for k in keys if k not in history]
    if missing:
        raise ValueError(f"history: missing keys {missing}, has {sorted(history)}")
    curves = {k: _as_vector(history[k], f"history[{k!r}]") for k in keys}
    curves = {k: _as_vector(v, f"history[{k!r}]", len(curves["loss"])) for k, v in curves.items()}
    epochs = np.arange(1, len(curves["loss"]) + 1)

    fig = Figure(figsize=(10.0, 3.8), layout="constrained")
    loss_ax, recon_ax = fig.subplots(1, 2)
    loss_ax.plot(epochs, curves["loss"], label="training")
    loss_ax.plot(epochs, curves["val_loss"], label="validation")
    _log_scale_if_positive(loss_ax, curves["loss"], curves["val_loss"])
    loss_ax.set_ylabel("total loss")
    _legend_above(loss_ax, loss_ax.lines)

    kl_ax = recon_ax.twinx()
    for ax, key, label, color in ((recon_ax, "reconstruction", "reconstruction", "C0"),
                                  (kl_ax, "kl", "KL divergence", "C3")):
        ax.plot(epochs, curves[key], color=color, label=label)
        ax.set_ylabel(label, color=color)
        ax.tick_params(axis="y", which="both", colors=color)
        _log_scale_if_positive(ax, curves[key])
    _legend_above(recon_ax, recon_ax.lines + kl_ax.lines)

    for ax in (loss_ax, recon_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
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
        groups.setdefault(objective, {})[run] = _as_vector(values, f"traces[{run!r}]")
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
    _check_nonempty(traces, "traces")
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


def plot_best_states(snapshots, iterations, values, objective: str, run: str) -> Figure:
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

    Returns
    -------
    matplotlib.figure.Figure
        One row of ``k`` panels and the colour wheel (``k + 1`` axes).
    """
    batch = _as_spin_batch(snapshots, "snapshots")
    iterations = _as_vector(iterations, "iterations", len(batch)).astype(int)
    values = _as_vector(values, "values", len(batch))
    titles = [f"it {it}: {objective}={v:.6g}" for it, v in zip(iterations, values)]
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
    W = _as_vector(W, "W")
    Mz = _as_vector(Mz, "Mz", len(W))
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


def placeholder(text: str) -> Figure:
    """A small figure that only says ``text`` (e.g. a study without optimization runs)."""
    fig = Figure(figsize=(max(4.0, 0.09 * len(text)), 1.5))
    fig.text(0.5, 0.5, text, ha="center", va="center")
    return fig


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 120) -> None:
    """Save ``fig`` atomically; the format follows the suffix of ``path``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or PathLike
        Destination, e.g. ``fig.png`` or ``fig.svg``; parent folders are created.
    dpi : int
        Resolution of raster output, dots per inch.

    Raises
    ------
    ValueError
        If the suffix is not a format matplotlib can write.
    """
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(f"{path}: expected a suffix among {sorted(supported)}, got {fmt!r}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
