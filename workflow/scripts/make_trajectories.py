"""Training trajectories drawn from the study's families (rule trajectories)."""

from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.families import sample_training_set, time_axis

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads)
cfg = sm.params.trajectories
data = sample_training_set(cfg["families"], cfg["n"], cfg["steps"], cfg["seed"])
log.info("%d trajectories of %d steps from %s", len(data["trajectories"]), cfg["steps"], data["names"])
write_h5(sm.output[0], {"trajectories": data["trajectories"].astype("float32"), "params": data["params"],
                        "family": data["family"], "t": time_axis(cfg["steps"])},
         attrs=dict(trajectories=cfg, families=data["names"], parameters=data["parameters"]))
