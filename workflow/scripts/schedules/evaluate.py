"""Metrics and study-level figures of a KL-schedule study (rule schedules_evaluate)."""

from pathlib import Path

from latentopt.io import atomic_path, write_json
from latentopt.plots import save_figure
from latentopt.scripting import setup
from latentopt.studies import KINDS, schedules

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
metrics, figures = schedules.evaluate(
    images_path=sm.input.images, trajectories_path=sm.input.trajectories, history_path=sm.input.history,
    grid_path=sm.input.grid, runs={Path(p).stem: p for p in sm.input.runs},
    finals={Path(p).stem: p for p in sm.input.finals}, latent=sm.params.latent, n_show=sm.params.evaluate["n_show"],
    repeats=schedules.repeats_by_model(sm.input.repeats))
for name, fig in figures.items():
    save_figure(fig, sm.output[name])
write_json(sm.output.metrics, metrics)
with atomic_path(sm.output.table) as tmp:
    tmp.write_text(KINDS["schedules"].metrics_html(metrics, sm.wildcards.study))
log.info("models: %s; runs: %s", metrics["models"], metrics["runs"])
