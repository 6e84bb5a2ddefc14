"""Decode the latent grid of beta_c trajectories and mark the feasible ones (rule schedules_grid)."""

from latentopt.device import resolve_device
from latentopt.io import read_h5, write_h5
from latentopt.scripting import setup
from latentopt.studies import schedules

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
x = read_h5(sm.input.trajectories, ["trajectories"])["trajectories"]
grid = schedules.grid(sm.input.model, x, sm.params.latent, device=resolve_device(sm.params.device))
log.info("grid of %d points, %d feasible (%.1f%%)", len(grid["z"]), grid["feasible"].sum(),
         100 * grid["feasible"].mean())
write_h5(sm.output[0], grid, attrs=dict(latent=sm.params.latent))
