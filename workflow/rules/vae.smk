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
        study=SPIN_RE,
    threads: THREADS
    resources:
        **estimate("train_vae"),
        gpu=GPU,
    script:
        "../scripts/train_vae.py"
