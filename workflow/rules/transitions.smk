# Transition studies (kind: transitions; Bushuev & Lobanov 2020, GNEB after Bessarab et al. 2015):
# relaxed end states -> initial path (geodesic, or decoded from a spin VAE's latent line) ->
# GNEB with climbing image per run, with the tangent-space Hessian at the climbing image ->
# the same run on a doubled image count -> evaluate_transitions; and meta_learn, the
# meta-learned (gamma, mu, beta) of the NEB step on the single-spin benchmark.
# Every rule of this file accepts only transitions studies (study=KIND_RE["transitions"]).


def end_state_inputs(wc):
    """The npy / h5 files of file end states: results/... in the working directory, others in the repository."""
    out = {}
    for which in ("initial", "final"):
        es = study(wc)["end_states"][which]
        if es["kind"] in ("npy", "h5"):
            out[which] = es["path"] if es["path"].startswith("results/") else str(REPO / es["path"])
    return out


def neb_settings(wc):
    s = study(wc)
    return {**s["neb"], "end_states": s["end_states"], "runs": s["runs"], "meta": s["meta"]}


def run_path_kind(wc):
    s = study(wc)
    return s["runs"][wc.run].get("initial_path", s["neb"]["initial_path"])


def neb_inputs(wc):
    inputs = {"path": f"results/{wc.study}/transitions/initial_{run_path_kind(wc)}.h5"}
    if study(wc)["runs"][wc.run].get("params") == "meta":
        inputs["meta"] = f"results/{wc.study}/meta/params.json"
    return inputs


def initial_path_inputs(wc):
    inputs = {"end_states": f"results/{wc.study}/transitions/end_states.h5"}
    if wc.path_kind == "latent":
        inputs["vae"] = f"results/{study(wc)['neb']['latent_study']}/vae/model.pt"
    return inputs


def doubled_runs(name):
    run = STUDIES[name]["neb"]["double_images"]
    return [run] if run else []


def transitions_evaluate_inputs(wc):
    s = study(wc)
    kinds = sorted({r.get("initial_path", s["neb"]["initial_path"]) for r in s["runs"].values()})
    return {"end_states": f"results/{wc.study}/transitions/end_states.h5",
            "runs": [f"results/{wc.study}/transitions/{r}.h5" for r in runs(wc.study)],
            "doubled": [f"results/{wc.study}/transitions/doubled/{r}.h5" for r in doubled_runs(wc.study)],
            "initial_paths": [f"results/{wc.study}/transitions/initial_{k}.h5" for k in kinds],
            "meta_params": f"results/{wc.study}/meta/params.json",
            "meta_arrays": f"results/{wc.study}/meta/benchmark.h5"}


rule end_states:
    input:
        unpack(end_state_inputs),
    output:
        "results/{study}/transitions/end_states.h5",
    params:
        system=lambda wc: study(wc)["system"],
        settings=lambda wc: {"end_states": study(wc)["end_states"]},
    log:
        "results/{study}/logs/end_states.log",
    wildcard_constraints:
        study=KIND_RE["transitions"],
    threads: 1
    resources:
        **estimate("end_states"),
    script:
        "../scripts/transitions/end_states.py"


rule initial_path:
    input:
        unpack(initial_path_inputs),
    output:
        "results/{study}/transitions/initial_{path_kind}.h5",
    params:
        images=lambda wc: study(wc)["neb"]["images"],
        device=DEVICE,
    log:
        "results/{study}/logs/initial_{path_kind}.log",
    wildcard_constraints:
        study=KIND_RE["transitions"],
        path_kind="geodesic|latent",
    threads: 1
    resources:
        **estimate("end_states"),
    script:
        "../scripts/transitions/initial_path.py"


rule meta_learn:
    output:
        params="results/{study}/meta/params.json",
        arrays="results/{study}/meta/benchmark.h5",
    params:
        meta=lambda wc: study(wc)["meta"],
        checkpoint=lambda wc: f"results/{wc.study}/.checkpoints/meta.pt",
    log:
        "results/{study}/logs/meta_learn.log",
    benchmark:
        "results/{study}/benchmarks/meta_learn.tsv"
    wildcard_constraints:
        study=KIND_RE["transitions"],
    threads: 1
    resources:
        **estimate("meta_learn"),
    script:
        "../scripts/transitions/meta_learn.py"


rule neb:
    input:
        unpack(neb_inputs),
    output:
        "results/{study}/transitions/{run}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        settings=neb_settings,
        device=DEVICE,
        checkpoint=lambda wc: f"results/{wc.study}/.checkpoints/neb-{wc.run}.pt",
    log:
        "results/{study}/logs/neb/{run}.log",
    benchmark:
        "results/{study}/benchmarks/neb/{run}.tsv"
    wildcard_constraints:
        study=KIND_RE["transitions"],
        run="(?!initial_|end_states)[A-Za-z0-9][A-Za-z0-9_.-]*",
    threads: 1
    resources:
        **estimate("neb"),
        gpu=GPU,
    script:
        "../scripts/transitions/neb.py"


rule neb_doubled:
    input:
        path="results/{study}/transitions/{run}.h5",
        meta=lambda wc: [f"results/{wc.study}/meta/params.json"]
        if study(wc)["runs"][wc.run].get("params") == "meta" else [],
    output:
        "results/{study}/transitions/doubled/{run}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        settings=neb_settings,
        device=DEVICE,
        checkpoint=lambda wc: f"results/{wc.study}/.checkpoints/neb-doubled-{wc.run}.pt",
    log:
        "results/{study}/logs/neb/{run}_doubled.log",
    benchmark:
        "results/{study}/benchmarks/neb/{run}_doubled.tsv"
    wildcard_constraints:
        study=KIND_RE["transitions"],
    threads: 1
    resources:
        **estimate("neb"),
        gpu=GPU,
    script:
        "../scripts/transitions/neb_doubled.py"


rule evaluate_transitions:
    input:
        unpack(transitions_evaluate_inputs),
    output:
        metrics="results/{study}/metrics.json",
        table=report(
            "results/{study}/figures/metrics.html",
            caption="../report/transitions/metrics.rst",
            category="{study}",
            subcategory="0 metrics",
            labels={"figure": "metrics table"},
        ),
        energy_paths=report(
            "results/{study}/figures/energy_paths.png",
            caption="../report/transitions/energy_paths.rst",
            category="{study}",
            subcategory="1 minimum energy path",
            labels={"figure": "energy along the path"},
        ),
        path_snapshots=report(
            "results/{study}/figures/path_snapshots.png",
            caption="../report/transitions/path_snapshots.rst",
            category="{study}",
            subcategory="1 minimum energy path",
            labels={"figure": "end states and saddle"},
        ),
        path_charge=report(
            "results/{study}/figures/path_charge.png",
            caption="../report/transitions/path_charge.rst",
            category="{study}",
            subcategory="1 minimum energy path",
            labels={"figure": "W along the path"},
        ),
        methods_table=report(
            "results/{study}/figures/methods_table.png",
            caption="../report/transitions/methods_table.rst",
            category="{study}",
            subcategory="2 methods",
            labels={"figure": "methods"},
        ),
        meta_loss=report(
            "results/{study}/figures/meta_loss.png",
            caption="../report/transitions/meta_loss.rst",
            category="{study}",
            subcategory="3 meta-learned NEB",
            labels={"figure": "meta-learning loss"},
        ),
        meta_convergence=report(
            "results/{study}/figures/meta_convergence.png",
            caption="../report/transitions/meta_convergence.rst",
            category="{study}",
            subcategory="3 meta-learned NEB",
            labels={"figure": "convergence before and after"},
        ),
    params:
        system=lambda wc: study(wc)["system"],
        settings=neb_settings,
        evaluate=lambda wc: study(wc)["evaluate"],
    log:
        "results/{study}/logs/evaluate.log",
    wildcard_constraints:
        study=KIND_RE["transitions"],
    threads: 1
    resources:
        **estimate("evaluate_transitions"),
    script:
        "../scripts/transitions/evaluate.py"
