"""Shared figure helpers: the spin colour scheme, image grids, training curves, saving.

Spin states are ``(3, L, L)`` arrays of unit vectors ``(s_x, s_y, s_z)``; batches are
``(n, 3, L, L)``. The last axis is x (columns), the one before is y (rows), and every
image is drawn with ``origin="lower"`` so that y increases upwards (a right-handed frame).

Spins are coloured as in Park et al. (2022), Fig. 1: the hue is the in-plane angle
``atan2(s_y, s_x)`` (red along +x), the lightness is ``(1 + s_z) / 2`` (white for +z,
black for -z, fully saturated colour in the plane). :func:`color_wheel_legend` draws the
key.

Figures are built on :class:`matplotlib.figure.Figure` directly, never through pyplot,
so this package keeps no global state and is safe in headless and threaded workers.
Every function validates its input and raises :class:`ValueError` on wrong shapes.
The lower-case helpers without ``plot_`` (``as_spin_batch``, ``image_grid``, ...) are for
the per-kind figure modules.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

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


def as_spin_batch(spins, name: str = "spins") -> np.ndarray:
    """Return ``spins`` as a float batch ``(n, 3, L_y, L_x)``; a single state gets n = 1."""
    arr = np.asarray(spins, dtype=float)
    if arr.ndim not in (3, 4) or arr.shape[-3] != 3 or 0 in arr.shape:
        raise ValueError(f"{name}: expected shape (3, L, L) or (n, 3, L, L), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or inf")
    return arr if arr.ndim == 4 else arr[None]


def as_map_batch(maps, shape: tuple[int, int, int], name: str, dtype=float) -> np.ndarray:
    """Return per-site maps as ``(n, L_y, L_x)``; a single ``(L_y, L_x)`` map is accepted for n = 1."""
    arr = np.asarray(maps, dtype=dtype)
    if arr.shape == shape[1:] and shape[0] == 1:
        arr = arr[None]
    if arr.shape != shape:
        raise ValueError(f"{name}: expected shape {shape} to match the spins, got {arr.shape}")
    return arr


def as_vector(values, name: str, length: int | None = None) -> np.ndarray:
    """Return a non-empty 1-D float array, of ``length`` elements when given."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array, got shape {arr.shape}")
    if length is not None and arr.size != length:
        raise ValueError(f"{name}: expected {length} values, got {arr.size}")
    return arr


def check_titles(titles: Sequence[str] | None, n: int) -> list[str | None]:
    """Return one title (or None) per panel."""
    if titles is None:
        return [None] * n
    if isinstance(titles, str) or len(titles) != n:
        raise ValueError(f"titles: expected a sequence of {n} strings, got {titles!r}")
    return list(titles)


def check_nonempty(mapping: Mapping, name: str) -> None:
    if not isinstance(mapping, Mapping) or not mapping:
        raise ValueError(f"{name}: expected a non-empty dict, got {mapping!r}")


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
    sx, sy, sz = np.moveaxis(as_spin_batch(spins), 1, 0)
    hue = np.mod(np.arctan2(sy, sx) / (2.0 * np.pi), 1.0)
    lightness = np.clip(0.5 * (1.0 + sz), 0.0, 1.0)
    rgb = _hls_to_rgb(hue, lightness)
    return rgb[0] if single else rgb


def hide_ticks(ax: Axes) -> None:
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
    hide_ticks(ax)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_aspect("equal")
    return ax


def draw_spins(ax: Axes, state: np.ndarray, title: str | None = None) -> None:
    """Show one ``(3, L, L)`` state as an RGB image, y upwards, without ticks."""
    ax.imshow(spin_to_rgb(state), origin="lower", interpolation="nearest")
    hide_ticks(ax)
    if title:
        ax.set_title(title, fontsize="medium")


def mark_sites(ax: Axes, mask: np.ndarray, markersize: float) -> None:
    """Circle the ``True`` sites of an ``(L, L)`` mask (white rings with a black outline)."""
    rows, cols = np.nonzero(mask)
    ax.plot(cols, rows, linestyle="none", marker="o", markersize=markersize, markerfacecolor="none",
            markeredgecolor="white", markeredgewidth=1.0, scalex=False, scaley=False,
            path_effects=[patheffects.withStroke(linewidth=2.5, foreground="black")])


def site_markersize(side: int) -> float:
    """Marker size (points) of about 1.5 sites of a ``side``-site lattice in a :data:`PANEL_SIZE` panel."""
    return float(np.clip(1.5 * PANEL_SIZE * 72.0 / side, 3.0, 8.0))


def image_grid(ncols: int, nrows: int = 1, suptitle: str | None = None) -> tuple[Figure, GridSpec]:
    """Figure and gridspec for ``nrows x ncols`` image panels plus a narrow key column."""
    height = PANEL_SIZE * nrows + (0.4 if suptitle else 0.0)
    fig = Figure(figsize=(PANEL_SIZE * (ncols + WHEEL_WIDTH), height), layout="constrained")
    grid = fig.add_gridspec(nrows, ncols + 1, width_ratios=[1.0] * ncols + [WHEEL_WIDTH])
    if suptitle:
        fig.suptitle(suptitle)
    return fig, grid


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
    batch = as_spin_batch(spins)
    n = len(batch)
    titles = check_titles(titles, n)
    ncols = min(n, 6) if ncols is None else ncols
    if not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols: expected a positive integer, got {ncols!r}")
    ncols = min(ncols, n)
    fig, grid = image_grid(ncols, math.ceil(n / ncols), suptitle)
    for i, (state, title) in enumerate(zip(batch, titles)):
        draw_spins(fig.add_subplot(grid[divmod(i, ncols)]), state, title)
    color_wheel_legend(fig.add_subplot(grid[0, -1]))
    return fig


def log_scale_if_positive(ax: Axes, *series: np.ndarray) -> None:
    """Use a log y axis when every value drawn is positive (losses may not be)."""
    if all(np.all(s > 0) for s in series):
        ax.set_yscale("log")


def legend_above(ax: Axes, handles: list) -> None:
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
    check_nonempty(history, "history")
    keys = ("loss", "val_loss", "reconstruction", "kl")
    missing = [k for k in keys if k not in history]
    if missing:
        raise ValueError(f"history: missing keys {missing}, has {sorted(history)}")
    curves = {k: as_vector(history[k], f"history[{k!r}]") for k in keys}
    curves = {k: as_vector(v, f"history[{k!r}]", len(curves["loss"])) for k, v in curves.items()}
    epochs = np.arange(1, len(curves["loss"]) + 1)

    fig = Figure(figsize=(10.0, 3.8), layout="constrained")
    loss_ax, recon_ax = fig.subplots(1, 2)
    loss_ax.plot(epochs, curves["loss"], label="training")
    loss_ax.plot(epochs, curves["val_loss"], label="validation")
    log_scale_if_positive(loss_ax, curves["loss"], curves["val_loss"])
    loss_ax.set_ylabel("total loss")
    legend_above(loss_ax, loss_ax.lines)

    kl_ax = recon_ax.twinx()
    for ax, key, label, color in ((recon_ax, "reconstruction", "reconstruction", "C0"),
                                  (kl_ax, "kl", "KL divergence", "C3")):
        ax.plot(epochs, curves[key], color=color, label=label)
        ax.set_ylabel(label, color=color)
        ax.tick_params(axis="y", which="both", colors=color)
        log_scale_if_positive(ax, curves[key])
    legend_above(recon_ax, recon_ax.lines + kl_ax.lines)

    for ax in (loss_ax, recon_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
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
