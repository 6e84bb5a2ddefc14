"""Surfaces and best field history of one BO run (rule plot_bo_run)."""

from latentopt.io import read_h5
from latentopt.plots import placeholder, save_figure
from latentopt.scripting import setup
from latentopt.trajectory_plots import plot_best_history, plot_bo_surfaces

sm = snakemake  # noqa: F821
setup(sm.log[0])
bo = read_h5(sm.input.run)
grid = read_h5(sm.input.grid, ["z", "feasible", "axes"])
t = read_h5(sm.input.trajectories, ["t"])["t"]
truth = read_h5(sm.input.truth, ["y"])["y"] if "truth" in sm.input.keys() else None
objective = sm.params.objective
if grid["z"].shape[1] == 2:
    fig = plot_bo_surfaces(grid["axes"], bo["gp_mean"], bo["gp_std"], grid["feasible"], bo["z"], bo["initial"],
                           bo["best_z"], truth, label=objective["name"])
else:
    fig = placeholder(f"surfaces are drawn for latent_dim = 2 (here {grid['z'].shape[1]})")
save_figure(fig, sm.output.surfaces)
fig = plot_best_history(t, bo["best_trajectory"], objective["equilibration"], bo["best_p"], bo["best_curl"],
                        title=f"{sm.wildcards.run}: best {objective['name']} = {float(bo['best_y']):.4g} "
                              f"at z = ({', '.join(f'{v:.3f}' for v in bo['best_z'])})")
save_figure(fig, sm.output.best)
