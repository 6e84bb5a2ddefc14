"""Decode the latent grid and mark feasible points (rule trajectories_grid)."""

from latentopt.device import resolve_device
from latentopt.io import read_h5, write_h5
from latentopt.scripting import setup
from latentopt.studies import trajectories

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
x = read_h5(sm.input.trajectories, ["trajectories"])["trajectories"]
grid = trajectories.decoded_grid(sm.input.model, x, sm.params.latent, device=resolve_device(sm.params.device))
write_h5(sm.output[0], grid, attrs=dict(latent=sm.params.latent, **sm.params.field_unit))
