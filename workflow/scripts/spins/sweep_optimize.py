"""Rule spins_sweep_optimize: the script of rule spins_optimize (optimize.py), run with the sweep point's system (params)."""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).with_name("optimize.py")), init_globals={"snakemake": snakemake})  # noqa: F821
