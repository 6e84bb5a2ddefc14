"""Rule schedules_final_repeat: the script of rule schedules_final (final.py) for a further seed (params.repeat)."""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).with_name("final.py")), init_globals={"snakemake": snakemake})  # noqa: F821
