# latentopt: optimal physical states from the latent space of generative models.
# Thin entry point: load and validate the config, then include the rules of every study kind
# (latentopt.studies lists the kinds; workflow/rules/<kind>.smk holds each kind's rules).
# Run: snakemake --cores 2           (default studies, config/config.yaml)
#      snakemake --cores 2 --configfile my.yaml   (replaces config/config.yaml)

from snakemake.utils import min_version


min_version("8.0")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


for kind in studies.KINDS:

    include: f"workflow/rules/{kind}.smk"


rule all:
    input:
        final_targets(),
    default_target: True
