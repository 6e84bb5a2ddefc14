# X_IN: heat-bath simulated annealing, sharded over jobs, then merged into dataset.h5.


rule simulate_shard:
    output:
        "results/{study}/data/shards/shard{shard}.h5",
    params:
        system=lambda wc: study(wc)["system"],
        simulate=lambda wc: study(wc)["simulate"],
    log:
        "results/{study}/logs/simulate/shard{shard}.log",
    benchmark:
        "results/{study}/benchmarks/simulate/shard{shard}.tsv"
    threads: THREADS
    resources:
        **estimate("simulate_shard"),
    script:
        "../scripts/simulate_shard.py"


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
    script:
        "../scripts/merge_dataset.py"
