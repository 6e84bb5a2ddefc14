# Trajectory studies (kind: trajectories): field histories -> trajectory VAE ->
# decoded, feasibility-filtered latent grid -> Bayesian optimization of a FerroSIM
# objective (Kalinin lecture; Biswas et al. 2023, Table 1).

from latentopt.studies.trajectories import field_unit_attrs


localrules:
    plot_bo_run,


def field_unit(wc):
    """The study's field unit and its value (latentopt.studies.trajectories.field_unit_attrs), recorded in outputs."""
    return field_unit_attrs(study(wc)["system"])


def bayes_inputs(wc):
    """The decoded grid, plus the ground truth when the study computes it (random-search baseline)."""
    inputs = {"grid": f"results/{wc.study}/latent/grid.h5"}
    if study(wc)["ground_truth"]:
        inputs["truth"] = f"results/{wc.study}/latent/ground_truth.h5"
    return inputs


def trajectory_evaluate_inputs(wc):
    inputs = {
        "trajectories": f"results/{wc.study}/trajectories/train.h5",
        "model": f"results/{wc.study}/vae/model.pt",
        "history": f"results/{wc.study}/vae/history.h5",
        "runs": [f"results/{wc.study}/bo/{r}.h5" for r in runs(wc.study)],
        **bayes_inputs(wc),
    }
    return inputs


def plot_bo_inputs(wc):
    return {"run": f"results/{wc.study}/bo/{wc.run}.h5",
            "trajectories": f"results/{wc.study}/trajectories/train.h5", **bayes_inputs(wc)}


rule trajectories:
    output:
        "results/{study}/trajectories/train.h5",
    params:
        trajectories=lambda wc: study(wc)["trajectories"],
        field_unit=field_unit,
    log:
        "results/{study}/logs/trajectories.log",
    wildcard_constraints:
        study=KIND_RE["trajectories"],
    threads: 1
    resources:
        **estimate("trajectories"),
    script:
        "../scripts/trajectories/trajectories.py"


rule train_trajectory_vae:
    input:
        "results/{study}/trajectories/train.h5",
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
        study=KIND_RE["trajectories"],
    threads: THREADS
    resources:
        **estimate("train_trajectory_vae"),
        gpu=GPU,
    script:
        "../scripts/trajectories/train_trajectory_vae.py"


rule latent_grid:
    input:
        model="results/{study}/vae/model.pt",
        trajectories="results/{study}/trajectories/train.h5",
    output:
        "results/{study}/latent/grid.h5",
    params:
        latent=lambda wc: study(wc)["latent"],
        field_unit=field_unit,
        device=DEVICE,
    log:
        "results/{study}/logs/latent_grid.log",
    wildcard_constraints:
        study=KIND_RE["trajectories"],
    threads: THREADS
    resources:
        **estimate("latent_grid"),
        gpu=GPU,
    script:
        "../scripts/trajectories/latent_grid.py"


rule ground_truth:
    input:
        "results/{study}/latent/grid.h5",
    output:
        "results/{study}/latent/ground_truth.h5",
    params:
        system=lambda wc: study(wc)["system"],
        objective=lambda wc: study(wc)["objective"],
        field_unit=field_unit,
    log:
        "results/{study}/logs/ground_truth.log",
    benchmark:
        "results/{study}/benchmarks/ground_truth.tsv"
    wildcard_constraints:
        study=KIND_RE["trajectories"],
    threads: THREADS
    resources:
        **estimate("ground_truth"),
    script:
        "../scripts/trajectories/ground_truth.py"


rule bayes:
    input:
        unpack(bayes_inputs),
    output:
        "results/{study}/bo/{run}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        objective=lambda wc: study(wc)["objective"],
        run=run_settings,
        field_unit=field_unit,
        checkpoint=lambda wc: f"results/{wc.study}/.checkpoints/bo-{wc.run}.pt",
    log:
        "results/{study}/logs/bo/{run}.log",
    benchmark:
        "results/{study}/benchmarks/bo/{run}.tsv"
    wildcard_constraints:
        study=KIND_RE["trajectories"],
    threads: THREADS
    resources:
        **estimate("bayes"),
    script:
        "../scripts/trajectories/bayes.py"


rule evaluate_trajectories:
    input:
        unpack(trajectory_evaluate_inputs),
    output:
        metrics="results/{study}/metrics.json",
        table=report(
            "results/{study}/figures/metrics.html",
            caption="../report/trajectories/metrics.rst",
            category="{study}",
            subcategory="0 metrics",
            labels={"figure": "metrics table"},
        ),
        trajectory_samples=report(
            "results/{study}/figures/trajectory_samples.png",
            caption="../report/trajectories/trajectory_samples.rst",
            category="{study}",
            subcategory="1 trajectories and VAE",
            labels={"figure": "training trajectories"},
        ),
        training_curves=report(
            "results/{study}/figures/training_curves.png",
            caption="../report/trajectories/training_curves.rst",
            category="{study}",
            subcategory="1 trajectories and VAE",
            labels={"figure": "training curves"},
        ),
        latent_parameters=report(
            "results/{study}/figures/latent_parameters.png",
            caption="../report/trajectories/latent_parameters.rst",
            category="{study}",
            subcategory="1 trajectories and VAE",
            labels={"figure": "latent space by family parameter"},
        ),
        feasible_region=report(
            "results/{study}/figures/feasible_region.png",
            caption="../report/trajectories/feasible_region.rst",
            category="{study}",
            subcategory="1 trajectories and VAE",
            labels={"figure": "feasible region"},
        ),
        bo_convergence=report(
            "results/{study}/figures/bo_convergence.png",
            caption="../report/trajectories/bo_convergence.rst",
            category="{study}",
            subcategory="2 Bayesian optimization",
            labels={"figure": "BO vs random search"},
        ),
    params:
        objective=lambda wc: study(wc)["objective"],
        evaluate=lambda wc: study(wc)["evaluate"],
        field_unit=field_unit,
        device=DEVICE,
    log:
        "results/{study}/logs/evaluate.log",
    wildcard_constraints:
        study=KIND_RE["trajectories"],
    threads: THREADS
    resources:
        **estimate("evaluate_trajectories"),
        gpu=GPU,
    script:
        "../scripts/trajectories/evaluate.py"


rule plot_bo_run:
    input:
        unpack(plot_bo_inputs),
    output:
        surfaces=report(
            "results/{study}/figures/bo/{run}_surfaces.png",
            caption="../report/trajectories/bo_surfaces.rst",
            category="{study}",
            subcategory="2 Bayesian optimization",
            labels={"figure": "surfaces: {run}"},
        ),
        best=report(
            "results/{study}/figures/bo/{run}_best.png",
            caption="../report/trajectories/bo_best.rst",
            category="{study}",
            subcategory="2 Bayesian optimization",
            labels={"figure": "best field history: {run}"},
        ),
    params:
        objective=lambda wc: study(wc)["objective"],
        field_unit=field_unit,
    log:
        "results/{study}/logs/plot_bo/{run}.log",
    wildcard_constraints:
        study=KIND_RE["trajectories"],
    script:
        "../scripts/trajectories/plot_bo_run.py"
