"""Best state of selected iterations of one optimization run (rule plot_run)."""

from latentopt.io import read_h5
from latentopt.plots import plot_best_states, save_figure
from latentopt.scripting import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
data = read_h5(sm.input[0], ["snapshots", "snapshot_iteration", "snapshot_value"])
fig = plot_best_states(data["snapshots"], data["snapshot_iteration"], data["snapshot_value"],
                       objective=sm.params.run["objective"], run=sm.wildcards.run)
save_figure(fig, sm.output[0])
