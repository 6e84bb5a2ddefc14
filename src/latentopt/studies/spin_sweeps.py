"""The steps of a spin study with ``sweep:`` (:mod:`latentopt.sweeps`): one function per sweep rule.

Rules spins_sweep_simulate (per point and shard; :func:`latentopt.studies.spins.simulate_shard` with the
point's system) -> spins_merge (:func:`merge_sweep_dataset`: the pooled data set) -> spins_train ->
spins_sweep_optimize (:func:`latentopt.studies.spins.optimize` with the point's system, per point and run)
+ spins_sweep_reference (:func:`reference_point`, per point) -> spins_sweep_evaluate
(:func:`sweep_evaluate`). The phases, candidates and the classification rule are
:mod:`latentopt.physics.phases`; the figures :mod:`latentopt.plots.sweeps`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from latentopt.io import read_attrs, read_h5
from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.physics.observables import magnetization_z
from latentopt.tables import Heading, Paragraph, Table

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ sweeps (``sweep:``; latentopt.sweeps)
# spins_sweep_simulate (per point and shard; simulate_shard with the point's system) -> spins_sweep_merge
# (merge_sweep_dataset: the pooled data set) -> spins_train -> spins_sweep_optimize (optimize with the point's
# system, per point and run) + spins_sweep_reference (reference_point, per point) -> spins_sweep_evaluate
# (sweep_evaluate).


def merge_sweep_dataset(point_shards: dict[str, list[str | Path]], out: str | Path, system: dict, sweep: dict,
                        simulate: dict) -> None:
    """Pool the shards of every point of a sweep into one ``dataset.h5`` (the one VAE's training set).

    Each point's shards must hold its sample indices ``0 .. n - 1`` (:func:`latentopt.dataset.merge_shards`); the
    pooled file numbers the states ``0 .. P n - 1`` in point order and adds ``point (P n,)``, the position of each
    state's point in ``attrs["points"]``.
    """
    from latentopt.dataset import DATASET_KEYS
    from latentopt.io import write_h5

    parts, point = [], []
    for k, (name, paths) in enumerate(point_shards.items()):
        shards = sorted((read_h5(p) for p in paths), key=lambda d: int(d["index"][0]) if len(d["index"]) else 0)
        index = np.concatenate([s["index"] for s in shards])
        if not np.array_equal(index, np.arange(len(index))):
            raise ValueError(f"point {name}: shard sample indices are not 0..{len(index) - 1}")
        parts.append({key: np.concatenate([s[key] for s in shards]) for key in DATASET_KEYS})
        point.append(np.full(len(index), k, dtype=np.int64))
    data = {key: np.concatenate([p[key] for p in parts]) for key in DATASET_KEYS}
    data["point"] = np.concatenate(point)
    data["index"] = np.arange(len(data["point"]), dtype=np.int64)
    write_h5(out, data, attrs=dict(system=system, sweep=sweep, simulate=simulate, seed=simulate["seed"],
                                   points=list(point_shards)))


def reference_point(system: dict, settings: dict, device: str = "cpu") -> tuple[dict[str, np.ndarray], dict]:
    """The reference candidates of one sweep point relaxed in spin space (:mod:`latentopt.physics.phases`).

    Parameters
    ----------
    system : dict
        The point's ``system`` block.
    settings : dict
        The study's ``phases`` block (``n_spirals``, ``max_strain``, ``period_range``, ``tol``, ``max_iter``).

    Returns
    -------
    datasets : dict
        ``spins (k, 3, L, L)`` relaxed (float32), ``energy``, ``initial_energy``, ``W``, ``Mz`` ``(k,)`` (per
        spin, J), ``converged``, ``iterations`` ``(k,)``.
    attrs : dict
        ``names``, ``phases``, ``families`` (lists of the k candidates), ``best`` (the lowest candidate's name),
        ``phase`` (its phase), ``system``.
    """
    from latentopt.physics import phases

    model = ChiralMagnet.from_config(system)
    cands = phases.candidate_states(model, settings["n_spirals"], settings["max_strain"],
                                    tuple(settings["period_range"]))
    log.info("relaxing %d candidates %s at %s", len(cands), list(cands), system)
    res = phases.relax_candidates(model, cands, tol=settings["tol"], max_iter=settings["max_iter"], device=device)
    names = list(res)
    col = lambda key, dtype=np.float64: np.array([res[n][key] for n in names], dtype=dtype)  # noqa: E731
    best = min(names, key=lambda n: res[n]["energy"])
    for n in names:
        log.info("%-14s e %.6f -> %.6f  W %5.1f  M_z %.3f  %s%s", n, res[n]["initial_energy"], res[n]["energy"],
                 res[n]["W"], res[n]["Mz"], res[n]["phase"], "" if res[n]["converged"] else " (not converged)")
    datasets = dict(spins=np.stack([res[n]["spins"] for n in names]), energy=col("energy"),
                    initial_energy=col("initial_energy"), W=col("W"), Mz=col("Mz"),
                    converged=col("converged", np.bool_), iterations=col("iterations", np.int64))
    attrs = dict(names=names, phases=[res[n]["phase"] for n in names], families=[res[n]["family"] for n in names],
                 best=best, phase=res[best]["phase"], system=system)
    return datasets, attrs


def sweep_point_summary(name: str, point: dict, reference: str | Path, runs: dict[str, str | Path]) -> dict:
    """One point's row of the sweep's ``metrics.json``: the latent optimum against the relaxed candidates.

    The latent optimum is the lowest polished energy among the point's runs; its phase is classified
    (:func:`latentopt.physics.phases.classify`). ``family_energy``: the lowest energy among the relaxed
    candidates of each relaxed phase (a skyrmion lattice that unwinds counts as what it became). ``gap = latent_energy - reference_energy`` (J per spin;
    at most 5e-4 or negative is the issue's criterion).
    """
    from latentopt.physics import phases
    from latentopt.sweeps import field_of

    model = ChiralMagnet.from_config(point["system"])
    ref = read_h5(reference)
    ref_attrs = read_attrs(reference)
    names = ref_attrs["names"]
    run_data = {r: read_h5(p, ["polished_energy", "polished_spins", "polished_W"]) for r, p in runs.items()}
    best_run = min(run_data, key=lambda r: float(run_data[r]["polished_energy"]))
    latent = run_data[best_run]
    spins = np.asarray(latent["polished_spins"], dtype=np.float64)
    latent_energy = float(latent["polished_energy"])
    i_best = int(np.argmin(ref["energy"]))
    families: dict[str, float] = {}  # the lowest energy of each *relaxed* phase (a candidate may change phase)
    for e, phase in zip(ref["energy"], ref_attrs["phases"]):
        families[phase] = min(families.get(phase, np.inf), float(e))
    return {"point": name, "values": point["values"], "B_z": field_of(point), "J": model.J, "D": model.D,
            "h": phases.reduced_field(field_of(point), model.J, model.D) if model.D else None,
            "latent_run": best_run, "latent_energy": latent_energy,
            "latent_phase": phases.classify(spins, model.J, model.D), "latent_W": float(latent["polished_W"]),
            "latent_Mz": float(magnetization_z(spins)),
            "reference_candidate": names[i_best], "reference_energy": float(ref["energy"][i_best]),
            "reference_phase": ref_attrs["phases"][i_best],
            "candidates": {n: {"energy": float(e), "phase": p, "W": float(w)}
                           for n, e, p, w in zip(names, ref["energy"], ref_attrs["phases"], ref["W"])},
            "family_energy": families, "gap": latent_energy - float(ref["energy"][i_best])}


def sweep_boundaries(rows: list[dict]) -> dict:
    """``B_c1``, ``B_c2`` of the latent and the reference phases along the field, per value of the other swept keys.

    Grid boundaries (:func:`latentopt.physics.phases.phase_boundaries`) of both, and the reference's
    interpolated crossings of the lowest energies of the relaxed candidates classified spiral /
    skyrmion lattice / ferromagnet (``family_energy``)
    (:func:`latentopt.physics.phases.crossing_field`), next to the continuum values
    (:func:`latentopt.physics.phases.continuum_fields`). Rows that share every swept value but the
    field form one line; its key is the other values (``"D=0.3"``; ``"all"`` when only the field is swept).
    """
    from latentopt.physics import phases

    lines: dict[str, list[dict]] = {}
    for r in rows:
        other = {k.split(".", 1)[1]: v for k, v in r["values"].items() if k not in ("system.B_z", "system.B")}
        lines.setdefault(",".join(f"{k}={v}" for k, v in other.items()) or "all", []).append(r)
    out = {}
    for key, line in lines.items():
        line = sorted(line, key=lambda r: r["B_z"])
        fields = [r["B_z"] for r in line]
        if len(set(fields)) != len(fields):
            continue  # several points share a field (e.g. swept in-plane components): no field line
        fam = lambda f: [r["family_energy"].get(f, np.inf) for r in line]  # noqa: E731
        latent = phases.phase_boundaries(fields, [r["latent_phase"] for r in line])
        reference = phases.phase_boundaries(fields, [r["reference_phase"] for r in line])
        step = float(np.min(np.diff(fields))) if len(fields) > 1 else None
        out[key] = {"fields": fields, "grid_step": step,
                    "latent": latent, "reference": reference,
                    # where the skyrmion lattice drops below the spiral, the ferromagnet below the lattice
                    "reference_crossings": {"B_c1": phases.crossing_field(fields, fam("spiral"), fam("skyrmion_lattice")),
                                            "B_c2": phases.crossing_field(fields, fam("skyrmion_lattice"),
                                                                          fam("ferromagnet"))},
                    "continuum": phases.continuum_fields(line[0]["J"], line[0]["D"]) if line[0]["D"] else None,
                    "agree_within_one_step": {
                        b: (latent[b] is None and reference[b] is None) or (
                            latent[b] is not None and reference[b] is not None and step is not None
                            and abs(latent[b] - reference[b]) <= step * (1 + 1e-9))
                        for b in ("B_c1", "B_c2")}}
    return out


def sweep_evaluate(points: dict[str, dict], references: dict[str, str | Path],
                   runs: dict[str, dict[str, str | Path]], tolerance: float = 5e-4) -> tuple[dict, dict]:
    """The sweep's ``metrics.json`` and figures (rule ``spins_sweep_evaluate``).

    Parameters
    ----------
    points : dict
        :func:`latentopt.sweeps.expand_sweep` of the study.
    references : dict
        Point -> ``points/<point>/reference.h5``.
    runs : dict
        Point -> {run -> ``points/<point>/optimize/<run>.h5``}.
    tolerance : float
        The largest ``gap`` (J per spin) counted as matching the reference.

    Returns
    -------
    metrics : dict
        ``points`` (one :func:`sweep_point_summary` per point), ``boundaries`` (:func:`sweep_boundaries`),
        ``tolerance``, ``points_within_tolerance``, ``max_gap``.
    figures : dict
        ``sweep_phase_diagram``, ``sweep_energies``, ``sweep_states`` (Figures).
    """
    from latentopt.plots.sweeps import plot_energies, plot_phase_diagram, plot_sweep_states

    rows = [sweep_point_summary(name, p, references[name], runs[name]) for name, p in points.items()]
    bounds = sweep_boundaries(rows)
    gaps = [r["gap"] for r in rows]
    metrics = {"points": rows, "boundaries": bounds, "tolerance": tolerance,
               "points_within_tolerance": int(sum(g <= tolerance for g in gaps)), "n_points": len(rows),
               "max_gap": float(max(gaps))}
    states = {name: read_h5(runs[name][r["latent_run"]], ["polished_spins"])["polished_spins"]
              for name, r in zip(points, rows)}
    figures = {"sweep_phase_diagram": plot_phase_diagram(rows, bounds),
               "sweep_energies": plot_energies(rows),
               "sweep_states": plot_sweep_states(rows, states)}
    return metrics, figures


def sweep_table(metrics: dict, study: str) -> list:
    """The report's sweep table: one row per point, then B_c1, B_c2 latent vs reference per field line."""
    cols = ["point", "B_z", "h = B J/D²", "latent phase", "latent e", "reference phase", "reference candidate",
            "reference e", "latent − reference"]
    fmt = lambda v: "–" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v))  # noqa: E731
    rows = [[r["point"], fmt(r["B_z"]), fmt(r["h"]), r["latent_phase"], f"{r['latent_energy']:.6f}",
             r["reference_phase"], r["reference_candidate"], f"{r['reference_energy']:.6f}", f"{r['gap']:+.2e}"]
            for r in metrics["points"]]
    brows = []
    for key, b in metrics["boundaries"].items():
        for c in ("B_c1", "B_c2"):
            cont = b["continuum"][c] if b["continuum"] else None
            brows.append([key, c, fmt(b["latent"][c]), fmt(b["reference"][c]), fmt(b["reference_crossings"][c]),
                          fmt(cont), fmt(b["grid_step"]), str(b["agree_within_one_step"][c])])
    return [Heading(f"{study}: sweep (energies per spin in units of J)"), Table(cols, rows),
            Heading("phase boundaries: first grid field of the phase (latent, reference), the reference's "
                    "interpolated energy crossing, the continuum value"),
            Table(["line", "boundary", "latent (grid)", "reference (grid)", "reference (crossing)", "continuum",
                   "grid step", "agree within one step"], brows),
            Paragraph(f"{metrics['points_within_tolerance']} of {metrics['n_points']} points have a polished latent "
                      f"optimum within {metrics['tolerance']:g} J/spin of the lowest relaxed candidate or below it "
                      f"(largest gap {metrics['max_gap']:+.2e})")]
