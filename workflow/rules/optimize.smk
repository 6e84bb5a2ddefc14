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
    threads: THREADS
    resources:
        **estimate("optimize"),
        gpu=GPU,
    script:
        "../scripts/optimize.py"
