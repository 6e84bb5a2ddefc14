"""beta_c(i) training trajectories drawn from the study's families (rule schedules_families)."""

from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import schedules

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
datasets, attrs = schedules.trajectories(sm.params.trajectories, sm.params.latent)
log.info("%d trajectories of N = %d from %s", *datasets["trajectories"].shape, attrs["families"])
write_h5(sm.output[0], datasets, attrs=attrs)
