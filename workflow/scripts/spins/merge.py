"""Merge the simulation shards into dataset.h5 (rule spins_merge); a sweep study pools every point's shards."""

from latentopt.scripting import setup
from latentopt.studies import spin_sweeps, spins

sm = snakemake  # noqa: F821
log = setup(sm.log[0], study=sm.wildcards.study)
if sm.params.sweep:
    per_point = len(sm.input) // len(sm.params.points)
    shards = {p: list(sm.input)[k * per_point:(k + 1) * per_point] for k, p in enumerate(sm.params.points)}
    spin_sweeps.merge_sweep_dataset(shards, sm.output[0], sm.params.system, sm.params.sweep, sm.params.simulate)
    log.info("pooled %d shards of %d sweep points into %s", len(sm.input), len(shards), sm.output[0])
else:
    spins.merge_dataset(list(sm.input), sm.output[0], sm.params.system, sm.params.simulate)
    log.info("merged %d shards into %s", len(sm.input), sm.output[0])
