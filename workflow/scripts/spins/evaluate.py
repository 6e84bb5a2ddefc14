"""Metrics and figures of one spin study (rule spins_evaluate)."""

from pathlib import Path

from latentopt.device import resolve_device
from latentopt.io import atomic_path, write_json
from latentopt.plots import save_figure
from latentopt.scripting import setup
from latentopt.studies import KINDS, spins

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
runs = {Path(p).stem: p for p in sm.input.runs}
baselines = {Path(p).stem: p for p in sm.input.baselines}
metrics, figures = spins.evaluate(dataset=sm.input.dataset, model=sm.input.model, history=sm.input.history,
                                  vae=sm.input.vae, relaxed=sm.input.relaxed, runs=runs, system=sm.params.system,
                                  nodal_threshold=sm.params.evaluate["nodal_threshold"],
                                  n_show=sm.params.evaluate["n_show"], device=resolve_device(sm.params.device),
                                  baselines=baselines)
for name, fig in figures.items():
    save_figure(fig, sm.output[name])
write_json(sm.output.metrics, metrics)
with atomic_path(sm.output.table) as tmp:
    tmp.write_text(KINDS["spins"].metrics_html(metrics, sm.wildcards.study))
log.info("metrics: %s", {k: {m: v[m] for m in ("energy_mean", "W_max", "nodal_points_mean")}
                         for k, v in metrics["sets"].items()})
