"""Meta-learn the NEB step's (gamma, mu, beta) on the single-spin benchmark (rule transitions_meta_learn)."""

from latentopt.io import write_h5, write_json
from latentopt.scripting import setup
from latentopt.studies import transitions

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
params, arrays = transitions.meta_learning(
    sm.params.meta, checkpoint=sm.params.checkpoint,
    progress=lambda e, a, b: log.info("epoch %d: train loss %.4f, test loss %.4f", e + 1, a, b))
log.info("learned gamma %.4g, mu %.4g, beta %.4g; median iterations to Delta < %g: %s -> %s (speed-up %.1fx)",
         params["gamma"], params["mu"], params["beta"], params["threshold"], params["median_iterations_initial"],
         params["median_iterations_learned"], params["speedup"])
write_h5(sm.output.arrays, arrays, attrs=dict(meta=sm.params.meta))
write_json(sm.output.params, params)
