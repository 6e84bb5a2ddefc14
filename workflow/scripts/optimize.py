"""One latent-space optimization run (rule optimize)."""

import json
from pathlib import Path

from latentopt.device import resolve_device
from latentopt.io import array_digest, file_digest, write_h5
from latentopt.latent import load_decoder
from latentopt.optimizers import make_objective, run
from latentopt.optimizers.common import result_datasets
from latentopt.physics.boundary import boundary_from_config
from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.scripting import setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads)
repo = Path(__file__).resolve().parents[2]  # Snakemake points __file__ at workflow/scripts/optimize.py
settings = dict(sm.params.run)
device = resolve_device(sm.params.device)
model, decode = load_decoder(sm.input.model, device)
system = ChiralMagnet.from_config(sm.params.system)
boundary = boundary_from_config(settings["boundary"], system.L, repo) if settings["objective"] == "C_BC" else None
objective = make_objective(settings["objective"], settings["direction"], system, a=settings.get("a", (1, 0)),
                           boundary=boundary, device=device)
log.info("run %s on %s: %s", sm.wildcards.run, device, settings)
context = dict(model=file_digest(sm.input.model), system=sm.params.system, boundary=array_digest(boundary))
result = run(settings["algorithm"], decode, objective, model.hparams["latent_dim"], settings, device=device,
             checkpoint=sm.params.checkpoint, progress=sm.config["progress"], context=context)
log.info("%s %s: first iteration %.5f, best %.5f", settings["direction"], settings["objective"],
         result.objective[0], result.best_value)
datasets = result_datasets(result)
if boundary is not None:
    datasets["boundary"] = boundary
write_h5(sm.output[0], datasets, attrs=dict(algorithm=settings["algorithm"], objective=settings["objective"],
                                            direction=settings["direction"], settings=json.dumps(settings),
                                            system=sm.params.system))
