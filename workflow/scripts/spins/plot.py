"""Best state of selected iterations of one optimization run (rule spins_plot)."""

from latentopt.plots import save_figure
from latentopt.scripting import setup
from latentopt.studies import spins

sm = snakemake  # noqa: F821
setup(sm.log[0], study=sm.wildcards.study)
save_figure(spins.run_figure(sm.input[0], sm.wildcards.run, sm.params.run), sm.output[0])
