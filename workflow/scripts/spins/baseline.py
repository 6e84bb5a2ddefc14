"""The direct search in spin space of one run, with the latent run's number of evaluations (rule spins_baseline)."""

from latentopt.device import resolve_device
from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import spins

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
log.info("run %s", sm.wildcards.run)
datasets, attrs = spins.baseline(sm.input.optimized, sm.params.system, dict(sm.params.run),
                                 dataset=sm.input.get("dataset"), device=resolve_device(sm.params.device),
                                 progress=sm.config["progress"])
write_h5(sm.output[0], datasets, attrs=attrs)
