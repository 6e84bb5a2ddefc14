# Transition studies (kind: transitions; Bushuev & Lobanov 2020, GNEB after Bessarab et al. 2015), in
# results/transitions/{study}/: relaxed end states (transitions_end_states) -> initial path (geodesic,
# or decoded from a spin VAE's latent line; transitions_initial_path) -> GNEB with climbing image per
# run, with the tangent-space Hessian at the climbing image (transitions_neb) -> the same run on a
# doubled image count (transitions_neb_doubled) -> transitions_evaluate; and transitions_meta_learn,
# the meta-learned (gamma, mu, beta) of the NEB step on the single-spin benchmark.
# Input functions: latentopt.studies.hooks.transitions.

from latentopt.studies.hooks import transitions as transitions_hooks


rule transitions_end_states:
    input:
        unpack(hook(transitions_hooks.end_state_inputs)),
    output:
        "results/transitions/{study}/transitions/end_states.h5",
    params:
        system=lambda wc: study(wc)["system"],
        settings=lambda wc: {"end_states": study(wc)["end_states"]},
    log:
        "results/transitions/{study}/logs/end_states.log",
    benchmark:
        "results/transitions/{study}/benchmarks/end_states.tsv"
    threads: ONE
    resources:
        **estimate("end_states"),
    script:
        "../scripts/transitions/end_states.py"


rule transitions_initial_path:
    input:
        unpack(hook(transitions_hooks.initial_path_inputs)),
    output:
        "results/transitions/{study}/transitions/initial_{path_kind}.h5",
    params:
        images=lambda wc: study(wc)["neb"]["images"],
        device=DEVICE,
    log:
        "results/transitions/{study}/logs/initial_{path_kind}.log",
    benchmark:
        "results/transitions/{study}/benchmarks/initial_{path_kind}.tsv"
    wildcard_constraints:
        path_kind="geodesic|latent",
    threads: ONE
    resources:
        **estimate("initial_path"),
    script:
        "../scripts/transitions/initial_path.py"


rule transitions_meta_learn:
    output:
        params="results/transitions/{study}/meta/params.json",
        arrays="results/transitions/{study}/meta/benchmark.h5",
    params:
        meta=lambda wc: study(wc)["meta"],
        checkpoint=study_path(".checkpoints", "meta.pt"),
    log:
        "results/transitions/{study}/logs/meta_learn.log",
    benchmark:
        "results/transitions/{study}/benchmarks/meta_learn.tsv"
    threads: ONE
    resources:
        **estimate("meta_learn"),
    script:
        "../scripts/transitions/meta_learn.py"


rule transitions_neb:
    input:
        unpack(hook(transitions_hooks.neb_inputs)),
    output:
        "results/transitions/{study}/transitions/{run}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        settings=hook(transitions_hooks.neb_settings),
        device=DEVICE,
        checkpoint=study_path(".checkpoints", "neb-{run}.pt"),
    log:
        "results/transitions/{study}/logs/neb/{run}.log",
    benchmark:
        "results/transitions/{study}/benchmarks/neb/{run}.tsv"
    wildcard_constraints:
        run="(?!initial_|end_states)[A-Za-z0-9][A-Za-z0-9_.-]*",
    threads: ONE
    resources:
        **estimate("neb"),
        gpu=GPU,
    script:
        "../scripts/transitions/neb.py"


rule transitions_neb_doubled:
    input:
        unpack(hook(transitions_hooks.neb_doubled_inputs)),
    output:
        "results/transitions/{study}/transitions/doubled/{run}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        settings=hook(transitions_hooks.neb_settings),
        device=DEVICE,
        checkpoint=study_path(".checkpoints", "neb-doubled-{run}.pt"),
    log:
        "results/transitions/{study}/logs/neb/{run}_doubled.log",
    benchmark:
        "results/transitions/{study}/benchmarks/neb/{run}_doubled.tsv"
    threads: ONE
    resources:
        **estimate("neb_doubled"),
        gpu=GPU,
    script:
        "../scripts/transitions/neb_doubled.py"


rule transitions_evaluate:
    input:
        unpack(hook(transitions_hooks.evaluate_inputs)),
    output:
        metrics="results/transitions/{study}/metrics.json",
        **study_figures("transitions"),
    params:
        system=lambda wc: study(wc)["system"],
        settings=hook(transitions_hooks.neb_settings),
        evaluate=lambda wc: study(wc)["evaluate"],
    log:
        "results/transitions/{study}/logs/evaluate.log",
    benchmark:
        "results/transitions/{study}/benchmarks/evaluate.tsv"
    threads: ONE
    resources:
        **estimate("evaluate"),
    script:
        "../scripts/transitions/evaluate.py"
