# Spin studies (kind: spins; Park et al., Sci. Rep. 12, 9278 (2022)), in results/{study}/:
# spins_simulate (shards) -> spins_merge (dataset.h5) -> spins_train (VAE) -> spins_generate (X_VAE) ->
# spins_modify (single-code modification, X'_VAE) -> spins_optimize per run -> spins_baseline per
# run (direct search in spin space, equal evaluations) -> spins_evaluate (metrics.json, figures) +
# spins_plot per run. Input functions: latentopt.studies.hooks.spins.

from latentopt.studies.hooks import spins as spins_hooks
from latentopt.sweeps import POINT_REGEX


localrules:
    spins_merge,
    spins_plot,


# ------------------------------------------------------------------ simulate
# X_IN: heat-bath simulated annealing, sharded over jobs, then merged into dataset.h5.


rule spins_simulate:
    output:
        "results/{study}/data/shards/shard{shard}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        simulate=lambda wc: study(wc)["simulate"],
        # the torch heat bath runs only where `device: cuda` asks for it (numba is faster on CPUs)
        device="cuda" if DEVICE == "cuda" else "cpu",
    log:
        "results/{study}/logs/simulate/shard{shard}.log",
    benchmark:
        "results/{study}/benchmarks/simulate/shard{shard}.tsv"
    threads: THREADS
    priority: FIRST
    resources:
        **estimate("simulate"),
        **({"gpu": 1} if DEVICE == "cuda" else {}),
    script:
        "../scripts/spins/simulate.py"


rule spins_merge:
    input:
        hook(spins_hooks.merge_inputs),
    output:
        "results/{study}/data/dataset.h5",
    params:
        system=lambda wc: study(wc)["system"],
        simulate=lambda wc: study(wc)["simulate"],
        # a sweep study pools the shards of every point (spins_sweep_simulate below)
        sweep=lambda wc: study(wc).get("sweep", {}),
        points=lambda wc: list(spins_hooks.points(study(wc))),
    log:
        "results/{study}/logs/merge_dataset.log",
    threads: THREADS
    priority: FIRST
    script:
        "../scripts/spins/merge.py"


# ------------------------------------------------------------------ vae
# Train the spin VAE on X_IN (Park et al. 2022, Methods). Checkpoints every epoch to
# results/{study}/.checkpoints/vae.pt (not a declared output) and resumes from it.


rule spins_train:
    input:
        "results/{study}/data/dataset.h5",
    output:
        model="results/{study}/vae/model.pt",
        history="results/{study}/vae/history.h5",
    params:
        vae=lambda wc: study(wc)["vae"],
        device=DEVICE,
        checkpoint=study_path(".checkpoints", "vae.pt"),
    log:
        "results/{study}/logs/train_vae.log",
    benchmark:
        "results/{study}/benchmarks/train_vae.tsv"
    threads: TRAIN_THREADS
    priority: FIRST
    resources:
        **estimate("train"),
        gpu=GPU,
    script:
        "../scripts/spins/train.py"


# ------------------------------------------------------------------ samples
# X_VAE (decoded prior samples) and X'_VAE (after single-code modification: Adam on z; the
# config block is `relax`, the file samples/relaxed.h5).


rule spins_generate:
    input:
        model="results/{study}/vae/model.pt",
    output:
        "results/{study}/samples/vae.h5",
    params:
        generate=lambda wc: study(wc)["generate"],
        device=DEVICE,
    log:
        "results/{study}/logs/generate.log",
    benchmark:
        "results/{study}/benchmarks/generate.tsv"
    threads: ONE
    priority: longest_first("modify")  # its one successor, the modification, is long
    resources:
        **estimate("generate"),
        gpu=GPU,
    script:
        "../scripts/spins/generate.py"


rule spins_modify:
    input:
        model="results/{study}/vae/model.pt",
        samples="results/{study}/samples/vae.h5",
    output:
        "results/{study}/samples/relaxed.h5",
    params:
        system=lambda wc: study(wc)["system"],
        relax=lambda wc: study(wc)["relax"],
        device=DEVICE,
        checkpoint=study_path(".checkpoints", "relax.pt"),
    log:
        "results/{study}/logs/relax.log",
    benchmark:
        "results/{study}/benchmarks/relax.tsv"
    threads: ONE
    priority: longest_first("modify")
    resources:
        **estimate("modify"),
        gpu=GPU,
    script:
        "../scripts/spins/modify.py"


# ------------------------------------------------------------------ optimize
# One latent-space optimization run per entry of the study's `optimize:` block.


rule spins_optimize:
    input:
        unpack(hook(spins_hooks.optimize_inputs)),
    output:
        "results/{study}/optimize/{run}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        run=hook(spins_hooks.latent_settings),
        device=DEVICE,
        checkpoint=study_path(".checkpoints", "optimize-{run}.pt"),
    log:
        "results/{study}/logs/optimize/{run}.log",
    benchmark:
        "results/{study}/benchmarks/optimize/{run}.tsv"
    threads: ONE
    priority: longest_first("optimize")
    resources:
        **estimate("optimize"),
        gpu=GPU,
    script:
        "../scripts/spins/optimize.py"


# ------------------------------------------------------------------ baseline
# The direct search in spin space of each run with `baseline.enabled` (the default): as many
# objective evaluations as the latent run spent (read from its file), from random or heat-bath
# states (latentopt.optimizers.direct).


rule spins_baseline:
    input:
        unpack(hook(spins_hooks.baseline_inputs)),
    output:
        "results/{study}/baseline/{run}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        run=run_settings,
        device=DEVICE,
    log:
        "results/{study}/logs/baseline/{run}.log",
    benchmark:
        "results/{study}/benchmarks/baseline/{run}.tsv"
    threads: ONE
    priority: longest_first("baseline")
    resources:
        **estimate("baseline"),
        gpu=GPU,
    script:
        "../scripts/spins/baseline.py"


# ------------------------------------------------------------------ evaluate
# Metrics and figures per study; the figures and the metrics table go into the report
# (latentopt.studies: the kind's figures and captions).


rule spins_evaluate:
    input:
        dataset="results/{study}/data/dataset.h5",
        model="results/{study}/vae/model.pt",
        history="results/{study}/vae/history.h5",
        vae="results/{study}/samples/vae.h5",
        relaxed="results/{study}/samples/relaxed.h5",
        runs=hook(spins_hooks.run_files),
        baselines=hook(spins_hooks.baseline_files),
    output:
        metrics="results/{study}/metrics.json",
        **study_figures("spins"),
    params:
        system=lambda wc: study(wc)["system"],
        evaluate=lambda wc: study(wc)["evaluate"],
        runs=lambda wc: study(wc).get("optimize", {}),
        device=DEVICE,
    log:
        "results/{study}/logs/evaluate.log",
    benchmark:
        "results/{study}/benchmarks/evaluate.tsv"
    threads: ONE
    resources:
        **estimate("evaluate"),
        gpu=GPU,
    script:
        "../scripts/spins/evaluate.py"


rule spins_plot:
    input:
        "results/{study}/optimize/{run}.h5",
    output:
        **run_figures("spins"),
    params:
        run=hook(spins_hooks.latent_settings),
    log:
        "results/{study}/logs/plot_run/{run}.log",
    script:
        "../scripts/spins/plot.py"


# ------------------------------------------------------------------ sweeps
# A study with `sweep:` (latentopt.sweeps): per point {point} (e.g. B_z~0.02__D~0.3) its own heat-bath
# shards, pooled into one data set (spins_merge) and one VAE (spins_train above); per point and run a latent search with
# the point's Hamiltonian (optimize.py with the point's system), per point the relaxed reference candidates;
# then the sweep's table and figures. Adding a value adds points: only their jobs, the pooled merge, the
# training and the latent searches (the model changed) rerun; the other points' shards and references stay.


wildcard_constraints:
    point=POINT_REGEX,


rule spins_sweep_simulate:
    output:
        "results/{study}/points/{point}/shards/shard{shard}.h5",
    params:
        system=hook(spins_hooks.point_system),
        simulate=lambda wc: study(wc)["simulate"],
        device="cuda" if DEVICE == "cuda" else "cpu",
    log:
        "results/{study}/logs/points/{point}/simulate/shard{shard}.log",
    benchmark:
        "results/{study}/benchmarks/points/{point}/simulate/shard{shard}.tsv"
    threads: THREADS
    priority: FIRST
    resources:
        **estimate("sweep_simulate"),
        **({"gpu": 1} if DEVICE == "cuda" else {}),
    script:
        "../scripts/spins/sweep_simulate.py"


rule spins_sweep_optimize:
    input:
        model="results/{study}/vae/model.pt",
    output:
        "results/{study}/points/{point}/optimize/{run}.h5",
    params:
        system=hook(spins_hooks.point_system),
        run=run_settings,
        device=DEVICE,
        checkpoint=study_path(".checkpoints", "optimize-{point}-{run}.pt"),
    log:
        "results/{study}/logs/points/{point}/optimize/{run}.log",
    benchmark:
        "results/{study}/benchmarks/points/{point}/optimize/{run}.tsv"
    threads: ONE
    priority: FIRST
    resources:
        **estimate("sweep_optimize"),
        gpu=GPU,
    script:
        "../scripts/spins/sweep_optimize.py"


rule spins_sweep_reference:
    output:
        "results/{study}/points/{point}/reference.h5",
    params:
        system=hook(spins_hooks.point_system),
        phases=lambda wc: study(wc)["phases"],
    log:
        "results/{study}/logs/points/{point}/reference.log",
    benchmark:
        "results/{study}/benchmarks/points/{point}/reference.tsv"
    threads: ONE
    resources:
        **estimate("sweep_reference"),
    script:
        "../scripts/spins/sweep_reference.py"


rule spins_sweep_evaluate:
    input:
        unpack(hook(spins_hooks.point_files)),
    output:
        metrics="results/{study}/sweep/metrics.json",
        table=report("results/{study}/figures/sweep_table.html", caption="../report/spins/sweep_table.rst",
                     category="{study}", subcategory="3 sweep", labels={"figure": "sweep table"}),
        sweep_phase_diagram=report("results/{study}/figures/sweep_phase_diagram.png", caption="../report/spins/sweep_phase_diagram.rst",
                     category="{study}", subcategory="3 sweep", labels={"figure": "latent phase diagram"}),
        sweep_energies=report("results/{study}/figures/sweep_energies.png", caption="../report/spins/sweep_energies.rst",
                     category="{study}", subcategory="3 sweep", labels={"figure": "energy per spin vs field"}),
        sweep_states=report("results/{study}/figures/sweep_states.png", caption="../report/spins/sweep_states.rst",
                     category="{study}", subcategory="3 sweep", labels={"figure": "optimized state at each point"}),
    params:
        points=lambda wc: spins_hooks.points(study(wc)),
        runs=lambda wc: list(study(wc)["optimize"]),
    log:
        "results/{study}/logs/sweep_evaluate.log",
    benchmark:
        "results/{study}/benchmarks/sweep_evaluate.tsv"
    threads: ONE
    resources:
        **estimate("sweep_evaluate"),
    script:
        "../scripts/spins/sweep_evaluate.py"
