# Spin studies (kind: spins; Park et al., Sci. Rep. 12, 9278 (2022)):
# simulate (shards) -> dataset.h5 -> train_vae -> generate (X_VAE) -> relax (X'_VAE) ->
# optimize/{run} -> evaluate (metrics.json, figures) + plot_run per run.
# Every rule of this file accepts only spin studies (study=KIND_RE["spins"]).


localrules:
    merge_dataset,
    plot_run,


def shard_files(wc):
    n = study(wc)["simulate"]["shards"]
    return [f"results/{wc.study}/data/shards/shard{k}.h5" for k in range(n)]


def run_files(wc):
    return [f"results/{wc.study}/optimize/{r}.h5" for r in runs(wc.study)]


def optimize_inputs(wc):
    """The trained model, plus the boundary map file of a C_BC run that names one."""
    inputs = {"model": f"results/{wc.study}/vae/model.pt"}
    boundary = run_settings(wc).get("boundary", {})
    if "file" in boundary:
        inputs["boundary"] = str(REPO / boundary["file"])  # resolved like the script does
    return inputs


# ------------------------------------------------------------------ simulate
# X_IN: heat-bath simulated annealing, sharded over jobs, then merged into dataset.h5.


rule simulate_shard:
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
    wildcard_constraints:
        study=KIND_RE["spins"],
    threads: THREADS
    resources:
        **estimate("simulate_shard"),
        **({"gpu": 1} if DEVICE == "cuda" else {}),
    script:
        "../scripts/spins/simulate_shard.py"


rule merge_dataset:
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
        study=KIND_RE["spins"],
    script:
        "../scripts/spins/merge_dataset.py"


# ------------------------------------------------------------------ vae
# Train the spin VAE on X_IN (Park et al. 2022, Methods). Checkpoints every epoch to
# results/{study}/.checkpoints/vae.pt (not a declared output) and resumes from it.


rule train_vae:
    input:
        "results/{study}/data/dataset.h5",
    output:
        model="results/{study}/vae/model.pt",
        history="results/{study}/vae/history.h5",
    params:
        vae=lambda wc: study(wc)["vae"],
        device=DEVICE,
        checkpoint=lambda wc: f"results/{wc.study}/.checkpoints/vae.pt",
    log:
        "results/{study}/logs/train_vae.log",
    benchmark:
        "results/{study}/benchmarks/train_vae.tsv"
    wildcard_constraints:
        study=KIND_RE["spins"],
    threads: THREADS
    resources:
        **estimate("train_vae"),
        gpu=GPU,
    script:
        "../scripts/spins/train_vae.py"


# ------------------------------------------------------------------ samples
# X_VAE (decoded prior samples) and X'_VAE (after single-code modification).


rule generate:
    input:
        model="results/{study}/vae/model.pt",
    output:
        "results/{study}/samples/vae.h5",
    params:
        generate=lambda wc: study(wc)["generate"],
        device=DEVICE,
    log:
        "results/{study}/logs/generate.log",
    wildcard_constraints:
        study=KIND_RE["spins"],
    threads: THREADS
    resources:
        **estimate("generate"),
        gpu=GPU,
    script:
        "../scripts/spins/generate.py"


rule relax:
    input:
        model="results/{study}/vae/model.pt",
        samples="results/{study}/samples/vae.h5",
    output:
        "results/{study}/samples/relaxed.h5",
    params:
        system=lambda wc: study(wc)["system"],
        relax=lambda wc: study(wc)["relax"],
        device=DEVICE,
        checkpoint=lambda wc: f"results/{wc.study}/.checkpoints/relax.pt",
    log:
        "results/{study}/logs/relax.log",
    benchmark:
        "results/{study}/benchmarks/relax.tsv"
    wildcard_constraints:
        study=KIND_RE["spins"],
    threads: THREADS
    resources:
        **estimate("relax"),
        gpu=GPU,
    script:
        "../scripts/spins/relax.py"


# ------------------------------------------------------------------ optimize
# One latent-space optimization run per entry of the study's `optimize:` block.


rule optimize:
    input:
        unpack(optimize_inputs),
    output:
        "results/{study}/optimize/{run}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        run=run_settings,
        device=DEVICE,
        checkpoint=lambda wc: f"results/{wc.study}/.checkpoints/optimize-{wc.run}.pt",
    log:
        "results/{study}/logs/optimize/{run}.log",
    benchmark:
        "results/{study}/benchmarks/optimize/{run}.tsv"
    wildcard_constraints:
        study=KIND_RE["spins"],
    threads: THREADS
    resources:
        **estimate("optimize"),
        gpu=GPU,
    script:
        "../scripts/spins/optimize.py"


# ------------------------------------------------------------------ evaluate
# Metrics and figures per study; the figures and the metrics table go into the report.


rule evaluate:
    input:
        dataset="results/{study}/data/dataset.h5",
        model="results/{study}/vae/model.pt",
        history="results/{study}/vae/history.h5",
        vae="results/{study}/samples/vae.h5",
        relaxed="results/{study}/samples/relaxed.h5",
        runs=run_files,
    output:
        metrics="results/{study}/metrics.json",
        table=report(
            "results/{study}/figures/metrics.html",
            caption="../report/spins/metrics.rst",
            category="{study}",
            subcategory="0 metrics",
            labels={"figure": "metrics table"},
        ),
        dataset_samples=report(
            "results/{study}/figures/dataset_samples.png",
            caption="../report/spins/dataset_samples.rst",
            category="{study}",
            subcategory="1 dataset and VAE",
            labels={"figure": "X_IN samples"},
        ),
        vae_samples=report(
            "results/{study}/figures/vae_samples.png",
            caption="../report/spins/vae_samples.rst",
            category="{study}",
            subcategory="1 dataset and VAE",
            labels={"figure": "X_VAE samples"},
        ),
        relaxed_samples=report(
            "results/{study}/figures/relaxed_samples.png",
            caption="../report/spins/relaxed_samples.rst",
            category="{study}",
            subcategory="1 dataset and VAE",
            labels={"figure": "X'_VAE samples"},
        ),
        energy_histograms=report(
            "results/{study}/figures/energy_histograms.png",
            caption="../report/spins/energy_histograms.rst",
            category="{study}",
            subcategory="1 dataset and VAE",
            labels={"figure": "energy-density histograms"},
        ),
        energy_density_maps=report(
            "results/{study}/figures/energy_density_maps.png",
            caption="../report/spins/energy_density_maps.rst",
            category="{study}",
            subcategory="1 dataset and VAE",
            labels={"figure": "energy-density maps"},
        ),
        training_curves=report(
            "results/{study}/figures/training_curves.png",
            caption="../report/spins/training_curves.rst",
            category="{study}",
            subcategory="1 dataset and VAE",
            labels={"figure": "training curves"},
        ),
        optimizer_traces=report(
            "results/{study}/figures/optimizer_traces.png",
            caption="../report/spins/optimizer_traces.rst",
            category="{study}",
            subcategory="2 optimization",
            labels={"figure": "optimizer traces"},
        ),
        w_vs_mz=report(
            "results/{study}/figures/w_vs_mz.png",
            caption="../report/spins/w_vs_mz.rst",
            category="{study}",
            subcategory="2 optimization",
            labels={"figure": "W vs M_z"},
        ),
    params:
        system=lambda wc: study(wc)["system"],
        evaluate=lambda wc: study(wc)["evaluate"],
        runs=lambda wc: study(wc).get("optimize", {}),
        device=DEVICE,
    log:
        "results/{study}/logs/evaluate.log",
    benchmark:
        "results/{study}/benchmarks/evaluate.tsv"
    wildcard_constraints:
        study=KIND_RE["spins"],
    threads: THREADS
    resources:
        **estimate("evaluate"),
        gpu=GPU,
    script:
        "../scripts/spins/evaluate.py"


rule plot_run:
    input:
        "results/{study}/optimize/{run}.h5",
    output:
        report(
            "results/{study}/figures/optimize/{run}.png",
            caption="../report/spins/run.rst",
            category="{study}",
            subcategory="2 optimization",
            labels={"figure": "best states: {run}"},
        ),
    params:
        run=run_settings,
    log:
        "results/{study}/logs/plot_run/{run}.log",
    wildcard_constraints:
        study=KIND_RE["spins"],
    script:
        "../scripts/spins/plot_run.py"
