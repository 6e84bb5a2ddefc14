# KL-schedule studies (kind: schedules; Biswas et al. 2023), in results/schedules/{study}/: images
# (schedules_images) and beta_c(i) trajectories from families (schedules_families) -> trajectory VAE
# (schedules_train) -> decoded, feasibility-filtered latent grid (schedules_grid) -> Bayesian
# optimization in numbered rounds: schedules_propose for round r reads the evaluations of rounds < r,
# and every evaluation, one jrVAE training, is its own job (schedules_score; the random-search
# pool's points, pool_per_job to a job: schedules_score_pool) -> schedules_optimize gathers a run
# -> final models on the full set (schedules_final; further seeds: schedules_final_repeat) -> schedules_evaluate (+ schedules_plot per run). The DAG is static
# (latentopt.studies.hooks.schedules, which holds the input functions).

from latentopt.studies.hooks import schedules as schedules_hooks


localrules:
    schedules_plot,


rule schedules_images:
    output:
        "results/schedules/{study}/data/images.h5",
    params:
        data=lambda wc: study(wc)["data"],
    log:
        "results/schedules/{study}/logs/images.log",
    benchmark:
        "results/schedules/{study}/benchmarks/images.tsv"
    threads: ONE
    resources:
        **estimate("images"),
    script:
        "../scripts/schedules/images.py"


rule schedules_families:
    output:
        "results/schedules/{study}/trajectories/train.h5",
    params:
        trajectories=lambda wc: study(wc)["trajectories"],
        latent=lambda wc: study(wc)["latent"],
    log:
        "results/schedules/{study}/logs/trajectories.log",
    benchmark:
        "results/schedules/{study}/benchmarks/trajectories.tsv"
    threads: ONE
    resources:
        **estimate("families"),
    script:
        "../scripts/schedules/families.py"


rule schedules_train:
    input:
        "results/schedules/{study}/trajectories/train.h5",
    output:
        model="results/schedules/{study}/vae/model.pt",
        history="results/schedules/{study}/vae/history.h5",
    params:
        vae=lambda wc: study(wc)["vae"],
        device=DEVICE,
        checkpoint=study_path(".checkpoints", "vae.pt"),
    log:
        "results/schedules/{study}/logs/train_vae.log",
    benchmark:
        "results/schedules/{study}/benchmarks/train_vae.tsv"
    threads: ONE
    priority: EARLY
    resources:
        **estimate("train"),
        gpu=GPU,
    script:
        "../scripts/schedules/train.py"


rule schedules_grid:
    input:
        model="results/schedules/{study}/vae/model.pt",
        trajectories="results/schedules/{study}/trajectories/train.h5",
    output:
        "results/schedules/{study}/latent/grid.h5",
    params:
        latent=lambda wc: study(wc)["latent"],
        device=DEVICE,
    log:
        "results/schedules/{study}/logs/latent_grid.log",
    benchmark:
        "results/schedules/{study}/benchmarks/latent_grid.tsv"
    threads: ONE
    resources:
        **estimate("grid"),
        gpu=GPU,
    script:
        "../scripts/schedules/grid.py"


rule schedules_propose:
    input:
        unpack(hook(schedules_hooks.propose_inputs)),
    output:
        "results/schedules/{study}/bo/{run}/round{round}.h5",
    params:
        proposal=hook(schedules_hooks.proposal),
    log:
        "results/schedules/{study}/logs/bo/{run}/round{round}.log",
    benchmark:
        "results/schedules/{study}/benchmarks/bo/{run}/round{round}.tsv"
    wildcard_constraints:
        round=r"\d+",
    threads: ONE
    priority: EARLY
    resources:
        **estimate("propose"),
    script:
        "../scripts/schedules/propose.py"


rule schedules_score:
    input:
        round="results/schedules/{study}/bo/{run}/round{round}.h5",
        images="results/schedules/{study}/data/images.h5",
    output:
        "results/schedules/{study}/bo/{run}/r{round}/e{slot}.h5",
    params:
        jrvae=lambda wc: study(wc)["jrvae"],
        objective=lambda wc: study(wc)["objective"],
        device=DEVICE,
        checkpoint=study_path(".checkpoints", "bo-{run}-r{round}-e{slot}.pt"),
    log:
        "results/schedules/{study}/logs/bo/{run}/r{round}/e{slot}.log",
    benchmark:
        "results/schedules/{study}/benchmarks/bo/{run}/r{round}/e{slot}.tsv"
    wildcard_constraints:
        round=r"\d+",
        slot=r"\d+",
    threads: ONE
    priority: EARLY
    resources:
        **estimate("score"),
        gpu=GPU,
    script:
        "../scripts/schedules/score.py"


rule schedules_score_pool:
    input:
        grid="results/schedules/{study}/latent/grid.h5",
        images="results/schedules/{study}/data/images.h5",
    output:
        "results/schedules/{study}/bo/{run}/pool/c{chunk}.h5",
    params:
        run=lambda wc: {k: run_settings(wc)[k] for k in ("n_initial", "seed")},
        points=hook(schedules_hooks.pool_points),
        jrvae=lambda wc: study(wc)["jrvae"],
        objective=lambda wc: study(wc)["objective"],
        device=DEVICE,
        checkpoint=study_path(".checkpoints", "bo-{run}-p{{point}}.pt"),
    log:
        "results/schedules/{study}/logs/bo/{run}/pool/c{chunk}.log",
    benchmark:
        "results/schedules/{study}/benchmarks/bo/{run}/pool/c{chunk}.tsv"
    wildcard_constraints:
        chunk=r"\d+",
    threads: ONE
    resources:
        **estimate("score_pool"),
        gpu=GPU,
    script:
        "../scripts/schedules/score_pool.py"


rule schedules_optimize:
    input:
        unpack(hook(schedules_hooks.gather_inputs)),
    output:
        "results/schedules/{study}/bo/{run}.h5",
    params:
        run=run_settings,
    log:
        "results/schedules/{study}/logs/bo/{run}/gather.log",
    benchmark:
        "results/schedules/{study}/benchmarks/bo/{run}/gather.tsv"
    threads: ONE
    resources:
        **estimate("optimize"),
    script:
        "../scripts/schedules/optimize.py"


rule schedules_final:
    input:
        unpack(hook(schedules_hooks.final_inputs)),
    output:
        model="results/schedules/{study}/final/{model}.pt",
        result="results/schedules/{study}/final/{model}.h5",
    params:
        jrvae=lambda wc: study(wc)["jrvae"],
        objective=lambda wc: study(wc)["objective"],
        final=lambda wc: study(wc)["final"],
        device=DEVICE,
        checkpoint=study_path(".checkpoints", "final-{model}.pt"),
    log:
        "results/schedules/{study}/logs/final/{model}.log",
    benchmark:
        "results/schedules/{study}/benchmarks/final/{model}.tsv"
    wildcard_constraints:
        model="|".join(schedules_hooks.FINAL_MODELS),
    threads: ONE
    resources:
        **estimate("final"),
        gpu=GPU,
    script:
        "../scripts/schedules/final.py"


rule schedules_final_repeat:
    input:
        unpack(hook(schedules_hooks.final_inputs)),
    output:
        result="results/schedules/{study}/final/repeats/{model}/r{repeat}.h5",
    params:
        jrvae=lambda wc: study(wc)["jrvae"],
        objective=lambda wc: study(wc)["objective"],
        final=lambda wc: study(wc)["final"],
        repeat=lambda wc: int(wc.repeat),
        device=DEVICE,
        checkpoint=study_path(".checkpoints", "final-{model}-r{repeat}.pt"),
    log:
        "results/schedules/{study}/logs/final/{model}/r{repeat}.log",
    benchmark:
        "results/schedules/{study}/benchmarks/final/{model}/r{repeat}.tsv"
    wildcard_constraints:
        model="|".join(schedules_hooks.FINAL_MODELS),
        repeat=r"[1-9]\d*",
    threads: ONE
    resources:
        **estimate("final_repeat"),
        gpu=GPU,
    script:
        "../scripts/schedules/final_repeat.py"


rule schedules_evaluate:
    input:
        unpack(hook(schedules_hooks.evaluate_inputs)),
    output:
        metrics="results/schedules/{study}/metrics.json",
        **study_figures("schedules"),
    params:
        latent=lambda wc: study(wc)["latent"],
        evaluate=lambda wc: study(wc)["evaluate"],
    log:
        "results/schedules/{study}/logs/evaluate.log",
    benchmark:
        "results/schedules/{study}/benchmarks/evaluate.tsv"
    threads: ONE
    resources:
        **estimate("evaluate"),
    script:
        "../scripts/schedules/evaluate.py"


rule schedules_plot:
    input:
        run="results/schedules/{study}/bo/{run}.h5",
        grid="results/schedules/{study}/latent/grid.h5",
    output:
        **run_figures("schedules"),
    params:
        latent=lambda wc: study(wc)["latent"],
    log:
        "results/schedules/{study}/logs/plot_bo/{run}.log",
    script:
        "../scripts/schedules/plot.py"
