"""Merge the thermal shards into dataset.h5 (rule upscaling_merge)."""

from latentopt.scripting import setup
from latentopt.studies import upscaling

sm = snakemake  # noqa: F821
log = setup(sm.log[0], study=sm.wildcards.study)
upscaling.merge_shards(list(sm.input), sm.output[0], {"system": sm.params.system, "simulate": sm.params.simulate})
log.info("merged %d shards into %s", len(sm.input), sm.output[0])
