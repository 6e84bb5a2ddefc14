"""Training trajectories drawn from the study's families (rule trajectories_families)."""

from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import trajectories

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
datasets, attrs = trajectories.make_trajectories(sm.params.trajectories, dict(sm.params.field_unit))
write_h5(sm.output[0], datasets, attrs=attrs)
