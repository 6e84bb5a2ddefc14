"""The steps of a trajectory study (``system.model: ferrosim``), one function per workflow rule.

trajectories -> trajectory VAE -> decoded, feasibility-filtered latent grid -> objective on
the grid (ground truth) -> Bayesian optimization over the feasible points -> summary.
Kalinin's lecture ("BO in the latent space", FerroSIM curl) and Biswas et al. 2023 (zBO,
Table 1). Each function takes validated config blocks and arrays and returns the arrays
of its output file (``README.md``, "Outputs").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import numpy as np

from latentopt.optimizers.bayes import (bayesian_optimization, gp_posterior, random_search, random_search_indices,
                                        unit_box)
from latentopt.physics.ferrosim import (FerroSim, curl, curl_objective, defect_fields, initial_polarization,
                                        simulate)


@dataclass(frozen=True)
class FerroSimSetup:
    """A FerroSIM lattice with its quenched defects and initial state, all from ``system.seed``.

    Attributes
    ----------
    model : FerroSim
    p0 : ndarray, shape (2, N, N)
    defects : ndarray, shape (2, N, N)
        Defect fields in units of ``E_c``.
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
        Field histories in units of ``E_c``.
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
                  val_rmse: float, objective: dict) -> dict:
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
    """
    ok = np.asarray(grid["feasible"], dtype=bool)
    y = None if truth is None else np.asarray(truth["y"])
    out = {"kind": "trajectory", "objective": objective,
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


def metrics_html(metrics: dict, study: str) -> str:
    """A small self-contained HTML table of a trajectory study's metrics (rows: BO runs)."""
    import html

    cols = [("evaluations", "evaluations"), ("best_y", "BO best"), ("ground_truth_max", "ground-truth max"),
            ("fraction_of_max", "BO / max"), ("evaluations_to_95", "evals to 95% (BO)"),
            ("random_median_best", "random search median best"), ("random_fraction_of_max", "random / max"),
            ("random_evaluations_to_95_median", "evals to 95% (random, median)"),
            ("beats_random_median", "BO > random median"), ("median_fit_seconds", "BO overhead s/iter (median)")]

    def cell(v):
        return f"<td>{v:.5g}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>"

    rows = "".join(f"<tr><th>{html.escape(n)}</th>{''.join(cell(r.get(k, '–')) for k, _ in cols)}</tr>"
                   for n, r in metrics["runs"].items())
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in cols)
    g, v = metrics["grid"], metrics["vae"]
    obj = metrics["objective"]
    return (f"<html><head><meta charset='utf-8'><style>table{{border-collapse:collapse;font-family:sans-serif}}"
            f"td,th{{border:1px solid #999;padding:3px 8px;text-align:right}}</style></head><body>"
            f"<h3>{html.escape(study)}: Bayesian optimization of {html.escape(obj['name'])} "
            f"(after {obj['equilibration']} equilibration steps)</h3>"
            f"<table><tr><th>run</th>{head}</tr>{rows}</table>"
            f"<p>{metrics['trajectories']['n']} training trajectories of {metrics['trajectories']['T']} steps; "
            f"validation reconstruction RMSE {v['val_reconstruction_rmse']:.4g}; latent grid of {g['points']} points, "
            f"{g['feasible']} feasible ({100 * g['feasible_fraction']:.1f}%).</p></body></html>")
