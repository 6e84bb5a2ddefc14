"""The steps of an upscaling study (``kind: upscaling``), one function per workflow rule.

thermal states at a small L (sharded heat bath over a temperature grid) -> energy-conditioned
periodic WGAN-GP + CT (RUGAN) -> generated states at 1x, 2x, 4x the linear size -> exact
energies, KS of requested vs realized, seam check, heat-bath states at the large size
(energy distribution, structure-factor peak, throughput) -> metrics.

Mills, Casert & Tamblyn, NeurIPS 2019 ML4PS workshop (the paper judged energies with a
neural-network proxy; here every energy is the exact Hamiltonian,
:func:`latentopt.physics.hamiltonian.energy_per_spin`). The steps use the shared layers for the
thermal states (:mod:`latentopt.physics.thermal`), the generation of requested energies
(:mod:`latentopt.conditioned_generation`) and the comparison with the heat bath
(:mod:`latentopt.heatbath_comparison`).

Config (one study; keys and their defaults in ``workflow/schemas/kinds/upscaling.schema.yaml``)::

    system:   {model: chiral_magnet, L, J, D, dmi, K, B}      # as the spin studies; L = training size
    simulate: {n_samples, T_min, T_max, n_temperatures, spacing: linear|geometric,
               T_start, n_anneal, n_hold, shards, seed}
              # sample i ends at T_k, k = i mod n_temperatures, after a geometric anneal
              # T_start -> T_k over n_anneal sweeps and n_hold sweeps at T_k
    gan:      {noise_channels, channels, out_channels, n_blocks, upsample, upsampling, label_every_block,
               film_hidden, norm, critic_channels, dropout, head_hidden, energy_channel,
               epochs, batch_size, n_critic, lr, lr_critic, betas, lambda_gp, lambda_ct,
               ct_margin, augment, ema, energy_weight, energy_scales, n_monitor, seed}
    evaluate: {scales, n_generate, seed, calibrate, calibration_n, calibration_extend, calibration_seed,
               heatbath_scale, heatbath_per_T, heatbath_seed, batch_size, n_show}

The workflow validates a study with ``workflow/schemas/kinds/upscaling.schema.yaml`` and
:func:`latentopt.config.validate_config`, which fills in the schema's defaults: the functions
here take the validated (complete) blocks.

Files (``results/upscaling/<study>/``):

- ``data/dataset.h5``: ``spins (n, 3, L, L) f32``, ``energy (n,)`` (per spin, J), ``W``,
  ``Mz``, ``T (n,)``; attrs: system and simulate settings;
- ``gan/generator.pt``: state dict + hparams (incl. ``label_mean``, ``label_std``) of the
  :class:`~latentopt.models.rugan.RUGANGenerator` (load with
  :func:`~latentopt.models.rugan.load_generator`);
- ``gan/history.h5``: per epoch ``critic_loss``, ``wasserstein``, ``gp``, ``ct``,
  ``generator_loss``, ``energy_loss``, ``energy_mae``, ``energy_r``, ``epoch_time``
  (:func:`latentopt.trainers.gan_history.write_gan_history`);
- ``generated/x<s>.h5``: ``spins (n, 3, sL, sL) f32``, ``requested (n,)``, ``energy (n,)``
  (exact energy per spin of each state), plus ``T``, ``index`` (the training state whose
  label was drawn) and ``label`` (what the generator was fed; differs from ``requested``
  only with ``evaluate.calibrate``); attrs: system with ``L = sL``, ``scale``,
  ``states_per_s``;
- ``heatbath/x<s>.h5``: ``spins``, ``energy``, ``T`` of the heat-bath reference;
- ``metrics.json``: :func:`summarize`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from latentopt.conditioned_generation import calibrate_generator, calibration_draws, generate_scale, requested_labels
from latentopt.dataset import observables, shard_indices
from latentopt.heatbath_comparison import compare_with_heatbath
from latentopt.io import read_attrs, read_h5, write_h5
from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.physics.heatbath import anneal
from latentopt.physics.thermal import sample_temperature_index, temperature_grid, thermal_states
from latentopt.tables import Heading, Paragraph, Table

#: Datasets of the upscaling study's ``dataset.h5`` (the spin studies' plus the temperature).
UPSCALING_DATASET_KEYS = ("spins", "energy", "W", "Mz", "T")

#: the metrics of the generator fed the requests themselves, kept beside the calibrated ones
UNCALIBRATED_KEYS = ("ks", "p_value", "cold_decile_bias")


def check_simulate(simulate: dict) -> None:
    """Validate an upscaling ``simulate`` block; raise ``ValueError`` naming the key."""
    temperature_grid(simulate)
    if float(simulate["T_start"]) < float(simulate["T_max"]):
        raise ValueError(f"simulate.T_start: expected >= T_max={simulate['T_max']}, got {simulate['T_start']}")
    if int(simulate["n_anneal"]) < 1:
        raise ValueError(f"simulate.n_anneal: expected an int >= 1, got {simulate['n_anneal']}")
    if int(simulate["n_hold"]) < 0:
        raise ValueError(f"simulate.n_hold: expected an int >= 0, got {simulate['n_hold']}")
    if int(simulate["n_samples"]) < 2:
        raise ValueError(f"simulate.n_samples: expected an int >= 2, got {simulate['n_samples']}")


def simulate_shard(system: dict, simulate: dict, shard: int) -> dict[str, np.ndarray]:
    """Thermal training states of one shard (rule ``upscaling_simulate``).

    Sample ``i`` ends at temperature ``temperature_grid(simulate)[i mod n_temperatures]``
    after :func:`latentopt.physics.thermal.thermal_schedule`; shards are contiguous index
    blocks (:func:`latentopt.dataset.shard_indices`), so the merged set is the same for any
    shard count.

    Parameters
    ----------
    system : dict
        ``system`` block (L, J, D, dmi, K, B).
    simulate : dict
        ``n_samples``, ``T_min``, ``T_max``, ``n_temperatures``, ``spacing``, ``T_start``,
        ``n_anneal``, ``n_hold``, ``shards``, ``seed``.
    shard : int

    Returns
    -------
    dict
        ``index (m,)``, ``spins (m, 3, L, L) float32``, ``energy`` (per spin, J), ``W``,
        ``Mz``, ``T`` ``(m,)``.
    """
    check_simulate(simulate)
    model = ChiralMagnet.from_config(system)
    temps = temperature_grid(simulate)
    idx = shard_indices(int(simulate["n_samples"]), int(simulate["shards"]), shard)
    t_index = sample_temperature_index(idx, len(temps))
    spins = thermal_states(model, idx, int(simulate["seed"]), temps, t_index, float(simulate["T_start"]),
                           int(simulate["n_anneal"]), int(simulate["n_hold"]))
    return {"index": idx, "spins": spins.astype(np.float32), **observables(spins, model), "T": temps[t_index]}


def merge_shards(paths: list[str | Path], out: str | Path, attrs: dict) -> None:
    """Concatenate shard files (ordered by sample index) into ``dataset.h5`` with ``T``.

    Raises
    ------
    ValueError
        If the shards' indices are not exactly ``0 .. n - 1``.
    """
    parts = sorted((read_h5(p) for p in paths), key=lambda d: int(d["index"][0]) if len(d["index"]) else 0)
    index = np.concatenate([p["index"] for p in parts])
    if not np.array_equal(index, np.arange(len(index))):
        raise ValueError(f"shards {list(map(str, paths))}: sample indices are not 0..{len(index) - 1}")
    write_h5(out, {k: np.concatenate([p[k] for p in parts]) for k in UPSCALING_DATASET_KEYS}, attrs)


def load_dataset(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """Read an upscaling ``dataset.h5``: arrays (:data:`UPSCALING_DATASET_KEYS`) and attributes."""
    return read_h5(path, list(UPSCALING_DATASET_KEYS)), read_attrs(path)


# --------------------------------------------------------------------------- the paper's numbers
#: KS and p-value of requested vs realized energies in Mills et al. (2019): training size, and 4x the area.
PAPER_KS = {1: {"ks": 0.02, "p_value": 0.19}, 2: {"ks": 0.02, "p_value": 0.18}}


# --------------------------------------------------------------------------- GAN
def train_gan(data: dict[str, np.ndarray], system: dict, gan: dict, device="cpu", checkpoint=None,
              progress: bool = True):
    """Train the RUGAN on the training states and their energies (rule ``upscaling_train``).

    Parameters
    ----------
    data : dict
        ``spins (n, 3, L, L)`` and ``energy (n,)`` of ``dataset.h5``.
    system : dict
        ``system`` block (the monitored energies and the critic's energy channel use it).
    gan : dict
        The validated ``gan`` block (``workflow/schemas/kinds/upscaling.schema.yaml``).
    device, checkpoint, progress
        See :func:`latentopt.trainers.gan.train_rugan`.

    Returns
    -------
    generator : RUGANGenerator
    history : dict
    """
    from latentopt.trainers.gan import train_rugan

    model = ChiralMagnet.from_config(system)
    gen_kw = {k: gan[k] for k in ("noise_channels", "channels", "out_channels", "n_blocks", "upsample", "upsampling",
                                  "label_every_block", "film_hidden", "norm")}
    crit_kw = dict(channels=list(gan["critic_channels"]), dropout=gan["dropout"], head_hidden=gan["head_hidden"],
                   system=_system_dict(model) if gan["energy_channel"] else None)
    G, _, history = train_rugan(
        data["spins"], data["energy"], epochs=gan["epochs"], seed=gan["seed"], batch_size=gan["batch_size"],
        n_critic=gan["n_critic"], lr=gan["lr"], lr_critic=gan["lr_critic"], betas=tuple(gan["betas"]),
        lambda_gp=gan["lambda_gp"], lambda_ct=gan["lambda_ct"], ct_margin=gan["ct_margin"], augment=gan["augment"],
        ema=gan["ema"], energy_weight=gan["energy_weight"], energy_scales=gan["energy_scales"], generator=gen_kw, critic=crit_kw, model=model, n_monitor=gan["n_monitor"], device=device,
        checkpoint=checkpoint, progress=progress)
    return G, history


def _system_dict(model: ChiralMagnet) -> dict:
    return dict(L=model.L, J=model.J, D=model.D, dmi=model.dmi, K=model.K, B=list(model.B))


def scale_metrics(gen: dict, system: dict) -> dict[str, float]:
    """Metrics of one scale: requested vs realized (KS, p, Pearson r, MAE, bias), seam check, generation rate.

    Parameters
    ----------
    gen : dict
        ``spins``, ``requested``, ``energy`` and ``states_per_s``
        (:func:`latentopt.conditioned_generation.generate_scale` or a ``generated/x<s>.h5``
        file plus its rate).
    system : dict

    Returns
    -------
    dict
        ``L``, ``ks``, ``p_value``, ``pearson_r``, ``mae``, ``bias``, ``n``, ``seam_ks``,
        ``seam_p``, ``seam_excess``, ``seam_excess_se``, ``states_per_s``.
    """
    from latentopt.fidelity import compare_requested_realized
    from latentopt.physics.periodicity import seam_check

    L = gen["spins"].shape[-1]
    model = ChiralMagnet.from_config({**system, "L": L})
    seam = seam_check(gen["spins"], model)
    return {"L": int(L), **compare_requested_realized(gen["requested"], gen["energy"]),
            **{k: seam[k] for k in ("seam_ks", "seam_p", "seam_excess", "seam_excess_se")},
            "states_per_s": float(gen["states_per_s"])}


def heatbath_reference(system: dict, simulate: dict, scale: int, per_T: int, seed: int) -> dict:
    """Heat-bath states sampled directly at ``scale`` times the training size, ``per_T`` at each training temperature.

    Same schedule as the training data (:func:`latentopt.physics.thermal.thermal_schedule`),
    timed after a warm-up call that compiles the kernel.

    Returns
    -------
    dict
        ``spins (m, 3, sL, sL) float32``, ``energy (m,)``, ``T (m,)``, ``seconds``,
        ``states_per_s``, ``sweeps`` (per state).
    """
    check_simulate(simulate)
    model = ChiralMagnet.from_config({**system, "L": int(system["L"]) * int(scale)})
    temps = temperature_grid(simulate)
    idx = np.arange(int(per_T) * len(temps))
    t_index = sample_temperature_index(idx, len(temps))
    anneal(ChiralMagnet.from_config({**system, "L": 4}), np.arange(1), 0, np.array([1.0]))  # compile
    t0 = time.perf_counter()
    spins = thermal_states(model, idx, int(seed), temps, t_index, float(simulate["T_start"]),
                           int(simulate["n_anneal"]), int(simulate["n_hold"]))
    seconds = time.perf_counter() - t0
    from latentopt.physics.hamiltonian import energy_per_spin

    return {"spins": spins.astype(np.float32), "energy": energy_per_spin(spins, model), "T": temps[t_index],
            "seconds": seconds, "states_per_s": len(idx) / seconds,
            "sweeps": int(simulate["n_anneal"]) + int(simulate["n_hold"])}


def summarize(metrics_per_scale: dict[int, dict], hb: dict, comparison: dict, dataset: dict,
              history: dict) -> dict:
    """Assemble ``metrics.json``.

    Returns
    -------
    dict
        ``scales``: ``{"<s>": scale_metrics + paper_ks, paper_p_value where the paper has
        them}``; ``heatbath``: ``L``, ``scale``, ``n``, ``sweeps``, ``seconds``,
        ``states_per_s``, ``energy_ks``, ``energy_p``, ``peak_q_*``, ``s_zone_boundary_*``,
        ``sq_shells_within``, ``sq_max_deviation``, ``sq_tolerance``
        (:func:`latentopt.heatbath_comparison.profile_agreement`), ``per_T``;
        ``speedup``: generated over heat-bath states per second at the heat-bath size;
        ``training``: ``L``, ``n_states``, ``energy_min``, ``energy_max``,
        ``generator_steps``, ``epochs``, final ``energy_mae``/``energy_r`` of the monitor.
    """
    hb_L = int(hb["spins"].shape[-1])
    scales = {}
    for s, m in sorted(metrics_per_scale.items()):
        row = dict(m)
        if s in PAPER_KS:
            row["paper_ks"], row["paper_p_value"] = PAPER_KS[s]["ks"], PAPER_KS[s]["p_value"]
        scales[str(s)] = row
    hb_scale = next(s for s, m in metrics_per_scale.items() if m["L"] == hb_L)
    return {
        "scales": scales,
        "heatbath": {"L": hb_L, "scale": int(hb_scale), "n": int(len(hb["energy"])), "sweeps": int(hb["sweeps"]),
                     "seconds": float(hb["seconds"]), "states_per_s": float(hb["states_per_s"]),
                     **{k: v for k, v in comparison.items() if k != "profiles"}},
        "speedup": float(metrics_per_scale[hb_scale]["states_per_s"] / hb["states_per_s"]),
        "training": {"L": int(dataset["spins"].shape[-1]), "n_states": int(len(dataset["energy"])),
                     "energy_min": float(np.min(dataset["energy"])), "energy_max": float(np.max(dataset["energy"])),
                     "epochs": len(history["wasserstein"]), "generator_steps": int(history.get("generator_steps", -1)),
                     "final_energy_mae": float(history["energy_mae"][-1]),
                     "final_energy_r": float(history["energy_r"][-1])},
    }


# --------------------------------------------------------------------------- workflow steps
def generate_step(generator_path: str | Path, dataset_path: str | Path, system: dict, evaluate: dict, scale: int,
                  device="cpu") -> tuple[dict[str, np.ndarray], dict, dict | None]:
    """States of requested energies at one scale, with exact energies (rule ``upscaling_generate``).

    ``evaluate.n_generate`` energies are drawn from the training labels
    (:func:`latentopt.conditioned_generation.requested_labels`, ``evaluate.seed``); with
    ``evaluate.calibrate`` the generator is fed calibrated labels
    (:func:`latentopt.conditioned_generation.calibrate_generator` on
    :func:`latentopt.conditioned_generation.calibration_draws` other draws at this scale, and
    labels up to ``evaluate.calibration_extend`` beyond the training energies).

    Returns
    -------
    arrays : dict
        ``spins (n, 3, sL, sL) float32``, ``requested``, ``label``, ``energy``, ``T``, ``index``.
    attrs : dict
        ``system`` (with ``L = sL``), ``scale``, ``seconds``, ``states_per_s``, ``calibrated``;
        with ``evaluate.calibrate`` also ``uncalibrated_ks``, ``uncalibrated_p_value`` and
        ``uncalibrated_cold_decile_bias``: the same metrics for the generator fed the requested
        energies themselves, on the calibration's in-range draws.
    calibration : dict or None
        The calibration (``table``, ``raw``) with ``evaluate.calibrate``.
    """
    from latentopt.models.rugan import load_generator

    data, _ = load_dataset(dataset_path)
    G = load_generator(generator_path, device=device)
    calibration = None
    if evaluate["calibrate"]:
        calibration = calibrate_generator(G, data, system, calibration_draws(evaluate["calibration_n"], scale),
                                          evaluate["calibration_seed"], device, evaluate["batch_size"], scale=scale,
                                          extend=evaluate["calibration_extend"])
    g = generate_scale(G, requested_labels(data, evaluate["n_generate"], evaluate["seed"]), system, scale,
                       evaluate["seed"], device, evaluate["batch_size"],
                       calibration=calibration["table"] if calibration else None)
    arrays = {k: g[k] for k in ("spins", "requested", "label", "energy", "T", "index")}
    attrs = {"system": {**system, "L": int(g["spins"].shape[-1])}, "scale": int(scale), "seconds": g["seconds"],
             "states_per_s": g["states_per_s"], "calibrated": calibration is not None}
    if calibration is not None:  # the generator fed the requests as they are, on the calibration's in-range draws
        attrs.update({f"uncalibrated_{k}": calibration["raw"][k] for k in UNCALIBRATED_KEYS})
    return arrays, attrs, calibration


def heatbath_step(generator_path: str | Path, system: dict, simulate: dict, evaluate: dict,
                  device="cpu") -> tuple[dict[str, np.ndarray], dict]:
    """Heat-bath states sampled directly at the heat-bath scale, and both rates timed in one job (rule ``upscaling_heatbath``).

    :func:`heatbath_reference` draws ``evaluate.heatbath_per_T`` states per training
    temperature at ``evaluate.heatbath_scale`` times the training size; right after it,
    the generator makes as many states of that size (the rate does not depend on the
    labels; the mean heat-bath energy is requested). Both timings run in this one job, on
    the same threads, so their ratio is not skewed by other jobs of the workflow.

    Returns
    -------
    arrays : dict
        ``spins (m, 3, sL, sL) float32``, ``energy (m,)``, ``T (m,)``.
    attrs : dict
        ``system`` (with ``L = sL``), ``scale``, ``seconds``, ``states_per_s``, ``sweeps``
        (per state), ``generator_seconds``, ``generator_states_per_s``, ``speedup``
        (generated over heat-bath states per second).
    """
    from latentopt.models.rugan import load_generator

    scale = int(evaluate["heatbath_scale"])
    hb = heatbath_reference(system, simulate, scale, evaluate["heatbath_per_T"], evaluate["heatbath_seed"])
    G = load_generator(generator_path, device=device)
    labels = np.full(len(hb["energy"]), float(np.mean(hb["energy"])))
    from latentopt.models.rugan import generate

    generate(G, labels[:min(len(labels), evaluate["batch_size"])], scale, evaluate["seed"] + 1, device,
             evaluate["batch_size"])  # warm-up
    t0 = time.perf_counter()
    generate(G, labels, scale, evaluate["seed"], device, evaluate["batch_size"])
    gen_seconds = time.perf_counter() - t0
    attrs = {"system": {**system, "L": int(hb["spins"].shape[-1])}, "scale": scale, "seconds": hb["seconds"],
             "states_per_s": hb["states_per_s"], "sweeps": hb["sweeps"], "generator_seconds": gen_seconds,
             "generator_states_per_s": len(labels) / gen_seconds,
             "speedup": (len(labels) / gen_seconds) / hb["states_per_s"]}
    return {k: hb[k] for k in ("spins", "energy", "T")}, attrs


def evaluate(system: dict, evaluate: dict, dataset_path: str | Path, history_path: str | Path,
             generated_paths: dict[int, str | Path], heatbath_path: str | Path) -> tuple[dict, dict]:
    """Metrics and figures of an upscaling study (rule ``upscaling_evaluate``).

    Parameters
    ----------
    system, evaluate : dict
        The study's blocks.
    dataset_path, history_path, heatbath_path : path
        ``data/dataset.h5``, ``gan/history.h5``, ``heatbath/x<s>.h5``.
    generated_paths : dict
        Scale -> ``generated/x<s>.h5``.

    Returns
    -------
    metrics : dict
        :func:`summarize`, where ``speedup`` and the heat-bath rate are the one-job timing of
        :func:`heatbath_step`; per scale also ``calibrated`` and, for a calibrated scale, the
        ``uncalibrated_*`` metrics of :func:`generate_step`.
    figures : dict
        ``train_samples``, ``seams``, ``structure_factor``, ``heatbath_comparison``,
        ``gan_training``: :class:`matplotlib.figure.Figure` (the per-scale figures are
        :func:`scale_figures`).
    """
    from latentopt.plots import upscaling as P
    from latentopt.trainers.gan_history import read_gan_history

    data, _ = load_dataset(dataset_path)
    history = read_gan_history(history_path)
    generated, per_scale = {}, {}
    for s, path in sorted(generated_paths.items()):
        g = read_h5(path, ["spins", "requested", "energy", "T"])
        attrs = read_attrs(path)
        g["states_per_s"] = float(attrs["states_per_s"])
        generated[s] = g
        per_scale[s] = {**scale_metrics(g, system), "calibrated": bool(attrs.get("calibrated", False)),
                        **{f"uncalibrated_{k}": float(attrs[f"uncalibrated_{k}"]) for k in UNCALIBRATED_KEYS
                           if f"uncalibrated_{k}" in attrs}}
    hb = read_h5(heatbath_path, ["spins", "energy", "T"])
    hb_attrs = read_attrs(heatbath_path)
    hb.update(seconds=float(hb_attrs["seconds"]), states_per_s=float(hb_attrs["states_per_s"]),
              sweeps=int(hb_attrs["sweeps"]))
    hs = int(hb_attrs["scale"])
    comparison = compare_with_heatbath(generated[hs], hb, train=data)
    metrics = summarize(per_scale, hb, comparison, data, history)
    metrics["heatbath"]["generator_states_per_s"] = float(hb_attrs["generator_states_per_s"])
    metrics["speedup"] = float(hb_attrs["speedup"])

    n_show = int(evaluate["n_show"])
    figures = {}
    order = np.argsort(data["energy"])
    show = order[np.linspace(0, len(order) - 1, n_show).astype(int)]
    figures["train_samples"] = P.plot_samples(data["spins"][show], data["energy"][show],
                                              suptitle=f"training states ({system['L']}$^2$)")
    figures["seams"] = P.plot_seam_check({f"{s}x": g["spins"] for s, g in generated.items()}, system,
                                         {f"{s}x": metrics["scales"][str(s)] for s in generated})
    side = hb["spins"].shape[-1]
    names = {"generated": f"generated {hs}x ({side}$^2$)", "heatbath": f"heat bath ({side}$^2$)",
             "train": f"training states ({system['L']}$^2$)"}
    figures["structure_factor"] = P.plot_structure_factor(
        {names[k]: v for k, v in comparison["profiles"].items()},
        {names[k]: comparison[f"peak_q_{k}"] for k in comparison["profiles"]},
        float(np.arctan2(system["D"], system["J"])))
    figures["heatbath_comparison"] = P.plot_heatbath_comparison(comparison["per_T"], f"{side}$^2$")
    figures["gan_training"] = P.plot_gan_training(history)
    return metrics, figures


def metrics_table(metrics: dict, study: str) -> list:
    """The report's metrics table (:func:`latentopt.tables.html_page`): per scale KS, p, r, MAE, seam check, rate, and the paper's KS and p."""
    def fmt(v, spec):
        return "" if v is None else format(v, spec)

    head = ["scale", "L", "n", "KS", "p", "paper KS", "paper p", "Pearson r", "MAE (J)", "bias (J)",
            "coldest decile bias (J)", "seam KS", "seam excess (J)", "states/s", "calibrated", "KS uncalibrated",
            "coldest decile bias uncalibrated (J)"]
    rows = []
    for s, m in metrics["scales"].items():
        rows.append([f"{s}x", str(m["L"]), str(m["n"]), fmt(m["ks"], ".4f"), fmt(m["p_value"], ".3g"), fmt(m.get("paper_ks"), ".2f"),
                     fmt(m.get("paper_p_value"), ".2f"), fmt(m["pearson_r"], ".4f"), fmt(m["mae"], ".4f"),
                     fmt(m["bias"], "+.4f"), fmt(m.get("cold_decile_bias"), "+.4f"), fmt(m["seam_ks"], ".4f"),
                     f"{m['seam_excess']:+.4f} ± {m['seam_excess_se']:.4f}", fmt(m["states_per_s"], ".1f"),
                     "yes" if m.get("calibrated") else "no", fmt(m.get("uncalibrated_ks"), ".4f"),
                     fmt(m.get("uncalibrated_cold_decile_bias"), "+.4f")])
    hb, t = metrics["heatbath"], metrics["training"]
    line = (f"Heat bath at {hb['L']}^2 ({hb['sweeps']} sweeps per state): {hb['states_per_s']:.2f} states/s; "
            f"generator in the same job: {hb['generator_states_per_s']:.1f} states/s, {metrics['speedup']:.0f}x faster. "
            f"Energies generated vs heat bath at matched T: KS {hb['energy_ks']:.3f} (p {hb['energy_p']:.3g}); "
            f"structure-factor peak |q|: generated {hb['peak_q_generated']:.3f}, heat bath {hb['peak_q_heatbath']:.3f}; "
            f"S(q) at the zone boundary (a period-2 sub-lattice pattern): generated "
            f"{hb['s_zone_boundary_generated']:.3g}, heat bath {hb['s_zone_boundary_heatbath']:.3g}; "
            f"radial S(|q|) within {100 * hb['sq_tolerance']:.0f} % of the heat bath's on "
            f"{100 * hb['sq_shells_within']:.0f} % of the shells |q| > 0 (largest deviation "
            f"{100 * hb['sq_max_deviation']:.0f} %). "
            f"Trained on {t['n_states']} states of {t['L']}^2 with energies in [{t['energy_min']:.3f}, "
            f"{t['energy_max']:.3f}] J, {t['epochs']} epochs.")
    return [Heading(f"{study}: requested vs realized energy per spin (exact Hamiltonian) at each scale"),
            Table(head, rows, row_labels=False), Paragraph(line)]


def scale_figures(generated_path: str | Path, scale_metrics: dict, n_show: int) -> dict:
    """The figures of one scale (rule ``upscaling_plot``): generated states and requested vs realized energies.

    Parameters
    ----------
    generated_path : path
        ``generated/x<s>.h5``.
    scale_metrics : dict
        ``metrics.json``'s ``scales["<s>"]`` (KS, p, r, MAE in the titles).
    n_show : int
        States shown, spread evenly over the sorted requested energies.

    Returns
    -------
    dict
        ``samples``, ``fidelity``: :class:`matplotlib.figure.Figure`.
    """
    from latentopt.plots import upscaling as P

    g = read_h5(generated_path, ["spins", "requested", "energy"])
    s, side = int(read_attrs(generated_path)["scale"]), g["spins"].shape[-1]
    pick = np.argsort(g["requested"])[np.linspace(0, len(g["requested"]) - 1, n_show).astype(int)]
    return {"samples": P.plot_samples(g["spins"][pick], g["energy"][pick], g["requested"][pick],
                                      suptitle=f"generated at {s}x ({side}$^2$)"),
            "fidelity": P.plot_requested_vs_realized(g["requested"], g["energy"], scale_metrics, f"{s}x ({side}$^2$)")}
