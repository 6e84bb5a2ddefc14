"""Anneal one shard of the training set X_IN (rule spins_simulate)."""

from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import spins

sm = snakemake  # noqa: F821 (injected by Snakemake)
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
shard = int(sm.wildcards.shard)
log.info("shard %d of %d, system %s, simulate %s", shard, sm.params.simulate["shards"], sm.params.system,
         sm.params.simulate)
data = spins.simulate_shard(sm.params.system, sm.params.simulate, shard, device=sm.params.device)
log.info("annealed %d states: energy per spin %.5f +- %.5f, W range [%.1f, %.1f]", len(data["index"]),
         data["energy"].mean(), data["energy"].std(), data["W"].min(), data["W"].max())
write_h5(sm.output[0], data, attrs=dict(system=sm.params.system, simulate=sm.params.simulate, shard=shard))
