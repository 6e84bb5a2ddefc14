"""Heat-bath states of one shard over the temperature grid (rule upscaling_simulate)."""

from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import upscaling

sm = snakemake  # noqa: F821 (injected by Snakemake)
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
shard = int(sm.wildcards.shard)
log.info("shard %d of %d, system %s, simulate %s", shard, sm.params.simulate["shards"], sm.params.system,
         sm.params.simulate)
data = upscaling.simulate_shard(sm.params.system, sm.params.simulate, shard)
log.info("annealed %d states at T in [%.3f, %.3f]: energy per spin in [%.4f, %.4f]", len(data["index"]),
         data["T"].min(), data["T"].max(), data["energy"].min(), data["energy"].max())
write_h5(sm.output[0], data, attrs=dict(system=sm.params.system, simulate=sm.params.simulate, shard=shard))
