"""Merge the simulation shards into dataset.h5 (rule spins_merge)."""

from latentopt.scripting import setup
from latentopt.studies import spins

sm = snakemake  # noqa: F821
log = setup(sm.log[0], study=sm.wildcards.study)
spins.merge_dataset(list(sm.input), sm.output[0], sm.params.system, sm.params.simulate)
log.info("merged %d shards into %s", len(sm.input), sm.output[0])
