"""Decode codes z ~ N(0, I) into X_VAE (rule generate)."""

from latentopt.device import resolve_device
from latentopt.io import write_h5
from latentopt.latent import prior_codes
from latentopt.models.vae import load_model
from latentopt.scripting import setup
from latentopt.trainers.vae import decode

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads)
settings = sm.params.generate
device = resolve_device(sm.params.device)
model = load_model(sm.input.model, device=device)
z = prior_codes(settings["n_samples"], model.hparams["latent_dim"], settings["seed"])
write_h5(sm.output[0], dict(z=z, spins=decode(model, z, device)), attrs=dict(generate=settings))
log.info("decoded %d codes", len(z))
