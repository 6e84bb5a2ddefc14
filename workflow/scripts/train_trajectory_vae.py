"""Train the trajectory VAE (rule train_trajectory_vae)."""

from latentopt.device import resolve_device
from latentopt.io import read_h5
from latentopt.models.vae import save_model
from latentopt.scripting import setup
from latentopt.trainers.trajectory_vae import train_trajectory_vae
from latentopt.trainers.vae import write_history

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads)
settings = dict(sm.params.vae)
device = resolve_device(sm.params.device)
x = read_h5(sm.input[0], ["trajectories"])["trajectories"]
log.info("training on %d trajectories of %d steps, device %s, settings %s", *x.shape, device, settings)
model, history = train_trajectory_vae(x, device=device, checkpoint=sm.params.checkpoint,
                                      progress=sm.config["progress"], **settings)
log.info("final loss %.3f, val_loss %.3f", history["loss"][-1], history["val_loss"][-1])
save_model(sm.output.model, model, extra=dict(settings=settings, kind="TrajectoryVAE"))
write_history(sm.output.history, history, attrs=dict(vae=settings, device=str(device)))
