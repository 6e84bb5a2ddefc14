"""Bayesian optimization over the feasible latent grid (rule trajectories_optimize)."""

import json

from latentopt.io import file_digest, read_h5, write_h5
from latentopt.scripting import setup
from latentopt.studies.trajectories import FerroSimSetup, bayes_run, run_summary

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
run = dict(sm.params.run)
grid = read_h5(sm.input.grid, ["z", "trajectories", "feasible"])
truth = read_h5(sm.input.truth, ["y"])["y"] if "truth" in sm.input.keys() else None
context = dict(grid=file_digest(sm.input.grid), system=sm.params.system, objective=sm.params.objective)
log.info("run %s: %s", sm.wildcards.run, run)
datasets, info = bayes_run(FerroSimSetup.from_config(sm.params.system), grid, sm.params.objective, run, truth,
                           checkpoint=sm.params.checkpoint, context=context, progress=sm.config["progress"])
log.info("summary: %s; %s", run_summary(datasets, truth), info)
write_h5(sm.output[0], datasets, attrs=dict(algorithm="bayes", objective=sm.params.objective["name"],
                                            direction="max", settings=json.dumps(run), system=sm.params.system,
                                            **sm.params.field_unit, **info))
