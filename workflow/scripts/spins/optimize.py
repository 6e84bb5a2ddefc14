"""One latent-space optimization run (rule spins_optimize)."""

from pathlib import Path

from latentopt.device import resolve_device
from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import spins

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
repo = Path(__file__).resolve().parents[3]  # Snakemake points __file__ at workflow/scripts/spins/optimize.py
log.info("run %s", sm.wildcards.run)
datasets, attrs = spins.optimize(sm.input.model, sm.params.system, dict(sm.params.run), root=repo,
                                 key=f"optimize.{sm.wildcards.run}",
                                 device=resolve_device(sm.params.device), checkpoint=sm.params.checkpoint,
                                 progress=sm.config["progress"])
write_h5(sm.output[0], datasets, attrs=attrs)
