"""The objective at every feasible latent grid point (rule trajectories_ground_truth)."""

from latentopt.io import read_h5, write_h5
from latentopt.scripting import setup
from latentopt.studies.trajectories import FerroSimSetup, ground_truth

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
grid = read_h5(sm.input[0], ["trajectories", "feasible"])
truth = ground_truth(FerroSimSetup.from_config(sm.params.system), grid, sm.params.objective)
log.info("%s over %d feasible points: max %.4g", sm.params.objective["name"], grid["feasible"].sum(),
         float(truth["y"][grid["feasible"]].max()))
write_h5(sm.output[0], truth, attrs=dict(system=sm.params.system, objective=sm.params.objective,
                                        **sm.params.field_unit))
