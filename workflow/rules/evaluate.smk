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
            caption="../report/metrics.rst",
            category="{study}",
            subcategory="0 metrics",
            labels={"figure": "metrics table"},
        ),
        dataset_samples=report(
            "results/{study}/figures/dataset_samples.png",
            caption="../report/dataset_samples.rst",
            category="{study}",
            subcategory="1 dataset and VAE",
            labels={"figure": "X_IN samples"},
        ),
        vae_samples=report(
            "results/{study}/figures/vae_samples.png",
            caption="../report/vae_samples.rst",
            category="{study}",
            subcategory="1 dataset and VAE",
            labels={"figure": "X_VAE samples"},
        ),
        relaxed_samples=report(
            "results/{study}/figures/relaxed_samples.png",
            caption="../report/relaxed_samples.rst",
            category="{study}",
            subcategory="1 dataset and VAE",
            labels={"figure": "X'_VAE samples"},
        ),
        energy_histograms=report(
            "results/{study}/figures/energy_histograms.png",
            caption="../report/energy_histograms.rst",
            category="{study}",
            subcategory="1 dataset and VAE",
            labels={"figure": "energy-density histograms"},
        ),
        energy_density_maps=report(
            "results/{study}/figures/energy_density_maps.png",
            caption="../report/energy_density_maps.rst",
            category="{study}",
            subcategory="1 dataset and VAE",
            labels={"figure": "energy-density maps"},
        ),
        training_curves=report(
            "results/{study}/figures/training_curves.png",
            caption="../report/training_curves.rst",
            category="{study}",
            subcategory="1 dataset and VAE",
            labels={"figure": "training curves"},
        ),
        optimizer_traces=report(
            "results/{study}/figures/optimizer_traces.png",
            caption="../report/optimizer_traces.rst",
            category="{study}",
            subcategory="2 optimization",
            labels={"figure": "optimizer traces"},
        ),
        w_vs_mz=report(
            "results/{study}/figures/w_vs_mz.png",
            caption="../report/w_vs_mz.rst",
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
        study=SPIN_RE,
    threads: THREADS
    resources:
        **estimate("evaluate"),
        gpu=GPU,
    script:
        "../scripts/evaluate.py"


rule plot_run:
    input:
        "results/{study}/optimize/{run}.h5",
    output:
        report(
            "results/{study}/figures/optimize/{run}.png",
            caption="../report/run.rst",
            category="{study}",
            subcategory="2 optimization",
            labels={"figure": "best states: {run}"},
        ),
    params:
        run=run_settings,
    log:
        "results/{study}/logs/plot_run/{run}.log",
    script:
        "../scripts/plot_run.py"
