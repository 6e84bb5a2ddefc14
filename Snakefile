# latentopt: optimal physical states from the latent space of a VAE.
# Thin entry point: load and validate the config, then include the rules.
# Run: snakemake --cores 2           (default study, config/config.yaml)
#      snakemake --cores 2 --configfile my.yaml   (replaces config/config.yaml)

from snakemake.utils import min_version


min_version("8.0")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/vae.smk"
include: "workflow/rules/samples.smk"
include: "workflow/rules/optimize.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/trajectories.smk"


rule all:
    input:
        final_targets(),
    default_target: True
