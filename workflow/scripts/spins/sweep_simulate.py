"""Rule spins_sweep_simulate: the script of rule spins_simulate (simulate.py), run with the sweep point's system (params)."""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).with_name("simulate.py")), init_globals={"snakemake": snakemake})  # noqa: F821
