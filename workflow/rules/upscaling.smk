# Upscaling studies (kind: upscaling; Mills, Casert & Tamblyn 2019, RUGAN): thermal states of the
# chiral magnet at the training size over a temperature grid (sharded heat bath) -> energy-
# conditioned periodic WGAN-GP + CT -> states generated at each scale with their exact energies ->
# heat-bath states sampled directly at the largest scale, heat bath and generator timed in one job ->
# evaluate_upscaling. Every rule of this file accepts only upscaling studies
# (study=KIND_RE["upscaling"]).

localrules:
    merge_thermal,
    plot_scale,


def upscaling_evaluate_inputs(wc):
    s = study(wc)
    return {"dataset": f"results/{wc.study}/data/dataset.h5",
            "history": f"results/{wc.study}/gan/history.h5",
            "generated": [f"results/{wc.study}/generated/x{k}.h5" for k in s["evaluate"]["scales"]],
            "heatbath": f"results/{wc.study}/heatbath/x{s['evaluate']['heatbath_scale']}.h5"}


def upscaling_figure(name, caption, subcategory, label):
    return report(f"results/{{study}}/figures/{name}.png", caption=f"../report/upscaling/{caption}.rst",
                  category="{study}", subcategory=subcategory, labels={"figure": label})


rule thermal_shard:
    output:
        "results/{study}/data/shards/shard{shard}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        simulate=lambda wc: study(wc)["simulate"],
    log:
        "results/{study}/logs/simulate/shard{shard}.log",
    benchmark:
        "results/{study}/benchmarks/simulate/shard{shard}.tsv"
    wildcard_constraints:
        study=KIND_RE["upscaling"],
    threads: THREADS
    resources:
        **estimate("thermal_shard"),
    script:
        "../scripts/upscaling/thermal_shard.py"


rule merge_thermal:
    input:
        shard_files,
    output:
        "results/{study}/data/dataset.h5",
    params:
        system=lambda wc: study(wc)["system"],
        simulate=lambda wc: study(wc)["simulate"],
    log:
        "results/{study}/logs/merge_dataset.log",
    wildcard_constraints:
        study=KIND_RE["upscaling"],
    threads: 1
    resources:
        **estimate("merge_thermal"),
    script:
        "../scripts/upscaling/merge_thermal.py"


rule train_gan:
    input:
        "results/{study}/data/dataset.h5",
    output:
        generator="results/{study}/gan/generator.pt",
        history="results/{study}/gan/history.h5",
    params:
        system=lambda wc: study(wc)["system"],
        gan=lambda wc: study(wc)["gan"],
        device=DEVICE,
        checkpoint=lambda wc: f"results/{wc.study}/.checkpoints/gan.pt",
        progress=config["progress"],
    log:
        "results/{study}/logs/train_gan.log",
    benchmark:
        "results/{study}/benchmarks/train_gan.tsv"
    wildcard_constraints:
        study=KIND_RE["upscaling"],
    threads: THREADS
    resources:
        **estimate("train_gan"),
        gpu=GPU,
    script:
        "../scripts/upscaling/train_gan.py"


rule generate_scale:
    input:
        generator="results/{study}/gan/generator.pt",
        dataset="results/{study}/data/dataset.h5",
    output:
        "results/{study}/generated/x{scale}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        evaluate=lambda wc: study(wc)["evaluate"],
        device=DEVICE,
        calibration=lambda wc: f"results/{wc.study}/gan/calibration_x{wc.scale}.json",
    log:
        "results/{study}/logs/generate/x{scale}.log",
    benchmark:
        "results/{study}/benchmarks/generate/x{scale}.tsv"
    wildcard_constraints:
        study=KIND_RE["upscaling"],
        scale=r"\d+",
    threads: THREADS
    resources:
        **estimate("generate_scale"),
        gpu=GPU,
    script:
        "../scripts/upscaling/generate_scale.py"


rule heatbath_reference:
    input:
        generator="results/{study}/gan/generator.pt",
    output:
        "results/{study}/heatbath/x{scale}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        simulate=lambda wc: study(wc)["simulate"],
        evaluate=lambda wc: study(wc)["evaluate"],
        device=DEVICE,
    log:
        "results/{study}/logs/heatbath_x{scale}.log",
    benchmark:
        "results/{study}/benchmarks/heatbath_x{scale}.tsv"
    wildcard_constraints:
        study=KIND_RE["upscaling"],
        scale=r"\d+",
    threads: THREADS
    resources:
        **estimate("heatbath_reference"),
        gpu=GPU,
    script:
        "../scripts/upscaling/heatbath_reference.py"


rule evaluate_upscaling:
    input:
        unpack(upscaling_evaluate_inputs),
    output:
        metrics="results/{study}/metrics.json",
        table=report(
            "results/{study}/figures/metrics.html",
            caption="../report/upscaling/metrics.rst",
            category="{study}",
            subcategory="0 metrics",
            labels={"figure": "metrics table"},
        ),
        train_samples=upscaling_figure("train_samples", "train_samples", "1 states", "training states"),
        seams=upscaling_figure("seams", "seams", "3 periodicity", "seam check"),
        structure_factor=upscaling_figure("structure_factor", "structure_factor", "4 heat bath at the largest size",
                                          "structure factor"),
        heatbath_comparison=upscaling_figure("heatbath_comparison", "heatbath_comparison",
                                             "4 heat bath at the largest size", "energies per temperature"),
        gan_training=upscaling_figure("gan_training", "gan_training", "5 training", "training curves"),
    params:
        system=lambda wc: study(wc)["system"],
        evaluate=lambda wc: study(wc)["evaluate"],
    log:
        "results/{study}/logs/evaluate.log",
    wildcard_constraints:
        study=KIND_RE["upscaling"],
    threads: 1
    resources:
        **estimate("evaluate_upscaling"),
    script:
        "../scripts/upscaling/evaluate.py"


rule plot_scale:
    input:
        generated="results/{study}/generated/x{scale}.h5",
        metrics="results/{study}/metrics.json",
    output:
        samples=upscaling_figure("generated_x{scale}", "generated", "1 states", "generated at {scale}x"),
        fidelity=upscaling_figure("fidelity_x{scale}", "fidelity", "2 requested vs realized energy", "{scale}x"),
    params:
        evaluate=lambda wc: study(wc)["evaluate"],
    log:
        "results/{study}/logs/plot_x{scale}.log",
    wildcard_constraints:
        study=KIND_RE["upscaling"],
        scale=r"\d+",
    threads: 1
    resources:
        **estimate("evaluate_upscaling"),
    script:
        "../scripts/upscaling/plot_scale.py"
