"""Run an upscaling study end to end (what the workflow rules will do) and print a timing breakdown.

Writes under ``--out`` the files of the ``upscaling`` kind: ``data/dataset.h5``,
``gan/generator.pt``, ``gan/history.h5``, ``generated/x<s>.h5`` (``spins``, ``requested``,
``energy``, plus ``T`` and ``index``), ``heatbath/x<s>.h5``, ``metrics.json`` and the
figures (``figures/*.png``).

Usage:
  python benchmarks/upscaling_study.py --out /tmp/up/run            # the proposed small default
  python benchmarks/upscaling_study.py --config study.yaml --out ...  # a study block in YAML
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from latentopt.io import write_h5, write_json
from latentopt.models.rugan import save_generator
from latentopt.plots import save_figure
from latentopt.plots_upscaling import (plot_gan_training, plot_heatbath_comparison, plot_requested_vs_realized,
                                       plot_samples, plot_seam_check, plot_structure_factor)
from latentopt.studies import upscaling as U
from latentopt.trainers.gan import write_gan_history

#: The proposed small default study (about 3 CPU-minutes single-threaded).
DEFAULT = {
    "system": {"model": "chiral_magnet", "L": 16, "J": 1.0, "D": 0.3, "dmi": "interfacial", "K": 0.0, "B": [0, 0, 0]},
    "simulate": {"n_samples": 1200, "T_min": 0.05, "T_max": 1.0, "n_temperatures": 40, "spacing": "linear",
                 "T_start": 2.0, "n_anneal": 100, "n_hold": 50, "shards": 2, "seed": 1},
    "gan": {"noise_channels": 15, "channels": 16, "out_channels": 16, "n_blocks": 3, "upsample": 2,
            "label_every_block": True, "film_hidden": 32, "critic_channels": [16, 32, 32], "energy_channel": True,
            "epochs": 30, "batch_size": 32, "n_critic": 5, "lr": 5e-4, "ema": 0.95, "energy_weight": 1.0,
            "energy_scales": [1, 2], "seed": 2},
    "evaluate": {"scales": [1, 2, 4], "n_generate": 2000, "seed": 3, "heatbath_per_T": 2, "heatbath_seed": 4},
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="YAML file with one study block (system, simulate, gan, evaluate)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--no-figures", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    study = yaml.safe_load(Path(args.config).read_text()) if args.config else DEFAULT
    study = U.check_config(study, prefix="study")
    out = Path(args.out)
    system, simulate, gan, ev = study["system"], study["simulate"], study["gan"], study["evaluate"]
    timing, cpu = {}, {}
    c0 = time.process_time()

    def lap(name: str, t_start: float) -> None:
        nonlocal c0
        timing[name] = time.perf_counter() - t_start
        cpu[name] = time.process_time() - c0
        c0 = time.process_time()

    t0 = time.perf_counter()
    shards = [out / f"data/shard{k}.h5" for k in range(simulate["shards"])]
    for k, path in enumerate(shards):
        write_h5(path, U.simulate_shard(system, simulate, k))
    U.merge_shards(shards, out / "data/dataset.h5", {"system": system, "simulate": simulate})
    data, _ = U.load_dataset(out / "data/dataset.h5")
    lap("simulate", t0)

    t0 = time.perf_counter()
    G, history = U.train_gan(data, system, gan, device=args.device, checkpoint=out / "gan/checkpoint.pt",
                             progress=False)
    save_generator(out / "gan/generator.pt", G, extra={"gan": json.dumps(gan)})
    write_gan_history(out / "gan/history.h5", history, attrs={"gan": gan})
    lap("train_gan", t0)

    t0 = time.perf_counter()
    requests = U.requested_labels(data, ev["n_generate"], ev["seed"])
    generated, per_scale = {}, {}
    for s in ev["scales"]:
        table = None
        if ev["calibrate"]:  # optional, not in the paper: per-scale label calibration with exact energies
            cal = U.calibrate_generator(G, data, system, ev["calibration_n"], ev["calibration_seed"], args.device,
                                        ev["batch_size"], scale=s)
            table = cal["table"]
            write_json(out / f"gan/calibration_x{s}.json", cal)
        g = U.generate_scale(G, requests, system, s, ev["seed"], args.device, ev["batch_size"], calibration=table)
        write_h5(out / f"generated/x{s}.h5", {k: g[k] for k in ("spins", "requested", "energy", "T", "index", "label")},
                 {"system": {**system, "L": g["spins"].shape[-1]}, "scale": s, "states_per_s": g["states_per_s"]})
        generated[s] = g
        per_scale[s] = U.scale_metrics(g, system)
        if table is not None:
            per_scale[s]["calibrated"] = True
            per_scale[s]["raw"] = cal["raw"]
    lap("generate+evaluate", t0)

    t0 = time.perf_counter()
    hs = ev["heatbath_scale"]
    hb = U.heatbath_reference(system, simulate, hs, ev["heatbath_per_T"], ev["heatbath_seed"])
    write_h5(out / f"heatbath/x{hs}.h5", {k: hb[k] for k in ("spins", "energy", "T")},
             {"system": {**system, "L": hb["spins"].shape[-1]}, "states_per_s": hb["states_per_s"]})
    comparison = U.compare_with_heatbath(generated[hs], hb, train=data)
    metrics = U.summarize(per_scale, hb, comparison, data, history)
    lap("heatbath+compare", t0)

    if not args.no_figures:
        t0 = time.perf_counter()
        c0 = time.process_time()
        fig_dir = out / "figures"
        n_show = ev["n_show"]
        order = np.argsort(data["energy"])
        show = order[np.linspace(0, len(order) - 1, n_show).astype(int)]
        save_figure(plot_samples(data["spins"][show], data["energy"][show], suptitle="training states"),
                    fig_dir / "train_samples.png")
        for s, g in generated.items():
            pick = np.argsort(g["requested"])[np.linspace(0, len(g["requested"]) - 1, n_show).astype(int)]
            save_figure(plot_samples(g["spins"][pick], g["energy"][pick], g["requested"][pick],
                                     suptitle=f"generated {s}x"), fig_dir / f"generated_x{s}.png")
            save_figure(plot_requested_vs_realized(g["requested"], g["energy"], metrics["scales"][str(s)],
                                                   f"{s}x ({g['spins'].shape[-1]}$^2$)"), fig_dir / f"fidelity_x{s}.png")
        save_figure(plot_seam_check({f"{s}x": g["spins"] for s, g in generated.items()}, system,
                                    {f"{s}x": metrics["scales"][str(s)] for s in generated}), fig_dir / "seams.png")
        size = hb["spins"].shape[-1]
        names = {"generated": f"generated {hs}x ({size}$^2$)", "heatbath": f"heat bath ({size}$^2$)",
                 "train": f"training states ({system['L']}$^2$)"}
        peaks = {names[k]: comparison[f"peak_q_{k}"] for k in comparison["profiles"]}
        profiles = {names[k]: v for k, v in comparison["profiles"].items()}
        save_figure(plot_structure_factor(profiles, peaks,
                                          float(np.arctan2(system["D"], system["J"]))), fig_dir / "structure_factor.png")
        save_figure(plot_heatbath_comparison(comparison["per_T"], f"{hb['spins'].shape[-1]}$^2$"),
                    fig_dir / "heatbath_comparison.png")
        save_figure(plot_gan_training(history), fig_dir / "training.png")
        lap("figures", t0)

    metrics["timing_s"] = {"wall": timing, "cpu": cpu}
    write_json(out / "metrics.json", metrics)
    print(json.dumps({"scales": metrics["scales"], "speedup": metrics["speedup"],
                      "heatbath": {k: v for k, v in metrics["heatbath"].items() if k != "per_T"},
                      "training": metrics["training"], "timing_s": metrics["timing_s"]}, indent=1))
    for what, tab in (("wall", timing), ("cpu", cpu)):
        print(f"total {what} (without figures): {sum(v for k, v in tab.items() if k != 'figures'):.1f} s")


if __name__ == "__main__":
    main()
