"""Train the RUGAN on the thermal states (rule upscaling_train)."""

import json

from latentopt.device import resolve_device
from latentopt.models.rugan import save_generator
from latentopt.scripting import setup
from latentopt.studies import upscaling
from latentopt.trainers.gan import write_gan_history

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
data, _ = upscaling.load_dataset(sm.input[0])
log.info("%d states of %d^2, energy per spin in [%.4f, %.4f]; gan %s", len(data["energy"]), data["spins"].shape[-1],
         data["energy"].min(), data["energy"].max(), sm.params.gan)
G, history = upscaling.train_gan(data, sm.params.system, sm.params.gan, device=resolve_device(sm.params.device),
                                 checkpoint=sm.params.checkpoint, progress=sm.params.progress)
log.info("trained %d epochs (%d generator steps): Wasserstein estimate %.4f, monitor energy MAE %.4f J, r %.4f",
         len(history["wasserstein"]), history.get("generator_steps", -1), history["wasserstein"][-1],
         history["energy_mae"][-1], history["energy_r"][-1])
write_gan_history(sm.output.history, history, attrs={"gan": sm.params.gan})
save_generator(sm.output.generator, G, extra={"gan": json.dumps(sm.params.gan)})
