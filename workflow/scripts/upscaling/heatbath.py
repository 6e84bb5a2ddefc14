"""Heat-bath states sampled directly at the largest size; heat bath and generator timed in one job (rule upscaling_heatbath)."""

from latentopt.device import resolve_device
from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import upscaling

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
arrays, attrs = upscaling.heatbath_step(sm.input.generator, sm.params.system, sm.params.simulate, sm.params.evaluate,
                                        device=resolve_device(sm.params.device))
log.info("%d heat-bath states of %d^2 (%d sweeps each): %.2f states/s; generator %.1f states/s; speed-up %.1f",
         len(arrays["energy"]), arrays["spins"].shape[-1], attrs["sweeps"], attrs["states_per_s"],
         attrs["generator_states_per_s"], attrs["speedup"])
write_h5(sm.output[0], arrays, attrs=attrs)
