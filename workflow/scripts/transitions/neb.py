"""GNEB with climbing image for one run, and the Hessian check at the saddle (rule transitions_neb)."""

from latentopt.device import resolve_device
from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import transitions

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
run = sm.wildcards.run
d = transitions.neb_run(sm.params.system, sm.params.settings, run, sm.input.path,
                        sm.input.meta if "meta" in sm.input.keys() else None, checkpoint=sm.params.checkpoint,
                        device=resolve_device(sm.params.device))
log.info("%s: barrier %.6f J after %d iterations (%s), %d negative Hessian mode(s), force at the climbing image "
         "%.2e J/rad", run, d["barrier"], d["iterations"], "converged" if d["converged"] else "NOT converged",
         d["negative_modes"], d["saddle_force"])
write_h5(sm.output[0], d, attrs=dict(run=run, settings=sm.params.settings["runs"][run], system=sm.params.system))
