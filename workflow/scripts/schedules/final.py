"""One of the four final models, trained on the full image set (rules schedules_final and schedules_final_repeat)."""

from latentopt.device import resolve_device
from latentopt.io import write_h5
from latentopt.models.vae import save_model
from latentopt.scripting import setup
from latentopt.studies import schedules

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
repeat = sm.params.get("repeat", 0)  # 0: rule schedules_final; k >= 1: schedules_final_repeat
model, result = schedules.final(sm.wildcards.model, sm.input.images, list(sm.input.runs), sm.params.jrvae,
                                sm.params.objective, sm.params.final, device=resolve_device(sm.params.device),
                                checkpoint=sm.params.checkpoint, repeat=repeat)
log.info("%s: objective %.4f, class accuracy %.3f, %.1f s", sm.wildcards.model, result["objective"],
         result["accuracy"], result["seconds"])
if "model" in sm.output.keys():  # the further seeds of final.repeats keep only their scores
    save_model(sm.output.model, model, extra=dict(kind="JointVAE", model=sm.wildcards.model))
write_h5(sm.output.result, result, attrs=dict(model=sm.wildcards.model, jrvae=sm.params.jrvae,
                                              objective=sm.params.objective, repeat=repeat))
