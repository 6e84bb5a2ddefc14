"""Points of the random-search pool, one after another: jrVAEs trained with random feasible schedules (rule
schedules_score_pool)."""

from latentopt.device import resolve_device
from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import schedules

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
ev = schedules.evaluate_pool_chunk(sm.input.grid, sm.params.points, sm.input.images, sm.params.run,
                                   sm.params.jrvae, sm.params.objective, device=resolve_device(sm.params.device),
                                   checkpoint=sm.params.checkpoint, log=log)
write_h5(sm.output[0], ev, attrs=dict(jrvae=sm.params.jrvae, objective=sm.params.objective))
