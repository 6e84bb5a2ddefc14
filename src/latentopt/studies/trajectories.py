"""Trajectory studies (``kind: trajectories``; Kalinin's VAE lecture, FerroSIM): one function per rule.

trajectories -> train_trajectory_vae -> latent_grid (decoded, feasibility-filtered) ->
ground_truth (the objective on the whole grid) -> bayes/<run> (Bayesian optimization over
the feasible points) -> evaluate_trajectories (+ plot_bo_run per run). Kalinin's lecture
("BO in the latent space", FerroSIM curl) and Biswas et al. 2023 (zBO, Table 1). Each
function takes validated config blocks and arrays and returns the arrays of its output
file (``docs/outputs.md``); the thin scripts in ``workflow/scripts/trajectories/``
only read Snakemake's inputs and write the outputs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from latentopt.families import sample_training_set, time_axis
from latentopt.io import read_attrs, read_h5
from latentopt.physics.ferrosim import (FerroSim, coercive_field, curl, curl_objective, defect_fields,
                                        initial_polarization, simulate)
from latentopt.tables import Heading, Paragraph, Table

if TYPE_CHECKING:  # annotations only: each step imports torch, matplotlib and the models it needs when it
    import torch  # runs, so that a simulation, merge or plot job does not load them
    from matplotlib.figure import Figure

    from latentopt.models.trajectory_vae import TrajectoryVAE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FerroSimSetup:
    """A FerroSIM lattice with its quenched defects and initial state, all from ``system.seed``.

    Attributes
    ----------
    model : FerroSim
    p0 : ndarray, shape (2, N, N)
    defects : ndarray, shape (2, N, N)
        Defect fields in units of ``system.field_unit``.
    """

    model: FerroSim
    p0: np.ndarray
    defects: np.ndarray

    @classmethod
    def from_config(cls, system: dict) -> "FerroSimSetup":
        model = FerroSim.from_config(system)
        seed = int(system.get("seed", 7))
        d = system.get("defects", {})
        return cls(model, initial_polarization(model, system.get("initial", "poled"), seed),
                   defect_fields(model.N, d.get("fraction", 0.1), d.get("strength", 2.0), seed))


def evaluate_fields(setup: FerroSimSetup, fields: np.ndarray, objective: dict,
                    return_states: bool = False) -> dict[str, np.ndarray]:
    """Drive the lattice with field histories and score the final states.

    The lecture's target: each history plus ``objective["equilibration"]`` steps holding its
    last value, then the curl objectives of the final polarization.

    Parameters
    ----------
    setup : FerroSimSetup
    fields : ndarray, shape (m, T)
        Field histories in units of ``setup.model.field_unit``.
    objective : dict
        Validated ``objective:`` block (``name``, ``equilibration``, ``eps``).
    return_states : bool
        Also return the final maps as ``p (m, 2, N, N)``.

    Returns
    -------
    dict
        ``y (m,)`` the chosen objective; ``curl``, ``curl_normalized``, ``curl_unit`` (m,);
        ``mean_p (m, 2)`` the final mean polarization; optionally ``p``.
    """
    fields = np.asarray(fields, dtype=np.float64).reshape(-1, np.shape(fields)[-1])
    p = simulate(setup.model, fields, setup.p0, setup.defects, equilibration=int(objective["equilibration"]))
    b, eps = setup.model.boundary, float(objective["eps"])
    out = {kind: curl_objective(p, kind, b, eps) for kind in ("curl", "curl_normalized", "curl_unit")}
    out["y"] = out[objective["name"]]
    out["mean_p"] = p.mean(axis=(-2, -1))
    if return_states:
        out["p"] = p
    return out


def field_unit_attrs(system: dict) -> dict:
    """The field unit of a validated ``system:`` block, as recorded in every output of a trajectory study.

    Returns
    -------
    dict
        ``field_unit`` (``"E_c"`` or ``"ferrosim_Ec"``), ``field_unit_value`` (its value in
        Landau units, :func:`latentopt.physics.ferrosim.field_unit_value`) and
        ``E_c_in_field_units`` (the tetragonal coercive field ``E_c`` in that unit: 1 or
        sqrt(2)).
    """
    model = FerroSim.from_config(system)
    value = model.field_unit_value
    return {"field_unit": model.field_unit, "field_unit_value": value,
            "E_c_in_field_units": coercive_field(model.alpha1, model.alpha2) / value}


def field_label(unit: dict | None) -> str:
    """Axis label of a field in the unit of :func:`field_unit_attrs` (``"$E / E_c$"`` without one)."""
    if unit is None or unit["field_unit"] == "E_c":
        return "$E / E_c$"
    return "$E / E_c^{\\mathrm{FerroSim}}$"


def make_trajectories(trajectories: dict, field_unit: dict | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """The training histories drawn from the study's families (rule ``trajectories_families``).

    Parameters
    ----------
    trajectories : dict
        Validated ``trajectories:`` block (``families``, ``n``, ``steps``, ``seed``).
    field_unit : dict, optional
        :func:`field_unit_attrs` of the study's system: the unit the histories are in.

    Returns
    -------
    datasets : dict
        ``trajectories (n, T) float32``, ``params (n, k)`` (NaN-padded across families),
        ``family (n,)``, ``t (T,)``.
    attrs : dict
        ``trajectories`` (the block), ``families`` (names), ``parameters`` (per family), and
        the entries of ``field_unit``.
    """
    cfg = trajectories
    data = sample_training_set(cfg["families"], cfg["n"], cfg["steps"], cfg["seed"])
    log.info("%d trajectories of %d steps from %s", len(data["trajectories"]), cfg["steps"], data["names"])
    datasets = {"trajectories": data["trajectories"].astype("float32"), "params": data["params"],
                "family": data["family"], "t": time_axis(cfg["steps"])}
    return datasets, dict(trajectories=cfg, families=data["names"], parameters=data["parameters"],
                          **(field_unit or {}))


def train(trajectories: np.ndarray, vae: dict, *, device: torch.device | str = "cpu",
          checkpoint: str | Path | None = None, progress: bool = False) -> tuple[TrajectoryVAE, dict]:
    """Train the trajectory VAE on histories ``(n, T)`` with the ``vae`` block's settings.

    Rule ``trajectories_train``; see :func:`latentopt.trainers.trajectory_vae.train_trajectory_vae`.
    """
    from latentopt.trainers.trajectory_vae import train_trajectory_vae

    log.info("training on %d trajectories of %d steps, device %s, settings %s", *np.shape(trajectories), device, vae)
    model, history = train_trajectory_vae(trajectories, device=device, checkpoint=checkpoint, progress=progress, **vae)
    log.info("final loss %.3f, val_loss %.3f", history["loss"][-1], history["val_loss"][-1])
    return model, history


def decoded_grid(model: str | Path, trajectories: np.ndarray, latent: dict, *,
                 device: torch.device | str = "cpu") -> dict[str, np.ndarray]:
    """Encode the training histories, decode a grid spanning them, mark feasible points (rule ``trajectories_grid``).

    Returns the ``latent/grid.h5`` arrays of :func:`latentopt.latent.make_grid`.
    """
    from latentopt.latent import make_grid
    from latentopt.models.trajectory_vae import TrajectoryVAE
    from latentopt.models.vae import load_model
    from latentopt.trainers.trajectory_vae import decode_trajectories, encode_trajectories

    vae = load_model(model, device=device, cls=TrajectoryVAE)
    grid = make_grid(encode_trajectories(vae, trajectories), lambda z: decode_trajectories(vae, z), latent)
    log.info("grid of %d points, %d feasible (%.1f%%)", len(grid["z"]), grid["feasible"].sum(),
             100 * grid["feasible"].mean())
    return grid


def ground_truth(setup: FerroSimSetup, grid: dict, objective: dict) -> dict[str, np.ndarray]:
    """The objective at every feasible grid point (one vectorized simulation); NaN elsewhere.

    Returns
    -------
    dict
        ``y (G^d,)`` plus ``curl``, ``curl_normalized``, ``curl_unit`` (G^d,) and
        ``mean_p (G^d, 2)``, all NaN at infeasible points.
    """
    ok = np.asarray(grid["feasible"], dtype=bool)
    if not ok.any():
        raise ValueError("no feasible grid point: every decoded trajectory breaks latent.constraints; relax them")
    res = evaluate_fields(setup, grid["trajectories"][ok], objective)
    out = {}
    for key, value in res.items():
        full = np.full((len(ok),) + value.shape[1:], np.nan)
        full[ok] = value
        out[key] = full
    return out


def bayes_run(setup: FerroSimSetup, grid: dict, objective: dict, run: dict, truth: np.ndarray | None = None,
              checkpoint: str | Path | None = None, context: dict | None = None,
              progress: bool = True) -> tuple[dict[str, np.ndarray], dict]:
    """Bayesian optimization over the feasible grid points, plus the random-search baseline.

    Each chosen point's decoded trajectory (from the grid) is simulated; the GP posterior
    of the final fit is returned on every grid point. Random search draws
    ``run["random_seeds"]`` searches of the same budget from the feasible points, looked up
    in ``truth`` when given, otherwise simulated.

    Parameters
    ----------
    setup : FerroSimSetup
    grid : dict
        :func:`make_grid` output.
    objective, run : dict
        Validated ``objective:`` block and ``optimize.<run>`` block.
    truth : ndarray, shape (G^d,), optional
        Ground-truth objective (NaN at infeasible points).
    checkpoint, context, progress
        See :func:`latentopt.optimizers.bayes.bayesian_optimization`.

    Returns
    -------
    datasets : dict
        The ``bo/<run>.h5`` arrays: ``z (k, d)``, ``y (k,)``, ``initial (k,)``, ``best_z (d,)``,
        ``best_y ()``, ``best_trajectory (T,)``, ``gp_mean (G^d,)``, ``gp_std (G^d,)``,
        ``random_best (seeds, k)``; extras ``index (k,)`` (grid indices), ``best_so_far (k,)``,
        ``acquisition``, ``gain``, ``fit_seconds`` (per iteration), ``best_p (2, N, N)`` and
        ``best_curl (N, N)``.
    info : dict
        ``stopped_early``, ``kernel``, ``n_feasible``.
    """
    from latentopt.optimizers.bayes import (bayesian_optimization, gp_posterior, random_search,
                                            random_search_indices, unit_box)

    ok = np.flatnonzero(np.asarray(grid["feasible"], dtype=bool))
    if len(ok) < 2:
        raise ValueError(f"only {len(ok)} feasible grid points; relax latent.constraints")
    x = np.asarray(grid["trajectories"], dtype=np.float64)

    def evaluate(candidates: np.ndarray) -> np.ndarray:
        return evaluate_fields(setup, x[ok[candidates]], objective)["y"]

    res = bayesian_optimization(grid["z"][ok], evaluate, n_initial=run["n_initial"], iterations=run["iterations"],
                                acquisition_function=run["acquisition"], kappa=run["kappa"], xi=run["xi"],
                                tol=run["tol"], refit_every=run["refit_every"], n_restarts=run["n_restarts"],
                                seed=run["seed"], checkpoint=checkpoint, checkpoint_every=run["checkpoint_every"],
                                context=context, progress=progress)
    gp_mean, gp_std = gp_posterior(res.gp, unit_box(grid["z"][ok])(grid["z"]))
    budget = len(res.y)
    if truth is not None:
        rand = random_search(np.asarray(truth)[ok], budget, run["random_seeds"], run["seed"])
    else:
        visit = random_search_indices(len(ok), budget, run["random_seeds"], run["seed"])
        unique, inverse = np.unique(visit, return_inverse=True)
        values = evaluate(unique) if len(unique) else np.zeros(0)
        rand = np.maximum.accumulate(values[inverse].reshape(visit.shape), axis=1)
    best = res.best
    grid_index = ok[res.index]
    best_state = evaluate_fields(setup, x[grid_index[best]][None], objective, return_states=True)["p"][0]
    datasets = dict(z=grid["z"][grid_index], y=res.y, initial=res.initial, best_z=grid["z"][grid_index[best]],
                    best_y=np.float64(res.y[best]), best_trajectory=x[grid_index[best]], gp_mean=gp_mean, gp_std=gp_std,
                    random_best=rand, index=grid_index, best_so_far=res.best_so_far, acquisition=res.acquisition,
                    gain=res.gain, fit_seconds=res.fit_seconds, best_p=best_state,
                    best_curl=curl(best_state, setup.model.boundary))
    return datasets, dict(stopped_early=res.stopped_early, kernel=res.kernel, n_feasible=int(len(ok)))


def run_summary(bo: dict, truth: np.ndarray | None) -> dict:
    """Figures of merit of a BO run (the issue's done-when numbers).

    Returns
    -------
    dict
        ``evaluations``, ``best_y``, ``best_index``; with a ground truth also
        ``ground_truth_max``, ``fraction_of_max`` (best_y / max), ``evaluations_to_95``
        (first evaluation reaching 95% of the maximum, or None), ``random_median_best``
        (median over seeds of random search's best at the same budget),
        ``random_fraction_of_max``, ``beats_random_median``, ``random_evaluations_to_95_median``.
    """
    y = np.asarray(bo["y"])
    out = {"evaluations": int(len(y)), "best_y": float(bo["best_y"]), "best_index": int(bo["index"][np.argmax(y)]),
           "median_fit_seconds": float(np.median(bo["fit_seconds"])) if len(bo["fit_seconds"]) else None}
    rand = np.asarray(bo["random_best"])
    if rand.size:
        out["random_median_best"] = float(np.median(rand[:, -1]))
        out["beats_random_median"] = bool(out["best_y"] > out["random_median_best"])
    if truth is not None and np.isfinite(truth).any():
        top = float(np.nanmax(truth))
        out["ground_truth_max"] = top
        out["fraction_of_max"] = out["best_y"] / top if top else None
        reach = np.flatnonzero(np.maximum.accumulate(y) >= 0.95 * top)
        out["evaluations_to_95"] = int(reach[0]) + 1 if len(reach) else None
        if rand.size:
            out["random_fraction_of_max"] = out["random_median_best"] / top if top else None
            first = [np.flatnonzero(r >= 0.95 * top) for r in rand]
            steps = [int(f[0]) + 1 if len(f) else np.inf for f in first]
            med = float(np.median(steps))
            out["random_evaluations_to_95_median"] = med if np.isfinite(med) else None
    return out


def study_metrics(*, train: dict, history: dict, grid: dict, truth: dict | None, runs: dict[str, dict],
                  val_rmse: float, objective: dict, field_unit: dict | None = None) -> dict:
    """``metrics.json`` of a trajectory study.

    Parameters
    ----------
    train : dict
        ``trajectories/train.h5`` arrays (``trajectories``).
    history : dict
        ``vae/history.h5`` arrays.
    grid : dict
        ``latent/grid.h5`` arrays (``z``, ``feasible``).
    truth : dict or None
        ``latent/ground_truth.h5`` arrays.
    runs : dict
        Run name -> ``bo/<run>.h5`` arrays.
    val_rmse : float
        Reconstruction RMSE of the validation trajectories (units of the trajectories).
    objective : dict
        The validated ``objective:`` block.
    field_unit : dict, optional
        :func:`field_unit_attrs` of the study's system, recorded as ``field_unit``.
    """
    ok = np.asarray(grid["feasible"], dtype=bool)
    y = None if truth is None else np.asarray(truth["y"])
    out = {"kind": "trajectory", "objective": objective, **({"field_unit": field_unit} if field_unit else {}),
           "trajectories": {"n": int(len(train["trajectories"])), "T": int(np.shape(train["trajectories"])[1])},
           "vae": {"final_loss": float(history["loss"][-1]), "final_val_loss": float(history["val_loss"][-1]),
                   "val_reconstruction_rmse": float(val_rmse)},
           "grid": {"points": int(len(ok)), "feasible": int(ok.sum()), "feasible_fraction": float(ok.mean())}}
    if y is not None:
        k = int(np.nanargmax(y))
        out["ground_truth"] = {"max": float(y[k]), "argmax_z": np.asarray(grid["z"])[k].tolist(),
                               "mean": float(np.nanmean(y)), "median": float(np.nanmedian(y))}
    out["runs"] = {name: run_summary(r, y) for name, r in runs.items()}
    return out


def metrics_table(metrics: dict, study: str) -> list:
    """The report's metrics table (:func:`latentopt.tables.html_page`): one row per BO run."""
    cols = [("evaluations", "evaluations"), ("best_y", "BO best"), ("ground_truth_max", "ground-truth max"),
            ("fraction_of_max", "BO / max"), ("evaluations_to_95", "evals to 95% (BO)"),
            ("random_median_best", "random search median best"), ("random_fraction_of_max", "random / max"),
            ("random_evaluations_to_95_median", "evals to 95% (random, median)"),
            ("beats_random_median", "BO > random median"), ("median_fit_seconds", "BO overhead s/iter (median)")]

    def cell(v):
        return f"{v:.5g}" if isinstance(v, float) else str(v)

    rows = [[n] + [cell(r.get(k, "–")) for k, _ in cols] for n, r in metrics["runs"].items()]
    g, v = metrics["grid"], metrics["vae"]
    obj = metrics["objective"]
    unit = metrics.get("field_unit")
    unit_text = (f"Fields in units of {unit['field_unit']} = {unit['field_unit_value']:.6g} "
                 f"(Landau units; E_c = {unit['E_c_in_field_units']:.6g} in this unit). ") if unit else ""
    return [Heading(f"{study}: Bayesian optimization of {obj['name']} (after {obj['equilibration']} equilibration "
                    "steps)"),
            Table(["run"] + [label for _, label in cols], rows),
            Paragraph(f"{metrics['trajectories']['n']} training trajectories of {metrics['trajectories']['T']} steps; "
                      f"validation reconstruction RMSE {v['val_reconstruction_rmse']:.4g}; latent grid of "
                      f"{g['points']} points, {g['feasible']} feasible ({100 * g['feasible_fraction']:.1f}%). "
                      f"{unit_text}")]


# ------------------------------------------------------------------ evaluate_trajectories, plot_bo_run


def _parameter_names(parameters: list[list[str]], k: int) -> list[str]:
    """Column ``j`` of ``params`` is parameter ``j`` of each history's family (NaN-padded): label it with every
    family's name for it."""
    return [" / ".join(dict.fromkeys(ps[j] for ps in parameters if j < len(ps))) for j in range(k)]


def evaluate(*, trajectories: str | Path, model: str | Path, history: str | Path, grid: str | Path,
             truth: str | Path | None, runs: dict[str, str | Path], objective: dict, n_show: int,
             field_unit: dict | None = None, device: torch.device | str = "cpu") -> tuple[dict, dict[str, Figure]]:
    """``metrics.json`` content and the study-level figures of a trajectory study (rule ``trajectories_evaluate``).

    Parameters
    ----------
    trajectories, model, history, grid : path
        ``trajectories/train.h5``, ``vae/model.pt``, ``vae/history.h5``, ``latent/grid.h5``.
    truth : path or None
        ``latent/ground_truth.h5`` when the study computes it.
    runs : dict
        Run name -> ``bo/<run>.h5``.
    objective : dict
        The validated ``objective:`` block.
    n_show : int
        Histories drawn per panel of the samples figure.
    field_unit : dict, optional
        :func:`field_unit_attrs` of the study's system (metrics and axis labels).

    Returns
    -------
    metrics : dict
        :func:`study_metrics`.
    figures : dict of str to Figure
        ``trajectory_samples``, ``training_curves``, ``latent_parameters``,
        ``feasible_region``, ``bo_convergence``.
    """
    from latentopt.models.trajectory_vae import TrajectoryVAE
    from latentopt.models.vae import load_model
    from latentopt.plots.common import placeholder, plot_training_curves
    from latentopt.plots.trajectories import (plot_bo_convergence, plot_feasible_region, plot_latent_parameters,
                                              plot_trajectory_samples)
    from latentopt.trainers.trajectory_vae import decode_trajectories, encode_trajectories

    train_data = read_h5(trajectories)
    names = _parameter_names(read_attrs(trajectories)["parameters"], train_data["params"].shape[1])
    hist = read_h5(history)
    grid_data = read_h5(grid)
    truth_data = read_h5(truth) if truth is not None else None
    run_data = {name: read_h5(p) for name, p in runs.items()}
    vae = load_model(model, device=device, cls=TrajectoryVAE)
    val = train_data["trajectories"][hist["val_indices"]]
    val_rmse = float(np.sqrt(np.mean((decode_trajectories(vae, encode_trajectories(vae, val)) - val) ** 2))) \
        if len(val) else float("nan")
    metrics = study_metrics(train=train_data, history=hist, grid=grid_data, truth=truth_data, runs=run_data,
                            val_rmse=val_rmse, objective=objective, field_unit=field_unit)
    figures = {
        "trajectory_samples": plot_trajectory_samples(train_data["t"], train_data["trajectories"],
                                                      train_data["params"], names, n_show,
                                                      ylabel=field_label(field_unit)),
        "training_curves": plot_training_curves(hist),
    }
    if grid_data["z"].shape[1] == 2:
        figures["latent_parameters"] = plot_latent_parameters(grid_data["z_train"], train_data["params"], names)
        figures["feasible_region"] = plot_feasible_region(grid_data["feasible"], grid_data["axes"],
                                                          grid_data["z_train"], train_data["t"],
                                                          grid_data["trajectories"], ylabel=field_label(field_unit))
    else:
        for key in ("latent_parameters", "feasible_region"):
            figures[key] = placeholder(f"latent maps are drawn for latent_dim = 2 (here {grid_data['z'].shape[1]})")
    n_initial = {name: int(np.sum(r["initial"])) for name, r in run_data.items()}
    figures["bo_convergence"] = plot_bo_convergence(
        {name: dict(y=r["y"], n_initial=n_initial[name], random_best=r["random_best"]) for name, r in run_data.items()},
        truth_max=metrics.get("ground_truth", {}).get("max"), label=objective["name"])
    return metrics, figures


def bo_figures(*, run: str | Path, run_name: str, grid: str | Path, trajectories: str | Path,
               truth: str | Path | None, objective: dict, field_unit: dict | None = None) -> dict[str, Figure]:
    """The figures of one BO run (rule ``trajectories_plot``): ``surfaces`` (ground truth | GP mean | GP std with the
    explored points) and ``best`` (the best field history, in the unit of ``field_unit``
    (:func:`field_unit_attrs`) with lines at +-E_c, and its final polarization and curl)."""
    from latentopt.plots.common import placeholder
    from latentopt.plots.trajectories import plot_best_history, plot_bo_surfaces

    bo = read_h5(run)
    grid_data = read_h5(grid, ["z", "feasible", "axes"])
    t = read_h5(trajectories, ["t"])["t"]
    y = read_h5(truth, ["y"])["y"] if truth is not None else None
    if grid_data["z"].shape[1] == 2:
        surfaces = plot_bo_surfaces(grid_data["axes"], bo["gp_mean"], bo["gp_std"], grid_data["feasible"], bo["z"],
                                    bo["initial"], bo["best_z"], y, label=objective["name"])
    else:
        surfaces = placeholder(f"surfaces are drawn for latent_dim = 2 (here {grid_data['z'].shape[1]})")
    best = plot_best_history(t, bo["best_trajectory"], objective["equilibration"], bo["best_p"], bo["best_curl"],
                             ylabel=field_label(field_unit),
                             coercive=1.0 if field_unit is None else field_unit["E_c_in_field_units"],
                             title=f"{run_name}: best {objective['name']} = {float(bo['best_y']):.4g} "
                                   f"at z = ({', '.join(f'{v:.3f}' for v in bo['best_z'])})")
    return {"surfaces": surfaces, "best": best}
