"""Figures of a spin study's sweep: the latent phase diagram, energies vs field, the optimized states.

Inputs are the rows of the sweep's ``metrics.json`` (:func:`latentopt.studies.spin_sweeps.sweep_point_summary`)
and its boundaries (:func:`latentopt.studies.spin_sweeps.sweep_boundaries`). Conventions of
:mod:`latentopt.plots.common`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from latentopt.physics.phases import PHASES
from latentopt.plots.common import plot_spin_grid

#: one colour per phase (:data:`latentopt.physics.phases.PHASES`)
PHASE_COLORS = {"spiral": "tab:blue", "mixed": "tab:gray", "skyrmion_lattice": "tab:orange",
                "isolated_skyrmions": "tab:purple", "ferromagnet": "tab:green"}


def _check_rows(rows: Sequence[Mapping]) -> None:
    if not rows:
        raise ValueError("rows: expected at least one sweep point")


def _line_of(row: Mapping) -> str:
    other = {k.split(".", 1)[1]: v for k, v in row["values"].items() if k not in ("system.B_z", "system.B")}
    return ",".join(f"{k}={v}" for k, v in other.items()) or "all"


def plot_phase_diagram(rows: Sequence[Mapping], boundaries: Mapping[str, Mapping]) -> Figure:
    """The latent phase of every point as a coloured cell (field across, one row per line of the other swept values),
    the reference phase as a small marker inside, the reference boundaries ``B_c1``, ``B_c2`` as lines.

    Returns
    -------
    Figure
        One axes; x: ``B_z`` (J), y: the lines (e.g. ``D=0.3``).
    """
    _check_rows(rows)
    lines = list(dict.fromkeys(_line_of(r) for r in rows))
    fields = sorted({r["B_z"] for r in rows})
    edges = _cell_edges(fields)
    fig = Figure(figsize=(8, 2.8 + 0.7 * len(lines)), layout="constrained")
    ax = fig.add_subplot()
    for r in rows:
        y = lines.index(_line_of(r))
        lo, hi = edges[fields.index(r["B_z"])]
        ax.add_patch(Rectangle((lo, y - 0.45), hi - lo, 0.9, color=PHASE_COLORS[r["latent_phase"]], alpha=0.8))
        ax.plot(r["B_z"], y, "o", ms=5, mec="k", mfc=PHASE_COLORS[r["reference_phase"]])
    for key, b in boundaries.items():
        if key not in lines:
            continue
        y = lines.index(key)
        for name, style in (("B_c1", "-"), ("B_c2", "--")):
            x = b["reference_crossings"][name]
            if x is not None:
                ax.plot([x, x], [y - 0.5, y + 0.5], "k" + style, lw=2)
    ax.set_xlim(edges[0][0], edges[-1][1])
    ax.set_ylim(-0.5, len(lines) - 0.5)
    ax.set_yticks(range(len(lines)), lines)
    ax.set_xlabel("B_z (J)")
    handles = [Patch(color=PHASE_COLORS[p], label=p.replace("_", " ")) for p in PHASES]
    handles += [ax.plot([], [], "k-", label="reference B_c1 (energy crossing)")[0],
                ax.plot([], [], "k--", label="reference B_c2 (energy crossing)")[0],
                ax.plot([], [], "o", mec="k", mfc="w", label="reference phase (marker colour)")[0]]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3, fontsize=8)
    ax.set_title("latent phase (cells) and reference (markers, lines)")
    return fig


def _cell_edges(fields: Sequence[float]) -> list[tuple[float, float]]:
    """Each field's cell: from the midpoint to its left neighbour to the midpoint to its right one."""
    f = list(fields)
    if len(f) == 1:
        return [(f[0] - 0.5, f[0] + 0.5)]
    mids = [(a + b) / 2 for a, b in zip(f, f[1:])]
    return list(zip([2 * f[0] - mids[0]] + mids, mids + [2 * f[-1] - mids[-1]]))


def plot_energies(rows: Sequence[Mapping]) -> Figure:
    """Energy per spin vs ``B_z``: the polished latent optimum and every relaxed reference candidate, one panel per line.

    The panel below each shows the energies minus the lowest candidate's on a symmetric log scale
    (linear within 1e-4 J), with the 5e-4 J criterion as a line.
    """
    _check_rows(rows)
    lines = list(dict.fromkeys(_line_of(r) for r in rows))
    fig = Figure(figsize=(5 * len(lines), 7), layout="constrained")
    axes = fig.subplots(2, len(lines), squeeze=False, sharex="col")
    for j, line in enumerate(lines):
        sel = sorted((r for r in rows if _line_of(r) == line), key=lambda r: r["B_z"])
        b = np.array([r["B_z"] for r in sel])
        ref = np.array([r["reference_energy"] for r in sel])
        names = list(dict.fromkeys(n for r in sel for n in r["candidates"]))
        for n in names:
            e = np.array([r["candidates"].get(n, {}).get("energy", np.nan) for r in sel])
            style = "--" if n.startswith("spiral") else (":" if n.startswith("skx") else "-.")
            axes[0, j].plot(b, e, style, lw=1, label=n)
            axes[1, j].plot(b, e - ref, style, lw=1)
        lat = np.array([r["latent_energy"] for r in sel])
        axes[0, j].plot(b, lat, "ko-", lw=2, label="latent optimum (polished)")
        axes[1, j].plot(b, lat - ref, "ko-", lw=2)
        axes[1, j].axhline(5e-4, color="r", lw=0.8, label="+5e-4 J")
        axes[0, j].set_title(line)
        axes[0, j].set_ylabel("energy per spin (J)")
        axes[1, j].set_ylabel("minus the lowest candidate (J)")
        axes[1, j].set_xlabel("B_z (J)")
        axes[1, j].set_yscale("symlog", linthresh=1e-4)  # linear within 1e-4 J, so 5e-4 and large gaps both show
        axes[0, j].legend(fontsize=7)
        axes[1, j].legend(fontsize=7)
    return fig


def plot_sweep_states(rows: Sequence[Mapping], states: Mapping[str, np.ndarray]) -> Figure:
    """The polished latent optimum of every point in a grid, titled with its field, phase and energy."""
    _check_rows(rows)
    spins = np.stack([np.asarray(states[r["point"]], dtype=np.float64) for r in rows])
    # W as the nearest int: "0", not "-0" for -3e-17
    titles = [f"B_z={r['B_z']:g} {r['latent_phase'].replace('_', ' ')}\n"
              f"e={r['latent_energy']:.5f} W={round(float(r['latent_W']))}" for r in rows]
    return plot_spin_grid(spins, titles=titles, suptitle="latent optimum at each point (polished)")
