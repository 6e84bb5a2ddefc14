"""Train the spin VAE (rule train_vae)."""

from latentopt.dataset import load_dataset
from latentopt.device import resolve_device
from latentopt.models.vae import save_model
from latentopt.scripting import setup
from latentopt.trainers.vae import train_vae, write_history

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads)
settings = dict(sm.params.vae)
device = resolve_device(sm.params.device)
data, _ = load_dataset(sm.input[0])
log.info("training on %d states (%s), device %s, settings %s", len(data["spins"]), data["spins"].shape[1:], device,
         settings)
model, history = train_vae(data["spins"], device=device, checkpoint=sm.params.checkpoint,
                           progress=sm.config["progress"], **settings)
log.info("final loss %.3f, val_loss %.3f", history["loss"][-1], history["val_loss"][-1])
save_model(sm.output.model, model, extra=dict(settings=settings))
write_history(sm.output.history, history, attrs=dict(vae=settings, device=str(device)))
