"""Metrics and figures of a transition study (rule transitions_evaluate)."""

from pathlib import Path

from latentopt.io import atomic_path, write_json
from latentopt.plots import save_figure
from latentopt.scripting import setup
from latentopt.studies import KINDS, transitions

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
metrics, figures = transitions.evaluate(
    system=sm.params.system, study_settings=sm.params.settings, end_states_path=sm.input.end_states,
    runs={Path(p).stem: p for p in sm.input.runs}, doubled={Path(p).stem: p for p in sm.input.doubled},
    initial_paths={Path(p).stem.removeprefix("initial_"): p for p in sm.input.initial_paths},
    meta_params_path=sm.input.meta_params, meta_arrays_path=sm.input.meta_arrays,
    snapshots=sm.params.evaluate["snapshots"])
for name, fig in figures.items():
    save_figure(fig, sm.output[name])
write_json(sm.output.metrics, metrics)
with atomic_path(sm.output.table) as tmp:
    tmp.write_text(KINDS["transitions"].metrics_html(metrics, sm.wildcards.study))
log.info("runs: %s; meta speed-up %s", {k: (v["barrier"], v["iterations"]) for k, v in metrics["runs"].items()},
         metrics.get("speedup"))
