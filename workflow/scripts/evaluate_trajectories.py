"""Metrics and study-level figures of a trajectory study (rule evaluate_trajectories)."""

from pathlib import Path

import numpy as np

from latentopt.device import resolve_device
from latentopt.io import atomic_path, read_attrs, read_h5, write_json
from latentopt.models.trajectory_vae import TrajectoryVAE
from latentopt.models.vae import load_model
from latentopt.plots import placeholder, plot_training_curves, save_figure
from latentopt.scripting import setup
from latentopt.trainers.trajectory_vae import decode_trajectories, encode_trajectories
from latentopt.trajectory_plots import (plot_bo_convergence, plot_feasible_region, plot_latent_parameters,
                                        plot_trajectory_samples)
from latentopt.trajectory_study import metrics_html, study_metrics

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads)
train = read_h5(sm.input.trajectories)
# column j of `params` is parameter j of each history's family (NaN-padded): label it with every family's name for it
parameters = read_attrs(sm.input.trajectories)["parameters"]
names = [" / ".join(dict.fromkeys(ps[j] for ps in parameters if j < len(ps))) for j in range(train["params"].shape[1])]
history = read_h5(sm.input.history)
grid = read_h5(sm.input.grid)
truth = read_h5(sm.input.truth) if "truth" in sm.input.keys() else None
runs = {Path(p).stem: read_h5(p) for p in sm.input.runs}
model = load_model(sm.input.model, device=resolve_device(sm.params.device), cls=TrajectoryVAE)
val = train["trajectories"][history["val_indices"]]
val_rmse = float(np.sqrt(np.mean((decode_trajectories(model, encode_trajectories(model, val)) - val) ** 2))) \
    if len(val) else float("nan")
objective = sm.params.objective
metrics = study_metrics(train=train, history=history, grid=grid, truth=truth, runs=runs, val_rmse=val_rmse,
                        objective=objective)
n_show = sm.params.evaluate["n_show"]
figures = {
    "trajectory_samples": plot_trajectory_samples(train["t"], train["trajectories"], train["params"], names, n_show),
    "training_curves": plot_training_curves(history),
}
if grid["z"].shape[1] == 2:
    figures["latent_parameters"] = plot_latent_parameters(grid["z_train"], train["params"], names)
    figures["feasible_region"] = plot_feasible_region(grid["feasible"], grid["axes"], grid["z_train"], train["t"],
                                                      grid["trajectories"])
else:
    for key in ("latent_parameters", "feasible_region"):
        figures[key] = placeholder(f"latent maps are drawn for latent_dim = 2 (here {grid['z'].shape[1]})")
n_initial = {name: int(np.sum(r["initial"])) for name, r in runs.items()}
figures["bo_convergence"] = plot_bo_convergence(
    {name: dict(y=r["y"], n_initial=n_initial[name], random_best=r["random_best"]) for name, r in runs.items()},
    truth_max=metrics.get("ground_truth", {}).get("max"), label=objective["name"])
for name, fig in figures.items():
    save_figure(fig, sm.output[name])
write_json(sm.output.metrics, metrics)
with atomic_path(sm.output.table) as tmp:
    tmp.write_text(metrics_html(metrics, sm.wildcards.study))
log.info("runs: %s", metrics["runs"])
