"""Train the trajectory VAE of the beta_c trajectories (rule schedules_train)."""

from latentopt.device import resolve_device
from latentopt.io import read_h5
from latentopt.models.vae import save_model
from latentopt.scripting import setup
from latentopt.studies import schedules
from latentopt.trainers.vae import write_history

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
settings = dict(sm.params.vae)
device = resolve_device(sm.params.device)
x = read_h5(sm.input[0], ["trajectories"])["trajectories"]
model, history = schedules.train_schedule_vae(x, settings, device=device, checkpoint=sm.params.checkpoint,
                                              progress=sm.config["progress"])
log.info("final loss %.3f, val_loss %.3f", history["loss"][-1], history["val_loss"][-1])
save_model(sm.output.model, model, extra=dict(settings=settings, kind="TrajectoryVAE"))
write_history(sm.output.history, history, attrs=dict(vae=settings, device=str(device)))
