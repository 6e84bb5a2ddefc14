"""The sweep's metrics, table and figures (rule spins_sweep_evaluate)."""

from latentopt.io import atomic_path, write_json
from latentopt.plots import save_figure
from latentopt.scripting import setup
from latentopt.studies import spin_sweeps
from latentopt.tables import html_page

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
points, runs = sm.params.points, sm.params.runs
references = dict(zip(points, sm.input.reference))
run_files = {p: dict(zip(runs, sm.input.runs[k * len(runs):(k + 1) * len(runs)])) for k, p in enumerate(points)}
metrics, figures = spin_sweeps.sweep_evaluate(points, references, run_files)
for name, fig in figures.items():
    save_figure(fig, sm.output[name])
write_json(sm.output.metrics, metrics)
with atomic_path(sm.output.table) as tmp:
    tmp.write_text(html_page(spin_sweeps.sweep_table(metrics, sm.wildcards.study)))
log.info("%d of %d points within %g J of the reference; boundaries %s", metrics["points_within_tolerance"],
         metrics["n_points"], metrics["tolerance"], metrics["boundaries"])
