"""Gather a BO run's rounds and evaluations, with the random-search baseline (rule schedules_optimize)."""

import json

from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import schedules

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
rounds = list(sm.input.rounds)
sizes = schedules.round_sizes_of(sm.params.run)
files, k = [], 0
for n in sizes:
    files.append(list(sm.input.evaluations)[k:k + n])
    k += n
datasets, info = schedules.gather(sm.input.grid, rounds, files, list(sm.input.pool), sm.params.run)
log.info("run %s: %s", sm.wildcards.run, info)
write_h5(sm.output[0], datasets, attrs=dict(algorithm="bayes", settings=json.dumps(dict(sm.params.run)), **info))
