"""Decode codes z ~ N(0, I) into X_VAE (rule spins_generate)."""

from latentopt.device import resolve_device
from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import spins

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
samples = spins.generate(sm.input.model, sm.params.generate, device=resolve_device(sm.params.device))
write_h5(sm.output[0], samples, attrs=dict(generate=sm.params.generate))
