"""Train the trajectory VAE (rule trajectories_train)."""

from latentopt.device import resolve_device
from latentopt.io import read_h5
from latentopt.models.vae import save_model
from latentopt.scripting import setup
from latentopt.studies import trajectories
from latentopt.trainers.vae import write_history

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
settings = dict(sm.params.vae)
device = resolve_device(sm.params.device)
x = read_h5(sm.input[0], ["trajectories"])["trajectories"]
model, history = trajectories.train(x, settings, device=device, checkpoint=sm.params.checkpoint,
                                    progress=sm.config["progress"])
save_model(sm.output.model, model, extra=dict(settings=settings, kind="TrajectoryVAE"))
write_history(sm.output.history, history, attrs=dict(vae=settings, device=str(device)))
