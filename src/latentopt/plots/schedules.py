"""Figures of KL-schedule studies (Biswas et al. 2023, Figs. 5-12).

- :func:`plot_schedule_families`: training beta_c(t) trajectories by family (Figs. 5a, 8a);
- :func:`plot_schedule_latent`: the trajectory VAE's 2D latent with the feasible region
  and the encoded training trajectories by family (Figs. 5b, 8b);
- :func:`plot_gp_maps`: GP mean and standard deviation over the latent grid with the
  evaluated points and the best one (Figs. 6, 8c-d, 10b-c);
- :func:`plot_best_so_far`: best objective vs evaluations, zBO and random search;
- :func:`plot_best_schedule`: the zBO-best beta_c trajectory (Figs. 6c, 8e, 10e);
- :func:`plot_model_manifolds`: the final models' manifolds per class side by side,
  each titled with objective and class accuracy (Fig. 7 layout);
- :func:`plot_image_dataset`: sample images with their labels and angles.

Latent maps use ``origin="lower"`` (``z_1`` to the right, ``z_2`` upwards); grid arrays
``(G*G,)`` are in the row-major order of :func:`latentopt.latent.latent_grid`. Figures are
:class:`matplotlib.figure.Figure` objects, never pyplot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["plot_best_schedule", "plot_best_so_far", "plot_gp_maps", "plot_image_dataset", "plot_model_manifolds",
           "plot_schedule_families", "plot_schedule_latent"]

_COLORS = mpl.colormaps["tab10"]


def _extent(axes: Sequence[np.ndarray]) -> list[float]:
    a1, a2 = np.asarray(axes[0], float), np.asarray(axes[1], float)
    h1 = (a1[1] - a1[0]) / 2 if len(a1) > 1 else 0.5
    h2 = (a2[1] - a2[0]) / 2 if len(a2) > 1 else 0.5
    return [a1[0] - h1, a1[-1] + h1, a2[0] - h2, a2[-1] + h2]


def plot_schedule_families(trajectories: np.ndarray, family: np.ndarray, names: Sequence[str],
                           bounds: Sequence[float] | None = None, n_show: int = 10) -> Figure:
    """Training beta_c(t) trajectories, one panel per family, ``t = i / (N - 1)``.

    Parameters
    ----------
    trajectories : ndarray, shape (n, N)
    family : ndarray of int, shape (n,)
        Index into ``names``.
    names : sequence of str
    bounds : (low, high), optional
        Drawn as dashed lines.
    n_show : int
        Trajectories per panel.
    """
    x, fam = np.asarray(trajectories, float), np.asarray(family)
    if x.ndim != 2 or fam.shape != (len(x),) or not len(names):
        raise ValueError(f"shapes: trajectories {x.shape}, family {fam.shape}, {len(names)} names")
    t = np.linspace(0, 1, x.shape[1])
    fig = Figure(figsize=(3.4 * len(names), 3.0), layout="constrained")
    axs = np.atleast_1d(fig.subplots(1, len(names), sharey=True))
    for k, (ax, name) in enumerate(zip(axs, names)):
        for xi in x[fam == k][:n_show]:
            ax.plot(t, xi, color=_COLORS(k), lw=1, alpha=0.8)
        if bounds is not None:
            for b in bounds:
                ax.axhline(b, color="0.4", ls="--", lw=0.8)
        ax.set_title(f"{name} ({int((fam == k).sum())})")
        ax.set_xlabel("t = i / (N - 1)")
    axs[0].set_ylabel(r"$\beta_c$")
    return fig


def plot_schedule_latent(grid: Mapping[str, np.ndarray], family: np.ndarray, names: Sequence[str]) -> Figure:
    """Feasible region of the decoded latent grid with the encoded training trajectories by family.

    ``grid``: :func:`latentopt.latent.make_grid` output (``feasible (G^2,)``, ``axes (2, G)``,
    ``z_train (n, 2)``).
    """
    ok, axes, z = np.asarray(grid["feasible"]), np.asarray(grid["axes"]), np.asarray(grid["z_train"])
    G = axes.shape[1]
    fig = Figure(figsize=(4.8, 4.0), layout="constrained")
    ax = fig.subplots()
    ax.imshow(ok.reshape(G, G).astype(float), origin="lower", extent=_extent(axes), cmap="Greys", vmin=-0.3,
              vmax=1.6, aspect="auto", interpolation="nearest")
    fam = np.asarray(family)
    for k, name in enumerate(names):
        ax.scatter(*z[fam == k].T, s=6, color=_COLORS(k), label=name)
    ax.set_title(f"feasible region ({int(ok.sum())} / {ok.size} points, grey)")
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.legend(fontsize=7, markerscale=2)
    return fig


def plot_gp_maps(grid: Mapping[str, np.ndarray], gp_mean: np.ndarray, gp_std: np.ndarray, z_eval: np.ndarray,
                 y_eval: np.ndarray, rounds: np.ndarray | None = None) -> Figure:
    """GP posterior mean and standard deviation of the objective over the latent grid.

    Infeasible points are masked (white). Evaluated points are drawn in black (initial
    round as squares), the best as a red star.
    """
    ok, axes = np.asarray(grid["feasible"]), np.asarray(grid["axes"])
    G = axes.shape[1]
    z_eval, y_eval = np.asarray(z_eval, float), np.asarray(y_eval, float)
    rounds = np.zeros(len(z_eval), int) if rounds is None else np.asarray(rounds)
    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    for ax, values, title in zip(fig.subplots(1, 2), (gp_mean, gp_std), ("GP mean", "GP standard deviation")):
        v = np.where(ok, np.asarray(values, float), np.nan).reshape(G, G)
        im = ax.imshow(v, origin="lower", extent=_extent(axes), aspect="auto", interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.85)
        ax.scatter(*z_eval[rounds == 0].T, marker="s", s=14, facecolors="none", edgecolors="k", label="initial")
        ax.scatter(*z_eval[rounds > 0].T, s=10, c="k", label="BO")
        if len(y_eval):
            ax.scatter(*z_eval[int(np.argmax(y_eval))], marker="*", s=120, c="r", label="best")
        ax.set_title(title)
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$")
    ax.legend(fontsize=7, loc="best")
    return fig


def plot_best_so_far(runs: Mapping[str, Mapping[str, np.ndarray]]) -> Figure:
    """Best objective vs number of evaluations: zBO (line) and random search (median, 25-75% band).

    ``runs``: ``{run: {"y": (k,), "random_best": (seeds, k)}}``; a run is labelled ``zBO``,
    or ``zBO (<run>)`` when its name says more than that. Evaluations are counted in whole
    trainings (integer ticks).
    """
    if not runs:
        raise ValueError("runs: at least one BO run is required")
    fig = Figure(figsize=(5.2, 3.6), layout="constrained")
    ax = fig.subplots()
    for k, (name, run) in enumerate(runs.items()):
        y = np.asarray(run["y"], float)
        n = np.arange(1, len(y) + 1)
        label = "zBO" if name.lower() == "zbo" else f"zBO ({name})"
        ax.plot(n, np.maximum.accumulate(y), color=_COLORS(k), lw=2, label=label)
        rb = np.asarray(run.get("random_best", np.zeros((0, len(y)))), float)
        if rb.size:
            m = np.arange(1, rb.shape[1] + 1)
            ax.plot(m, np.median(rb, axis=0), color=_COLORS(k), ls="--",
                    label=f"random search: median of {len(rb)} orders")
            ax.fill_between(m, *np.percentile(rb, [25, 75], axis=0), color=_COLORS(k), alpha=0.2, lw=0,
                            label="random search: 25-75 %")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("evaluations (jrVAE trainings)")
    ax.set_ylabel("best objective")
    ax.legend(fontsize=8)
    return fig


def plot_best_schedule(beta: np.ndarray, bounds: Sequence[float] | None = None, title: str = "") -> Figure:
    """The zBO-best beta_c(i) against the jrVAE epoch ``i``."""
    beta = np.asarray(beta, float).reshape(-1)
    fig = Figure(figsize=(4.8, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(np.arange(1, len(beta) + 1), beta, color="C3", lw=2)
    if bounds is not None:
        for b in bounds:
            ax.axhline(b, color="0.4", ls="--", lw=0.8)
    ax.set_xlabel("jrVAE epoch i")
    ax.set_ylabel(r"$\beta_c(i)$")
    ax.set_title(title or r"zBO-best $\beta_c$ trajectory")
    return fig


def plot_model_manifolds(models: Mapping[str, Mapping]) -> Figure:
    """The models' learned manifolds side by side (Biswas et al. 2023, Fig. 7 layout).

    One column per model, one row per class (discrete class, or k-means cluster of the
    vanilla VAE); each column titled with the model name, objective and class accuracy.

    Parameters
    ----------
    models : mapping
        ``{name: {"montages": (K, G H, G W), "objective": float, "accuracy": float}}``.
    """
    if not models:
        raise ValueError("models: at least one model is required")
    K = max(len(np.asarray(m["montages"])) for m in models.values())
    fig = Figure(figsize=(2.6 * len(models), 2.5 * K + 0.6), layout="constrained")
    axs = np.array(fig.subplots(K, len(models), squeeze=False))
    for j, (name, m) in enumerate(models.items()):
        mont = np.asarray(m["montages"], float)
        for i in range(K):
            ax = axs[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if i < len(mont):
                ax.imshow(mont[i], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            else:
                ax.axis("off")
            if i == 0:
                ax.set_title(f"{name}\nobjective {float(m['objective']):.3f}\naccuracy {float(m['accuracy']):.3f}",
                             fontsize=9)
            if j == 0:
                ax.set_ylabel(f"class {i}")
    return fig


def plot_image_dataset(images: np.ndarray, labels: np.ndarray, angles: np.ndarray | None = None,
                       per_label: int = 8) -> Figure:
    """Sample images, one row per label, titled with the rotation angle (degrees)."""
    images, labels = np.asarray(images, float), np.asarray(labels)
    if images.ndim != 3 or labels.shape != (len(images),):
        raise ValueError(f"shapes: images {images.shape}, labels {labels.shape}")
    classes = np.unique(labels)
    fig = Figure(figsize=(1.1 * per_label, 1.2 * len(classes) + 0.4), layout="constrained")
    axs = np.array(fig.subplots(len(classes), per_label, squeeze=False))
    for i, c in enumerate(classes):
        sel = np.flatnonzero(labels == c)[:per_label]
        for j in range(per_label):
            ax = axs[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(sel):
                ax.imshow(images[sel[j]], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                if angles is not None:
                    ax.set_title(f"{float(np.asarray(angles)[sel[j]]):.0f}°", fontsize=7)
            else:
                ax.axis("off")
            if j == 0:
                ax.set_ylabel(f"label {c}\n({int((labels == c).sum())})", fontsize=8)
    return fig
