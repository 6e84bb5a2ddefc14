"""Build and relax the two end states of a transition (rule transitions_end_states)."""

from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import transitions

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
paths = {k: sm.input[k] for k in ("initial", "final") if k in sm.input.keys()}
ends = transitions.end_states(sm.params.system, sm.params.settings, paths)
log.info("relaxed end states: W %s, energies %s J (difference %.4f J), %s L-BFGS iterations", ends["W"].round(3),
         ends["energy"].round(4), ends["energy"][1] - ends["energy"][0], ends["iterations"])
write_h5(sm.output[0], ends, attrs=dict(system=sm.params.system, end_states=sm.params.settings["end_states"]))
