# Trajectory studies (kind: trajectories), in results/trajectories/{study}/: field histories
# (trajectories_families) -> trajectory VAE (trajectories_train) -> decoded, feasibility-filtered
# latent grid (trajectories_grid) -> Bayesian optimization of a FerroSIM objective per run
# (trajectories_optimize; Kalinin lecture; Biswas et al. 2023, Table 1) -> trajectories_evaluate
# + trajectories_plot per run. Input functions: latentopt.studies.hooks.trajectories.

from latentopt.studies.hooks import trajectories as trajectories_hooks


localrules:
    trajectories_plot,


rule trajectories_families:
    output:
        "results/trajectories/{study}/trajectories/train.h5",
    params:
        trajectories=lambda wc: study(wc)["trajectories"],
        field_unit=hook(trajectories_hooks.field_unit),
    log:
        "results/trajectories/{study}/logs/trajectories.log",
    benchmark:
        "results/trajectories/{study}/benchmarks/trajectories.tsv"
    threads: ONE
    priority: EARLY
    resources:
        **estimate("families"),
    script:
        "../scripts/trajectories/families.py"


rule trajectories_train:
    input:
        "results/trajectories/{study}/trajectories/train.h5",
    output:
        model="results/trajectories/{study}/vae/model.pt",
        history="results/trajectories/{study}/vae/history.h5",
    params:
        vae=lambda wc: study(wc)["vae"],
        device=DEVICE,
        checkpoint=study_path(".checkpoints", "vae.pt"),
    log:
        "results/trajectories/{study}/logs/train_vae.log",
    benchmark:
        "results/trajectories/{study}/benchmarks/train_vae.tsv"
    threads: ONE
    priority: EARLY
    resources:
        **estimate("train"),
        gpu=GPU,
    script:
        "../scripts/trajectories/train.py"


rule trajectories_grid:
    input:
        model="results/trajectories/{study}/vae/model.pt",
        trajectories="results/trajectories/{study}/trajectories/train.h5",
    output:
        "results/trajectories/{study}/latent/grid.h5",
    params:
        latent=lambda wc: study(wc)["latent"],
        field_unit=hook(trajectories_hooks.field_unit),
        device=DEVICE,
    log:
        "results/trajectories/{study}/logs/latent_grid.log",
    benchmark:
        "results/trajectories/{study}/benchmarks/latent_grid.tsv"
    threads: ONE
    priority: EARLY
    resources:
        **estimate("grid"),
        gpu=GPU,
    script:
        "../scripts/trajectories/grid.py"


rule trajectories_ground_truth:
    input:
        "results/trajectories/{study}/latent/grid.h5",
    output:
        "results/trajectories/{study}/latent/ground_truth.h5",
    params:
        system=lambda wc: study(wc)["system"],
        objective=lambda wc: study(wc)["objective"],
        field_unit=hook(trajectories_hooks.field_unit),
    log:
        "results/trajectories/{study}/logs/ground_truth.log",
    benchmark:
        "results/trajectories/{study}/benchmarks/ground_truth.tsv"
    threads: ONE
    priority: EARLY
    resources:
        **estimate("ground_truth"),
    script:
        "../scripts/trajectories/ground_truth.py"


rule trajectories_optimize:
    input:
        unpack(hook(trajectories_hooks.optimize_inputs)),
    output:
        "results/trajectories/{study}/bo/{run}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        objective=lambda wc: study(wc)["objective"],
        run=run_settings,
        field_unit=hook(trajectories_hooks.field_unit),
        checkpoint=study_path(".checkpoints", "bo-{run}.pt"),
    log:
        "results/trajectories/{study}/logs/bo/{run}.log",
    benchmark:
        "results/trajectories/{study}/benchmarks/bo/{run}.tsv"
    threads: ONE
    resources:
        **estimate("optimize"),
    script:
        "../scripts/trajectories/optimize.py"


rule trajectories_evaluate:
    input:
        unpack(hook(trajectories_hooks.evaluate_inputs)),
    output:
        metrics="results/trajectories/{study}/metrics.json",
        **study_figures("trajectories"),
    params:
        objective=lambda wc: study(wc)["objective"],
        evaluate=lambda wc: study(wc)["evaluate"],
        field_unit=hook(trajectories_hooks.field_unit),
        device=DEVICE,
    log:
        "results/trajectories/{study}/logs/evaluate.log",
    benchmark:
        "results/trajectories/{study}/benchmarks/evaluate.tsv"
    threads: ONE
    resources:
        **estimate("evaluate"),
        gpu=GPU,
    script:
        "../scripts/trajectories/evaluate.py"


rule trajectories_plot:
    input:
        unpack(hook(trajectories_hooks.plot_inputs)),
    output:
        **run_figures("trajectories"),
    params:
        objective=lambda wc: study(wc)["objective"],
        field_unit=hook(trajectories_hooks.field_unit),
    log:
        "results/trajectories/{study}/logs/plot_bo/{run}.log",
    script:
        "../scripts/trajectories/plot.py"
