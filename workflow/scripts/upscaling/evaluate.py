"""Metrics and figures of an upscaling study (rule upscaling_evaluate)."""

from pathlib import Path

from latentopt.io import atomic_path, write_json
from latentopt.plots import save_figure
from latentopt.scripting import setup
from latentopt.studies import KINDS, upscaling

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
metrics, figures = upscaling.evaluate(
    sm.params.system, sm.params.evaluate, sm.input.dataset, sm.input.history,
    {int(Path(p).stem.removeprefix("x")): p for p in sm.input.generated}, sm.input.heatbath)
for name, fig in figures.items():
    save_figure(fig, sm.output[name])
write_json(sm.output.metrics, metrics)
with atomic_path(sm.output.table) as tmp:
    tmp.write_text(KINDS["upscaling"].metrics_html(metrics, sm.wildcards.study))
log.info("per scale (ks, p, r): %s; speed-up %.1f at %d^2",
         {s: (round(m["ks"], 4), m["p_value"], round(m["pearson_r"], 4)) for s, m in metrics["scales"].items()},
         metrics["speedup"], metrics["heatbath"]["L"])
