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
    threads: THREADS
    resources:
        **estimate("generate"),
        gpu=GPU,
    script:
        "../scripts/generate.py"


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
    threads: THREADS
    resources:
        **estimate("relax"),
        gpu=GPU,
    script:
        "../scripts/relax.py"
