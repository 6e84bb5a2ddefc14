"""Decode the latent grid and mark feasible points (rule latent_grid)."""

from latentopt.device import resolve_device
from latentopt.io import read_h5, write_h5
from latentopt.models.trajectory_vae import TrajectoryVAE
from latentopt.models.vae import load_model
from latentopt.scripting import setup
from latentopt.trainers.trajectory_vae import decode_trajectories, encode_trajectories
from latentopt.latent import make_grid

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads)
model = load_model(sm.input.model, device=resolve_device(sm.params.device), cls=TrajectoryVAE)
x = read_h5(sm.input.trajectories, ["trajectories"])["trajectories"]
grid = make_grid(encode_trajectories(model, x), lambda z: decode_trajectories(model, z), sm.params.latent)
log.info("grid of %d points, %d feasible (%.1f%%)", len(grid["z"]), grid["feasible"].sum(),
         100 * grid["feasible"].mean())
write_h5(sm.output[0], grid, attrs=dict(latent=sm.params.latent))
