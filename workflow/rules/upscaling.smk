# Upscaling studies (kind: upscaling; Mills, Casert & Tamblyn 2019, RUGAN), in results/upscaling/{study}/:
# thermal states of the chiral magnet at the training size over a temperature grid (upscaling_simulate,
# sharded heat bath; upscaling_merge) -> energy-conditioned periodic WGAN-GP + CT (upscaling_train) ->
# states generated at each scale with their exact energies (upscaling_generate) -> heat-bath states
# sampled directly at the largest scale, heat bath and generator timed in one job (upscaling_heatbath) ->
# upscaling_evaluate + upscaling_plot per scale. Input functions: latentopt.studies.hooks.upscaling.

from latentopt.studies.hooks import upscaling as upscaling_hooks


localrules:
    upscaling_merge,
    upscaling_plot,


rule upscaling_simulate:
    output:
        "results/upscaling/{study}/data/shards/shard{shard}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        simulate=lambda wc: study(wc)["simulate"],
    log:
        "results/upscaling/{study}/logs/simulate/shard{shard}.log",
    benchmark:
        "results/upscaling/{study}/benchmarks/simulate/shard{shard}.tsv"
    threads: ONE
    priority: EARLY
    resources:
        **estimate("simulate"),
    script:
        "../scripts/upscaling/simulate.py"


rule upscaling_merge:
    input:
        shard_files,
    output:
        "results/upscaling/{study}/data/dataset.h5",
    params:
        system=lambda wc: study(wc)["system"],
        simulate=lambda wc: study(wc)["simulate"],
    log:
        "results/upscaling/{study}/logs/merge_dataset.log",
    threads: ONE
    priority: EARLY
    resources:
        **estimate("merge"),
    script:
        "../scripts/upscaling/merge.py"


rule upscaling_train:
    input:
        "results/upscaling/{study}/data/dataset.h5",
    output:
        generator="results/upscaling/{study}/gan/generator.pt",
        history="results/upscaling/{study}/gan/history.h5",
    params:
        system=lambda wc: study(wc)["system"],
        gan=lambda wc: study(wc)["gan"],
        device=DEVICE,
        checkpoint=study_path(".checkpoints", "gan.pt"),
        progress=config["progress"],
    log:
        "results/upscaling/{study}/logs/train_gan.log",
    benchmark:
        "results/upscaling/{study}/benchmarks/train_gan.tsv"
    threads: ONE
    priority: EARLY
    resources:
        **estimate("train"),
        gpu=GPU,
    script:
        "../scripts/upscaling/train.py"


rule upscaling_generate:
    input:
        generator="results/upscaling/{study}/gan/generator.pt",
        dataset="results/upscaling/{study}/data/dataset.h5",
    output:
        "results/upscaling/{study}/generated/x{scale}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        evaluate=lambda wc: study(wc)["evaluate"],
        device=DEVICE,
        calibration=study_path("gan", "calibration_x{scale}.json"),
    log:
        "results/upscaling/{study}/logs/generate/x{scale}.log",
    benchmark:
        "results/upscaling/{study}/benchmarks/generate/x{scale}.tsv"
    wildcard_constraints:
        scale=r"\d+",
    threads: ONE
    resources:
        **estimate("generate"),
        gpu=GPU,
    script:
        "../scripts/upscaling/generate.py"


rule upscaling_heatbath:
    input:
        generator="results/upscaling/{study}/gan/generator.pt",
    output:
        "results/upscaling/{study}/heatbath/x{scale}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        simulate=lambda wc: study(wc)["simulate"],
        evaluate=lambda wc: study(wc)["evaluate"],
        device=DEVICE,
    log:
        "results/upscaling/{study}/logs/heatbath_x{scale}.log",
    benchmark:
        "results/upscaling/{study}/benchmarks/heatbath_x{scale}.tsv"
    wildcard_constraints:
        scale=r"\d+",
    threads: ONE
    resources:
        **estimate("heatbath"),
        gpu=GPU,
    script:
        "../scripts/upscaling/heatbath.py"


rule upscaling_evaluate:
    input:
        unpack(hook(upscaling_hooks.evaluate_inputs)),
    output:
        metrics="results/upscaling/{study}/metrics.json",
        **study_figures("upscaling"),
    params:
        system=lambda wc: study(wc)["system"],
        evaluate=lambda wc: study(wc)["evaluate"],
    log:
        "results/upscaling/{study}/logs/evaluate.log",
    benchmark:
        "results/upscaling/{study}/benchmarks/evaluate.tsv"
    threads: ONE
    resources:
        **estimate("evaluate"),
    script:
        "../scripts/upscaling/evaluate.py"


rule upscaling_plot:
    input:
        generated="results/upscaling/{study}/generated/x{scale}.h5",
        metrics="results/upscaling/{study}/metrics.json",
    output:
        **run_figures("upscaling"),
    params:
        evaluate=lambda wc: study(wc)["evaluate"],
    log:
        "results/upscaling/{study}/logs/plot_x{scale}.log",
    wildcard_constraints:
        scale=r"\d+",
    threads: ONE
    resources:
        **estimate("plot"),
    script:
        "../scripts/upscaling/plot.py"
