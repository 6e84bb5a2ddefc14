"""The grid points of one BO round, from the evaluations of the earlier rounds (rule schedules_propose)."""

from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import schedules

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
r = int(sm.wildcards.round)
prop = schedules.propose(sm.input.grid, list(sm.input.earlier), r, sm.params.proposal)
log.info("round %d of run %s: %s (gain %.3g)", r, sm.wildcards.run,
         "skipped (early stop)" if prop["skip"] else f"grid points {prop['index'].tolist()}", prop["gain"])
kernel = prop.pop("kernel")
write_h5(sm.output[0], prop, attrs=dict(run=sm.params.proposal, round=r, kernel=kernel))
