"""Surfaces and best field history of one BO run (rule trajectories_plot)."""

from latentopt.plots import save_figure
from latentopt.scripting import setup
from latentopt.studies import trajectories

sm = snakemake  # noqa: F821
setup(sm.log[0], study=sm.wildcards.study)
figures = trajectories.bo_figures(run=sm.input.run, run_name=sm.wildcards.run, grid=sm.input.grid,
                                  trajectories=sm.input.trajectories,
                                  truth=sm.input.truth if "truth" in sm.input.keys() else None,
                                  objective=sm.params.objective, field_unit=dict(sm.params.field_unit))
for name, fig in figures.items():
    save_figure(fig, sm.output[name])
