"""The image-count check: a converged run repeated with 2 m - 1 images (rule transitions_neb_doubled)."""

from latentopt.device import resolve_device
from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import transitions

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
run = sm.wildcards.run
meta = sm.input.meta[0] if len(sm.input.meta) else None
d = transitions.neb_run(sm.params.system, sm.params.settings, run, sm.input.path, meta,
                        checkpoint=sm.params.checkpoint, device=resolve_device(sm.params.device), doubled=True)
log.info("%s with %d images: barrier %.6f J after %d iterations", run, d["images"], d["barrier"], d["iterations"])
write_h5(sm.output[0], d, attrs=dict(run=run, doubled=True, system=sm.params.system))
