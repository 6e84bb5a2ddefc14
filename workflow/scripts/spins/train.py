"""Train the spin VAE (rule spins_train)."""

from latentopt.device import resolve_device
from latentopt.models.vae import save_model
from latentopt.scripting import setup
from latentopt.studies import spins
from latentopt.trainers.vae import write_history

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
settings = dict(sm.params.vae)
device = resolve_device(sm.params.device)
model, history = spins.train(sm.input[0], settings, device=device, checkpoint=sm.params.checkpoint,
                             progress=sm.config["progress"])
save_model(sm.output.model, model, extra=dict(settings=settings))
write_history(sm.output.history, history, attrs=dict(vae=settings, device=str(device)))
