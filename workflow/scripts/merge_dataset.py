"""Merge the simulation shards into dataset.h5 (rule merge_dataset)."""

from latentopt.dataset import merge_shards
from latentopt.scripting import setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0])
merge_shards(list(sm.input), sm.output[0],
             attrs=dict(system=sm.params.system, simulate=sm.params.simulate, seed=sm.params.simulate["seed"]))
log.info("merged %d shards into %s", len(sm.input), sm.output[0])
