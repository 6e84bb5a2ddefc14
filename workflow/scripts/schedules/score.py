"""One zBO evaluation: a jrVAE trained with one proposed beta_c schedule (rule schedules_score)."""

from latentopt.device import resolve_device
from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import schedules

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
ev = schedules.evaluate_slot(sm.input.round, int(sm.wildcards.slot), sm.input.images, sm.params.jrvae,
                             sm.params.objective, device=resolve_device(sm.params.device),
                             checkpoint=sm.params.checkpoint)
if ev["skipped"]:
    log.info("round %s was skipped (early stop): nothing to train", sm.wildcards.round)
else:
    log.info("grid point %d: objective %.4f (l1 %.4f, l2 %.4f), class accuracy %.3f, %.1f s", ev["index"],
             ev["objective"], ev["l1"], ev["l2"], ev["accuracy"], ev["seconds"])
write_h5(sm.output[0], ev, attrs=dict(jrvae=sm.params.jrvae, objective=sm.params.objective))
