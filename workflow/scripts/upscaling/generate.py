"""States of requested energies at one scale, with their exact energies (rule upscaling_generate)."""

from latentopt.device import resolve_device
from latentopt.io import write_h5, write_json
from latentopt.scripting import setup
from latentopt.studies import upscaling

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
scale = int(sm.wildcards.scale)
arrays, attrs, calibration = upscaling.generate_step(sm.input.generator, sm.input.dataset, sm.params.system,
                                                     sm.params.evaluate, scale, device=resolve_device(sm.params.device))
if calibration is not None:
    write_json(sm.params.calibration, calibration)
    log.info("calibrated labels (%s); uncalibrated on the calibration draws: %s", sm.params.calibration,
             calibration["raw"])
log.info("%d states of %d^2 at %.1f states/s; realized - requested energy: mean %+.4f, MAE %.4f J", len(arrays["energy"]),
         arrays["spins"].shape[-1], attrs["states_per_s"], (arrays["energy"] - arrays["requested"]).mean(),
         abs(arrays["energy"] - arrays["requested"]).mean())
write_h5(sm.output[0], arrays, attrs=attrs)
