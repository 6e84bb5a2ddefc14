"""Single-code modification of the X_VAE codes: X'_VAE (rule relax)."""

import torch

from latentopt.device import resolve_device
from latentopt.io import file_digest, read_h5, write_h5
from latentopt.latent import load_decoder
from latentopt.optimizers import make_objective, single_code
from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.scripting import setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads)
settings = sm.params.relax
device = resolve_device(sm.params.device)
_, decode = load_decoder(sm.input.model, device)
z0 = torch.as_tensor(read_h5(sm.input.samples, ["z"])["z"])
objective = make_objective("energy", "min", ChiralMagnet.from_config(sm.params.system))
result = single_code(decode, objective, z0, iterations=settings["iterations"], lr=settings["lr"],
                     batch_size=settings["batch_size"], device=device, checkpoint=sm.params.checkpoint,
                     progress=sm.config["progress"],
                     context=dict(model=file_digest(sm.input.model), system=sm.params.system))
history = result.final["value_history"]
log.info("energy per spin: %.5f -> %.5f (mean over %d codes)", history[0].mean(), result.final["values"].mean(),
         len(z0))
write_h5(sm.output[0], dict(z=result.final["z"], spins=result.final["spins"], energy=result.final["values"],
                            energy_history=history), attrs=dict(relax=settings, system=sm.params.system))
