"""Single-code modification of the X_VAE codes: X'_VAE (rule spins_modify)."""

from latentopt.device import resolve_device
from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import spins

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
relaxed = spins.modify(sm.input.model, sm.input.samples, sm.params.system, sm.params.relax,
                       device=resolve_device(sm.params.device), checkpoint=sm.params.checkpoint,
                       progress=sm.config["progress"])
write_h5(sm.output[0], relaxed, attrs=dict(relax=sm.params.relax, system=sm.params.system))
