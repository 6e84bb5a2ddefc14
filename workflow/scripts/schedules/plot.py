"""GP surfaces and the best beta_c trajectory of one BO run (rule schedules_plot)."""

from latentopt.plots import save_figure
from latentopt.scripting import setup
from latentopt.studies import schedules

sm = snakemake  # noqa: F821
setup(sm.log[0], study=sm.wildcards.study)
for name, fig in schedules.run_figures(sm.input.run, sm.input.grid, sm.params.latent, sm.wildcards.run).items():
    save_figure(fig, sm.output[name])
