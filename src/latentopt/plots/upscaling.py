"""Figures of an upscaling study (RUGAN, Mills et al. 2019): samples, requested vs realized, S(q), seams, training.

Spin images use the colouring of the spin studies (:func:`latentopt.plots.plot_spin_grid`:
hue = in-plane angle, lightness = ``(1 + s_z) / 2``). Figures are built on
:class:`matplotlib.figure.Figure` without pyplot; save them with
:func:`latentopt.plots.save_figure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.physics.periodicity import seam_bonds
from latentopt.plots import plot_spin_grid

__all__ = ["plot_gan_training", "plot_heatbath_comparison", "plot_requested_vs_realized", "plot_samples",
           "plot_seam_check", "plot_structure_factor"]


def _vector(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected a non-empty finite 1-D array, got shape {arr.shape}")
    return arr


def plot_samples(spins, energies, requested=None, suptitle: str | None = None, ncols: int | None = None) -> Figure:
    """Grid of states titled with their energies (training states, or generated ones with the requested energy).

    Parameters
    ----------
    spins : array_like, shape (n, 3, L, L)
    energies : array_like, shape (n,)
        Energy per spin of each state (J).
    requested : array_like, shape (n,), optional
        Requested energies; titles then read ``req -1.912 / got -1.905``.
    suptitle : str, optional
    ncols : int, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    e = _vector(energies, "energies")
    if requested is None:
        titles = [f"e = {v:.3f}" for v in e]
    else:
        r = _vector(requested, "requested")
        if r.shape != e.shape:
            raise ValueError(f"requested: expected {e.size} values, got {r.size}")
        titles = [f"req {a:.3f} / got {b:.3f}" for a, b in zip(r, e)]
    return plot_spin_grid(spins, titles=titles, ncols=ncols, suptitle=suptitle)


def plot_requested_vs_realized(requested, realized, metrics: Mapping[str, float], label: str,
                               bins: int = 60) -> Figure:
    """Requested vs realized energies: 2D density heatmap with the diagonal, and the two histograms (paper Figs. 2, 3).

    Parameters
    ----------
    requested, realized : array_like, shape (n,)
        Energies per spin (J), paired.
    metrics : mapping
        ``ks``, ``p_value``, ``pearson_r``, ``mae`` (shown in the titles); optional
        ``paper_ks``, ``paper_p_value``, and ``calibrated`` with ``uncalibrated_ks`` (a second
        title line).
    label : str
        e.g. ``"4x (64 x 64)"``.
    bins : int

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the heatmap (log colour scale of counts) and step histograms.
    """
    a, b = _vector(requested, "requested"), _vector(realized, "realized")
    if a.shape != b.shape:
        raise ValueError(f"realized: expected {a.size} values, got {b.size}")
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    pad = 0.02 * (hi - lo or 1.0)
    edges = np.linspace(lo - pad, hi + pad, bins + 1)
    fig = Figure(figsize=(10.0, 4.2), layout="constrained")
    ax_h, ax_d = fig.subplots(1, 2)
    counts, _, _ = np.histogram2d(a, b, bins=[edges, edges])
    mesh = ax_h.pcolormesh(edges, edges, np.where(counts > 0, counts, np.nan).T, norm=LogNorm(vmin=1),
                           cmap="viridis", shading="flat")
    fig.colorbar(mesh, ax=ax_h, label="states per bin")
    ax_h.plot([edges[0], edges[-1]], [edges[0], edges[-1]], "w--", lw=1)
    ax_h.set_xlabel("requested energy per spin (J)")
    ax_h.set_ylabel("realized energy per spin (J)")
    ax_h.set_title(f"{label}: r = {metrics['pearson_r']:.3f}, MAE = {metrics['mae']:.4f} J", fontsize="medium")
    ax_d.hist(a, bins=edges, histtype="step", lw=1.5, label="requested")
    ax_d.hist(b, bins=edges, histtype="step", lw=1.5, label="realized")
    title = f"KS = {metrics['ks']:.3f}, p = {metrics['p_value']:.2g}"
    if "paper_ks" in metrics:
        title += f" (paper: {metrics['paper_ks']:.2f}, p = {metrics['paper_p_value']:.2f})"
    if metrics.get("calibrated") and "uncalibrated_ks" in metrics:
        title += f"\ncalibrated labels (uncalibrated: KS = {metrics['uncalibrated_ks']:.3f})"
    ax_d.set_title(title, fontsize="medium")
    ax_d.set_xlabel("energy per spin (J)")
    ax_d.set_ylabel("states")
    ax_d.legend(frameon=False)
    return fig


def plot_structure_factor(profiles: Mapping[str, tuple[np.ndarray, np.ndarray]],
                          peaks: Mapping[str, float] | None = None, q_star: float | None = None) -> Figure:
    """Radially averaged spin structure factor ``S(|q|)`` of several sets of states.

    Parameters
    ----------
    profiles : mapping
        Label -> ``(q, S)`` from :func:`latentopt.physics.structure_factor.radial_profile`.
    peaks : mapping, optional
        Label -> peak ``|q|`` (drawn as dotted vertical lines in the curve's colour).
    q_star : float, optional
        Spiral wavenumber ``atan(D / J)``, drawn as a grey dashed line.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, ``|q|`` excluding 0, log y.
    """
    if not isinstance(profiles, Mapping) or not profiles:
        raise ValueError(f"profiles: expected a non-empty dict, got {profiles!r}")
    fig = Figure(figsize=(6.5, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for k, (label, (q, s)) in enumerate(profiles.items()):
        q, s = np.asarray(q), np.asarray(s)
        keep = q > 0
        ax.plot(q[keep], s[keep], marker="o", ms=3, color=f"C{k}", label=label)
        if peaks and label in peaks and np.isfinite(peaks[label]):
            ax.axvline(peaks[label], color=f"C{k}", ls=":", lw=1)
    if q_star is not None:
        ax.axvline(q_star, color="0.5", ls="--", lw=1, label=r"$q^* = \arctan(D/J)$")
    ax.set_yscale("log")
    ax.set_xlabel(r"$|q|$ (rad per lattice constant)")
    ax.set_ylabel(r"$S(|q|)$")
    ax.legend(frameon=False, fontsize="small")
    return fig


def plot_seam_check(sets: Mapping[str, np.ndarray], system: dict, metrics: Mapping[str, Mapping[str, float]],
                    bins: int = 80) -> Figure:
    """Energies of the bonds across the periodic boundary vs across the middle lines, one panel per set.

    Parameters
    ----------
    sets : mapping
        Label -> states ``(n, 3, L, L)`` (e.g. ``"1x"``, ``"2x"``, ``"4x"``).
    system : dict
        ``system`` block (``L`` is replaced by each set's size).
    metrics : mapping
        Label -> ``seam_ks``, ``seam_excess``, ``seam_excess_se`` (titles).
    bins : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(sets, Mapping) or not sets:
        raise ValueError(f"sets: expected a non-empty dict, got {sets!r}")
    fig = Figure(figsize=(4.0 * len(sets), 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(sets)))
    for ax, (label, spins) in zip(axes, sets.items()):
        model = ChiralMagnet.from_config({**system, "L": np.shape(spins)[-1]})
        seam, control = seam_bonds(np.asarray(spins), model)
        edges = np.histogram_bin_edges(np.concatenate([seam.ravel(), control.ravel()]), bins=bins)
        ax.hist(control.ravel(), bins=edges, density=True, histtype="step", lw=1.5, label="middle lines")
        ax.hist(seam.ravel(), bins=edges, density=True, histtype="step", lw=1.5, label="periodic boundary")
        ax.set_yscale("log")
        m = metrics.get(label, {})
        if m:
            ax.set_title(f"{label}: KS = {m['seam_ks']:.3f}, excess = {m['seam_excess']:+.4f}"
                         f" $\\pm$ {m['seam_excess_se']:.4f} J", fontsize="small")
        ax.set_xlabel("bond energy (J)")
    axes[0].set_ylabel("density")
    axes[0].legend(frameon=False, fontsize="small")
    return fig


def plot_gan_training(history: Mapping[str, Sequence[float]]) -> Figure:
    """RUGAN training curves per epoch: Wasserstein estimate and losses, GP and CT, energy fidelity.

    Parameters
    ----------
    history : mapping
        ``critic_loss``, ``wasserstein``, ``gp``, ``ct``, ``generator_loss``,
        ``energy_mae``, ``energy_r`` (equal lengths, per epoch); ``energy_loss`` is drawn
        when present and finite.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes.
    """
    keys = ("critic_loss", "wasserstein", "gp", "ct", "generator_loss", "energy_mae", "energy_r")
    missing = [k for k in keys if k not in history]
    if missing:
        raise ValueError(f"history: missing keys {missing}, has {sorted(history)}")
    h = {k: np.asarray(history[k], dtype=float) for k in keys}
    epochs = np.arange(1, len(h["wasserstein"]) + 1)
    fig = Figure(figsize=(13.0, 3.8), layout="constrained")
    ax_w, ax_r, ax_e = fig.subplots(1, 3)
    ax_w.plot(epochs, h["wasserstein"], label="Wasserstein estimate")
    ax_w.plot(epochs, h["critic_loss"], label="critic loss")
    ax_w.plot(epochs, h["generator_loss"], label="generator loss")
    ax_w.axhline(0, color="0.6", lw=0.8)
    ax_w.legend(frameon=False, fontsize="small")
    ax_r.plot(epochs, h["gp"], label=r"gradient penalty (GP)")
    ax_r.plot(epochs, h["ct"], label="consistency term (CT)")
    if "energy_loss" in history and np.isfinite(np.asarray(history["energy_loss"], dtype=float)).any():
        ax_r.plot(epochs, np.asarray(history["energy_loss"], dtype=float), label="exact-energy term")
    ax_r.set_yscale("log")
    ax_r.legend(frameon=False, fontsize="small")
    ax_e.plot(epochs, h["energy_mae"], color="C3", label="MAE (J)")
    ax_e.set_ylabel("MAE requested vs realized (J)", color="C3")
    ax_e.set_yscale("log")
    twin = ax_e.twinx()
    twin.plot(epochs, h["energy_r"], color="C0", label="Pearson r")
    twin.set_ylabel("Pearson r", color="C0")
    twin.set_ylim(min(0.0, np.nanmin(h["energy_r"])) if np.isfinite(h["energy_r"]).any() else 0.0, 1.0)
    for ax in (ax_w, ax_r, ax_e):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def plot_heatbath_comparison(per_T: Sequence[Mapping[str, float]], label: str) -> Figure:
    """Generated vs heat-bath states at the large size, per training temperature: mean energy and peak |q|.

    Parameters
    ----------
    per_T : sequence of dict
        Rows of :func:`latentopt.heatbath_comparison.compare_with_heatbath` (``T``,
        ``energy_<set>``, ``energy_<set>_std``, ``peak_q_<set>`` for the sets
        ``generated``, ``heatbath`` and optionally ``train``).
    label : str
        Size of the large states, e.g. ``"64 x 64"``.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes.
    """
    if not per_T:
        raise ValueError("per_T: expected at least one row")
    T = np.array([r["T"] for r in per_T])
    fig = Figure(figsize=(10.0, 3.8), layout="constrained")
    ax_e, ax_q = fig.subplots(1, 2)
    names = {"heatbath": f"heat bath {label}", "generated": f"generated {label}", "train": "training states"}
    for k, (name, text) in enumerate(names.items()):
        if not any(f"energy_{name}" in r for r in per_T):
            continue
        e = np.array([r.get(f"energy_{name}", np.nan) for r in per_T])
        s = np.array([r.get(f"energy_{name}_std", np.nan) for r in per_T])
        q = np.array([r.get(f"peak_q_{name}", np.nan) for r in per_T])
        ax_e.errorbar(T, e, yerr=s, marker="os^"[k], ms=4, capsize=2, ls="-", label=text)
        ax_q.plot(T, q, marker="os^"[k], ms=4, label=text)
    for ax in (ax_e, ax_q):
        ax.set_xscale("log")
        ax.set_xlabel("temperature T (J)")
    ax_e.set_ylabel("energy per spin (J), mean $\\pm$ std")
    ax_q.set_ylabel(r"peak $|q|$ of $S(q)$")
    ax_e.legend(frameon=False, fontsize="small")
    return fig
