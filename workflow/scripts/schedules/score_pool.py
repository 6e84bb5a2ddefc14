"""One point of the random-search pool: a jrVAE trained with a random feasible schedule (rule schedules_score_pool)."""

from latentopt.device import resolve_device
from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import schedules

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
ev = schedules.evaluate_pool_point(sm.input.grid, int(sm.wildcards.point), sm.input.images, sm.params.run,
                                   sm.params.jrvae, sm.params.objective, device=resolve_device(sm.params.device),
                                   checkpoint=sm.params.checkpoint)
log.info("pool point %s = grid point %d: objective %.4f, class accuracy %.3f, %.1f s", sm.wildcards.point,
         ev["index"], ev["objective"], ev["accuracy"], ev["seconds"])
write_h5(sm.output[0], ev, attrs=dict(jrvae=sm.params.jrvae, objective=sm.params.objective))
