# KL-schedule studies (kind: schedules; Biswas et al. 2023): images -> beta_c(i) trajectories
# from families -> trajectory VAE -> decoded, feasibility-filtered latent grid -> Bayesian
# optimization in numbered rounds (propose_round r reads the evaluations of rounds < r) where
# every evaluation, one jrVAE training, is its own job (evaluate_schedule) -> gather_bo ->
# final models on the full set -> evaluate_schedules (+ plot_schedule_run per run).
# The DAG is static: round r has n_initial (r = 0) or q slots; raising `iterations` adds
# rounds and leaves the files of the earlier ones (and their params) untouched.
# Every rule of this file accepts only schedules studies (study=KIND_RE["schedules"]).


localrules:
    plot_schedule_run,


#: the settings of a BO run that decide its proposals; `iterations` and the baseline's are not
#: among them, so raising them reruns no earlier round
PROPOSAL_KEYS = ("acquisition", "kappa", "xi", "n_initial", "q", "strategy", "liar", "tol", "n_restarts", "seed")


def schedule_rounds(wc_or_study, run=None):
    """Evaluations per round, [n_initial, q, ..., q] (as latentopt.optimizers.bayes.round_sizes)."""
    s = study(wc_or_study) if run is None else STUDIES[wc_or_study]
    r = s["optimize"][run or wc_or_study.run]
    return [r["n_initial"]] + [r["q"]] * (r["iterations"] // r["q"])


def round_evaluations(name, run, rounds):
    """The evaluation files of the given rounds of a run, per round."""
    sizes = schedule_rounds(name, run)
    return [[f"results/{name}/bo/{run}/r{r}/e{j}.h5" for j in range(sizes[r])] for r in rounds]


def propose_inputs(wc):
    r = int(wc.round)
    return {"grid": f"results/{wc.study}/latent/grid.h5",
            "earlier": [f for files in round_evaluations(wc.study, wc.run, range(r)) for f in files]}


def pool_size(name, run):
    r = STUDIES[name]["optimize"][run]
    return r["random_pool"] or r["n_initial"] + r["iterations"]


def gather_inputs(wc):
    n_rounds = len(schedule_rounds(wc))
    r = run_settings(wc)
    return {"grid": f"results/{wc.study}/latent/grid.h5",
            "rounds": [f"results/{wc.study}/bo/{wc.run}/round{k}.h5" for k in range(n_rounds)],
            "evaluations": [f for files in round_evaluations(wc.study, wc.run, range(n_rounds)) for f in files],
            "pool": [f"results/{wc.study}/bo/{wc.run}/pool/p{k}.h5"
                     for k in range(r["n_initial"], pool_size(wc.study, wc.run))]}


def bo_run_files(wc):
    return [f"results/{wc.study}/bo/{r}.h5" for r in runs(wc.study)]


rule images:
    output:
        "results/{study}/data/images.h5",
    params:
        data=lambda wc: study(wc)["data"],
    log:
        "results/{study}/logs/images.log",
    wildcard_constraints:
        study=KIND_RE["schedules"],
    threads: 1
    resources:
        **estimate("images"),
    script:
        "../scripts/schedules/images.py"


rule schedule_trajectories:
    output:
        "results/{study}/trajectories/train.h5",
    params:
        trajectories=lambda wc: study(wc)["trajectories"],
        latent=lambda wc: study(wc)["latent"],
    log:
        "results/{study}/logs/trajectories.log",
    wildcard_constraints:
        study=KIND_RE["schedules"],
    threads: 1
    resources:
        **estimate("trajectories"),
    script:
        "../scripts/schedules/trajectories.py"


rule train_schedule_vae:
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
        study=KIND_RE["schedules"],
    threads: THREADS
    resources:
        **estimate("train_trajectory_vae"),
        gpu=GPU,
    script:
        "../scripts/schedules/train_schedule_vae.py"


rule schedule_grid:
    input:
        model="results/{study}/vae/model.pt",
        trajectories="results/{study}/trajectories/train.h5",
    output:
        "results/{study}/latent/grid.h5",
    params:
        latent=lambda wc: study(wc)["latent"],
        device=DEVICE,
    log:
        "results/{study}/logs/latent_grid.log",
    wildcard_constraints:
        study=KIND_RE["schedules"],
    threads: 1
    resources:
        **estimate("latent_grid"),
        gpu=GPU,
    script:
        "../scripts/schedules/schedule_grid.py"


rule propose_round:
    input:
        unpack(propose_inputs),
    output:
        "results/{study}/bo/{run}/round{round}.h5",
    params:
        proposal=lambda wc: {k: run_settings(wc)[k] for k in PROPOSAL_KEYS},
    log:
        "results/{study}/logs/bo/{run}/round{round}.log",
    wildcard_constraints:
        study=KIND_RE["schedules"],
        round=r"\d+",
    threads: 1
    resources:
        **estimate("propose_round"),
    script:
        "../scripts/schedules/propose_round.py"


rule evaluate_schedule:
    input:
        round="results/{study}/bo/{run}/round{round}.h5",
        images="results/{study}/data/images.h5",
    output:
        "results/{study}/bo/{run}/r{round}/e{slot}.h5",
    params:
        jrvae=lambda wc: study(wc)["jrvae"],
        objective=lambda wc: study(wc)["objective"],
        device=DEVICE,
        checkpoint=lambda wc: f"results/{wc.study}/.checkpoints/bo-{wc.run}-r{wc.round}-e{wc.slot}.pt",
    log:
        "results/{study}/logs/bo/{run}/r{round}/e{slot}.log",
    benchmark:
        "results/{study}/benchmarks/bo/{run}/r{round}/e{slot}.tsv"
    wildcard_constraints:
        study=KIND_RE["schedules"],
        round=r"\d+",
        slot=r"\d+",
    threads: 1
    resources:
        **estimate("train_jrvae"),
        gpu=GPU,
    script:
        "../scripts/schedules/evaluate_schedule.py"


rule evaluate_pool_point:
    input:
        grid="results/{study}/latent/grid.h5",
        images="results/{study}/data/images.h5",
    output:
        "results/{study}/bo/{run}/pool/p{point}.h5",
    params:
        # the pool's points are drawn from the run's seed and n_initial alone (random_pool_indices),
        # so raising iterations or random_pool adds points and reruns none
        run=lambda wc: {k: run_settings(wc)[k] for k in ("n_initial", "seed")},
        jrvae=lambda wc: study(wc)["jrvae"],
        objective=lambda wc: study(wc)["objective"],
        device=DEVICE,
        checkpoint=lambda wc: f"results/{wc.study}/.checkpoints/bo-{wc.run}-p{wc.point}.pt",
    log:
        "results/{study}/logs/bo/{run}/pool/p{point}.log",
    benchmark:
        "results/{study}/benchmarks/bo/{run}/pool/p{point}.tsv"
    wildcard_constraints:
        study=KIND_RE["schedules"],
        point=r"\d+",
    threads: 1
    resources:
        **estimate("train_jrvae"),
        gpu=GPU,
    script:
        "../scripts/schedules/evaluate_pool_point.py"


rule gather_bo:
    input:
        unpack(gather_inputs),
    output:
        "results/{study}/bo/{run}.h5",
    params:
        run=run_settings,
    log:
        "results/{study}/logs/bo/{run}/gather.log",
    wildcard_constraints:
        study=KIND_RE["schedules"],
    threads: 1
    resources:
        **estimate("propose_round"),
    script:
        "../scripts/schedules/gather_bo.py"


rule final_model:
    input:
        images="results/{study}/data/images.h5",
        runs=lambda wc: bo_run_files(wc) if wc.model == "jrvae_zbo" else [],
    output:
        model="results/{study}/final/{model}.pt",
        result="results/{study}/final/{model}.h5",
    params:
        jrvae=lambda wc: study(wc)["jrvae"],
        objective=lambda wc: study(wc)["objective"],
        final=lambda wc: study(wc)["final"],
        device=DEVICE,
        checkpoint=lambda wc: f"results/{wc.study}/.checkpoints/final-{wc.model}.pt",
    log:
        "results/{study}/logs/final/{model}.log",
    benchmark:
        "results/{study}/benchmarks/final/{model}.tsv"
    wildcard_constraints:
        study=KIND_RE["schedules"],
        model="vanilla|jrvae_constant|jrvae_scaled|jrvae_zbo",
    threads: 1
    resources:
        **estimate("final_jrvae"),
        gpu=GPU,
    script:
        "../scripts/schedules/final_model.py"


rule evaluate_schedules:
    input:
        images="results/{study}/data/images.h5",
        trajectories="results/{study}/trajectories/train.h5",
        history="results/{study}/vae/history.h5",
        grid="results/{study}/latent/grid.h5",
        runs=bo_run_files,
        finals=expand("results/{{study}}/final/{model}.h5",
                      model=("vanilla", "jrvae_constant", "jrvae_scaled", "jrvae_zbo")),
    output:
        metrics="results/{study}/metrics.json",
        table=report(
            "results/{study}/figures/metrics.html",
            caption="../report/schedules/metrics.rst",
            category="{study}",
            subcategory="0 metrics",
            labels={"figure": "metrics table"},
        ),
        image_dataset=report(
            "results/{study}/figures/image_dataset.png",
            caption="../report/schedules/image_dataset.rst",
            category="{study}",
            subcategory="1 images and schedules",
            labels={"figure": "image data set"},
        ),
        schedule_families=report(
            "results/{study}/figures/schedule_families.png",
            caption="../report/schedules/schedule_families.rst",
            category="{study}",
            subcategory="1 images and schedules",
            labels={"figure": "training beta_c trajectories"},
        ),
        schedule_latent=report(
            "results/{study}/figures/schedule_latent.png",
            caption="../report/schedules/schedule_latent.rst",
            category="{study}",
            subcategory="1 images and schedules",
            labels={"figure": "latent space and feasible region"},
        ),
        training_curves=report(
            "results/{study}/figures/training_curves.png",
            caption="../report/schedules/training_curves.rst",
            category="{study}",
            subcategory="1 images and schedules",
            labels={"figure": "trajectory VAE training"},
        ),
        bo_convergence=report(
            "results/{study}/figures/bo_convergence.png",
            caption="../report/schedules/bo_convergence.rst",
            category="{study}",
            subcategory="2 Bayesian optimization",
            labels={"figure": "zBO vs random search"},
        ),
        model_manifolds=report(
            "results/{study}/figures/model_manifolds.png",
            caption="../report/schedules/model_manifolds.rst",
            category="{study}",
            subcategory="3 final models",
            labels={"figure": "learned manifolds of the four models"},
        ),
    params:
        latent=lambda wc: study(wc)["latent"],
        evaluate=lambda wc: study(wc)["evaluate"],
    log:
        "results/{study}/logs/evaluate.log",
    wildcard_constraints:
        study=KIND_RE["schedules"],
    threads: 1
    resources:
        **estimate("evaluate_schedules"),
    script:
        "../scripts/schedules/evaluate.py"


rule plot_schedule_run:
    input:
        run="results/{study}/bo/{run}.h5",
        grid="results/{study}/latent/grid.h5",
    output:
        surfaces=report(
            "results/{study}/figures/bo/{run}_surfaces.png",
            caption="../report/schedules/bo_surfaces.rst",
            category="{study}",
            subcategory="2 Bayesian optimization",
            labels={"figure": "GP surfaces: {run}"},
        ),
        best=report(
            "results/{study}/figures/bo/{run}_best.png",
            caption="../report/schedules/bo_best.rst",
            category="{study}",
            subcategory="2 Bayesian optimization",
            labels={"figure": "best beta_c trajectory: {run}"},
        ),
    params:
        latent=lambda wc: study(wc)["latent"],
    log:
        "results/{study}/logs/plot_bo/{run}.log",
    wildcard_constraints:
        study=KIND_RE["schedules"],
    script:
        "../scripts/schedules/plot_schedule_run.py"
