"""Metrics and study-level figures of a trajectory study (rule trajectories_evaluate)."""

from pathlib import Path

from latentopt.device import resolve_device
from latentopt.io import atomic_path, write_json
from latentopt.plots import save_figure
from latentopt.scripting import setup
from latentopt.studies import KINDS, trajectories

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
metrics, figures = trajectories.evaluate(
    trajectories=sm.input.trajectories, model=sm.input.model, history=sm.input.history, grid=sm.input.grid,
    truth=sm.input.truth if "truth" in sm.input.keys() else None, runs={Path(p).stem: p for p in sm.input.runs},
    objective=sm.params.objective, n_show=sm.params.evaluate["n_show"], field_unit=dict(sm.params.field_unit),
    device=resolve_device(sm.params.device))
for name, fig in figures.items():
    save_figure(fig, sm.output[name])
write_json(sm.output.metrics, metrics)
with atomic_path(sm.output.table) as tmp:
    tmp.write_text(KINDS["trajectories"].metrics_html(metrics, sm.wildcards.study))
log.info("runs: %s", metrics["runs"])
