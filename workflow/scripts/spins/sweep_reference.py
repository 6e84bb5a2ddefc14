"""The reference candidates of one sweep point, relaxed in spin space (rule spins_sweep_reference)."""

from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import spin_sweeps

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
log.info("point %s", sm.wildcards.point)
datasets, attrs = spin_sweeps.reference_point(sm.params.system, sm.params.phases)
log.info("lowest candidate %s (%s)", attrs["best"], attrs["phase"])
write_h5(sm.output[0], datasets, attrs=attrs)
