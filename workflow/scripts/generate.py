"""Decode codes z ~ N(0, I) into X_VAE (rule generate)."""

import torch

from latentopt.device import resolve_device
from latentopt.io import write_h5
from latentopt.latent import load_decoder, prior_codes
from latentopt.scripting import setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads)
settings = sm.params.generate
device = resolve_device(sm.params.device)
model, decode = load_decoder(sm.input.model, device)
z = prior_codes(settings["n_samples"], model.hparams["latent_dim"], settings["seed"])
with torch.no_grad():
    spins = torch.cat([decode(torch.as_tensor(c, device=device)).cpu() for c in torch.split(torch.as_tensor(z), 256)])
write_h5(sm.output[0], dict(z=z, spins=spins.numpy()), attrs=dict(generate=settings))
log.info("decoded %d codes", len(z))
