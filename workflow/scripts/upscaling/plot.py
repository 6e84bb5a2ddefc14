"""Figures of one scale: generated states, requested vs realized energies (rule upscaling_plot)."""

import json

from latentopt.plots import save_figure
from latentopt.scripting import setup
from latentopt.studies import upscaling

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
metrics = json.loads(open(sm.input.metrics).read())["scales"][sm.wildcards.scale]
for name, fig in upscaling.scale_figures(sm.input.generated, metrics, sm.params.evaluate["n_show"]).items():
    save_figure(fig, sm.output[name])
log.info("figures of scale %sx: KS %.4f, r %.4f", sm.wildcards.scale, metrics["ks"], metrics["pearson_r"])
