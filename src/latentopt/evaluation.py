"""Evaluate a study: ``metrics.json`` and the report figures, from the workflow's files.

Sets: ``dataset`` (X_IN), ``vae`` (X_VAE), ``relaxed`` (X'_VAE) and one per optimization
run (its best state). See :func:`latentopt.metrics.set_metrics` for the per-set numbers.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from latentopt import plots
from latentopt.dataset import load_dataset
from latentopt.io import read_attrs, read_h5
from latentopt.metrics import reconstruction_ssim, set_metrics
from latentopt.models.vae import load_model
from latentopt.optimizers import make_objective
from latentopt.physics.hamiltonian import ChiralMagnet, energy_density, nodal_points
from latentopt.physics.observables import magnetization_z, topological_charge
from latentopt.trainers.vae import decode as decode_codes
from latentopt.trainers.vae import encode_mean


def _titles(spins: np.ndarray, model: ChiralMagnet) -> list[str]:
    e = energy_density(spins, model).mean(axis=(-2, -1))
    w = topological_charge(spins)
    return [f"W={wi:.0f}, e={ei:.4f}" for wi, ei in zip(np.atleast_1d(w), np.atleast_1d(e))]


def validation_ssim(model_path: str | Path, spins: np.ndarray, val_indices: np.ndarray,
                    device: torch.device | str = "cpu") -> np.ndarray:
    """SSIM of each validation state with its reconstruction ``decode(mu(x))``; shape ``(n_val,)``."""
    vae = load_model(model_path, device=device)
    x = spins[np.asarray(val_indices, dtype=np.int64)]
    rec = decode_codes(vae, encode_mean(vae, x, device), device)
    return reconstruction_ssim(x, rec)


def set_objective(objective, spins: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Values ``(n,)`` of an :class:`~latentopt.optimizers.Objective` over states ``(n, 3, L, L)`` (CPU)."""
    with torch.no_grad():
        return torch.cat([objective.value(torch.from_numpy(np.ascontiguousarray(c, dtype=np.float32)))
                          for c in np.array_split(spins, max(1, -(-len(spins) // chunk)))]).numpy()


def run_summary(name_attrs: dict, result: dict, reference_sets: dict[str, np.ndarray], model: ChiralMagnet) -> dict:
    """How one run compares with the best state of each reference set under the run's own objective.

    Returns ``algorithm``, ``objective``, ``direction``, ``iterations``, ``first_iteration_value``,
    ``best_value`` and, per reference set ``<s>``, ``<s>_best`` and ``beats_<s>`` (strictly better).
    """
    settings = name_attrs["settings"] if isinstance(name_attrs["settings"], dict) else {}
    objective = make_objective(name_attrs["objective"], name_attrs["direction"], model, a=settings.get("a", (1, 0)),
                               boundary=result.get("boundary"))
    best = float(result["best_value"])
    out = {"algorithm": name_attrs["algorithm"], "objective": name_attrs["objective"],
           "direction": name_attrs["direction"], "iterations": int(len(result["objective"])),
           "first_iteration_value": float(result["objective"][0]), "best_value": best}
    for set_name, spins in reference_sets.items():
        values = objective.sign * set_objective(objective, spins)
        ref = float(objective.sign * values.max())
        out[f"{set_name}_best"] = ref
        out[f"beats_{set_name}"] = bool(objective.sign * best > objective.sign * ref)
    return out


def study_metrics(sets: dict[str, np.ndarray], model: ChiralMagnet, nodal_threshold: float) -> dict:
    """``{set name: set_metrics(...)}`` for states ``(n, 3, L, L)`` of each set."""
    return {name: set_metrics(spins, model, nodal_threshold) for name, spins in sets.items()}


def metrics_html(metrics: dict, study: str) -> str:
    """A small self-contained HTML table of the main metrics (rows: sets)."""
    cols = [("n", "n"), ("energy_mean", "energy mean"), ("energy_std", "energy std"), ("energy_min", "energy min"),
            ("max_local_energy_density", "max local ε"), ("nodal_points_mean", "nodal pts / state"),
            ("states_with_nodal_points", "states w/ nodal pts"), ("W_mean", "W mean"), ("W_max", "W max"),
            ("Mz_mean", "M_z mean"), ("Mz_max", "M_z max")]
    rows = []
    for name, m in metrics["sets"].items():
        cells = "".join(f"<td>{m[k]:.5g}</td>" if isinstance(m[k], float) else f"<td>{m[k]}</td>" for k, _ in cols)
        rows.append(f"<tr><th>{html.escape(name)}</th>{cells}</tr>")
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in cols)
    run_cols = [("algorithm", "algorithm"), ("objective", "objective"), ("direction", "direction"),
                ("iterations", "iterations"), ("first_iteration_value", "first iteration"), ("best_value", "best"),
                ("dataset_best", "best in X_IN"), ("relaxed_best", "best in X'_VAE")]
    run_rows = []
    for name, r in metrics["runs"].items():
        cells = "".join(f"<td>{r[k]:.6g}</td>" if isinstance(r[k], float) else f"<td>{html.escape(str(r[k]))}</td>"
                        for k, _ in run_cols)
        run_rows.append(f"<tr><th>{html.escape(name)}</th>{cells}</tr>")
    run_head = "".join(f"<th>{html.escape(label)}</th>" for _, label in run_cols)
    ssim = metrics["reconstruction_ssim"]
    return (f"<html><head><meta charset='utf-8'><style>table{{border-collapse:collapse;font-family:sans-serif}}"
            f"td,th{{border:1px solid #999;padding:3px 8px;text-align:right}}</style></head><body>"
            f"<h3>{html.escape(study)}: metrics (energies per spin in units of J)</h3>"
            f"<table><tr><th>set</th>{head}</tr>{''.join(rows)}</table>"
            f"<h3>optimization runs: best value vs the best training (X_IN) and relaxed (X'_VAE) state</h3>"
            f"<table><tr><th>run</th>{run_head}</tr>{''.join(run_rows)}</table>"
            f"<p>Reconstruction SSIM on {ssim['n']} validation states: {ssim['mean']:.4f} ± {ssim['std']:.4f}</p>"
            f"</body></html>")


def evaluate_study(*, dataset: str | Path, model: str | Path, history: str | Path, vae: str | Path,
                   relaxed: str | Path, runs: dict[str, str | Path], system: dict, nodal_threshold: float,
                   n_show: int = 8, device: torch.device | str = "cpu") -> tuple[dict, dict[str, Figure]]:
    """Compute ``metrics.json`` content and the report figures of one study.

    Parameters
    ----------
    dataset, model, history, vae, relaxed : path
        The study's ``dataset.h5``, ``model.pt``, ``history.h5``, ``samples/vae.h5``,
        ``samples/relaxed.h5``.
    runs : dict
        Run name -> ``optimize/<run>.h5``.
    system : dict
        The study's ``system`` block.
    nodal_threshold : float
        Nodal-point threshold on the local energy density (units of J).
    n_show : int
        States shown in sample grids.

    Returns
    -------
    metrics : dict
        ``{"sets": {name: metrics}, "runs": {name: {...}}, "reconstruction_ssim": {...},
        "nodal_threshold": float}``.
    figures : dict of str to Figure
        Keys: ``dataset_samples``, ``vae_samples``, ``relaxed_samples``, ``energy_histograms``,
        ``energy_density_maps``, ``training_curves``, ``optimizer_traces``, ``w_vs_mz``.
    """
    hm = ChiralMagnet.from_config(system)
    data, _ = load_dataset(dataset)
    x_vae = read_h5(vae, ["spins"])["spins"]
    x_rel = read_h5(relaxed, ["spins"])["spins"]
    hist = read_h5(history)
    run_data = {name: read_h5(path) for name, path in runs.items()}
    run_attrs = {name: read_attrs(path) for name, path in runs.items()}

    sets = {"dataset": data["spins"], "vae": x_vae, "relaxed": x_rel}
    sets.update({name: d["best_spins"][None] for name, d in run_data.items()})
    metrics = {"settings": {"system": system, "nodal_threshold": nodal_threshold, "n_show": n_show},
               "nodal_threshold": nodal_threshold, "sets": study_metrics(sets, hm, nodal_threshold), "runs": {}}
    for name, d in run_data.items():
        metrics["runs"][name] = run_summary(run_attrs[name], d, {"dataset": data["spins"], "relaxed": x_rel}, hm)
    has_val = len(hist["val_indices"]) > 0
    ssim = validation_ssim(model, data["spins"], hist["val_indices"], device) if has_val else np.array([np.nan])
    metrics["reconstruction_ssim"] = {"n": int(len(hist["val_indices"])), "mean": float(np.mean(ssim)),
                                      "std": float(np.std(ssim))}

    k = min(n_show, len(data["spins"]))
    figs = {}
    for key, name, states in (("dataset_samples", "X_IN", data["spins"]), ("vae_samples", "X_VAE", x_vae),
                              ("relaxed_samples", "X'_VAE", x_rel)):
        shown = states[:k]
        figs[key] = plots.plot_spin_grid(shown, titles=_titles(shown, hm), suptitle=f"{name} (first {len(shown)})")

    n_hist = min(100, len(data["spins"]))  # the paper's Fig. 3c uses 100 states per set
    dens = {"X_IN": energy_density(data["spins"][:n_hist], hm), "X_VAE": energy_density(x_vae[:n_hist], hm),
            "X'_VAE": energy_density(x_rel[:n_hist], hm)}
    figs["energy_histograms"] = plots.plot_energy_histograms(dens, threshold=nodal_threshold)

    # the X_VAE states with most nodal points, next to the same codes after relaxation
    n_nodal = nodal_points(dens["X_VAE"], nodal_threshold).sum(axis=(-2, -1))
    pick = np.argsort(-n_nodal, kind="stable")[: min(3, len(n_nodal))]
    pair = np.concatenate([x_vae[pick], x_rel[pick]])
    pair_dens = energy_density(pair, hm)
    titles = [f"X_VAE #{i}" for i in pick] + [f"X'_VAE #{i}" for i in pick]
    pair_nodal = nodal_points(pair_dens, nodal_threshold)
    figs["energy_density_maps"] = plots.plot_energy_density_maps(pair, pair_dens, pair_nodal, titles=titles)
    figs["training_curves"] = plots.plot_training_curves(hist)
    traces = {name: (d["objective"], run_attrs[name]["objective"]) for name, d in run_data.items()}
    figs["optimizer_traces"] = (plots.plot_optimizer_traces(traces) if traces
                                else plots.placeholder("no optimization runs"))
    marked = {name: (float(topological_charge(d["best_spins"])), float(magnetization_z(d["best_spins"])))
              for name, d in run_data.items()}
    figs["w_vs_mz"] = plots.plot_w_vs_mz(data["W"], data["Mz"], marked)
    return metrics, figs
