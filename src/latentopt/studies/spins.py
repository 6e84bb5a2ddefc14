"""Spin studies (``kind: spins``; Park et al., Sci. Rep. 12, 9278 (2022)): one function per rule.

Rules spins_simulate -> spins_merge -> spins_train -> spins_generate (X_VAE) -> spins_modify
(single-code modification, X'_VAE) -> spins_optimize per run -> spins_evaluate (+ spins_plot per
run); their functions here are :func:`simulate_shard`, :func:`merge_dataset`, :func:`train`,
:func:`generate`, :func:`modify`, :func:`optimize`, :func:`evaluate` and :func:`run_figure`.
"Relax" is kept for descent in spin space (:func:`polish_best`). Each function takes validated config
blocks and file paths and returns the arrays (and attributes) of its rule's output, whose
layout is the data contract of ``docs/design.md`` ("Data contracts"); the thin scripts in
``workflow/scripts/spins/`` only read Snakemake's inputs and write the outputs.

Sets evaluated: ``dataset`` (X_IN), ``vae`` (X_VAE), ``relaxed`` (X'_VAE) and one per
optimization run (its best state); see :func:`latentopt.metrics.set_metrics`.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from latentopt.dataset import load_dataset, merge_shards, observables, shard_indices
from latentopt.errors import DivergedError
from latentopt.io import array_digest, file_digest, read_attrs, read_h5
from latentopt.physics.boundary import boundary_from_config
from latentopt.physics.hamiltonian import ChiralMagnet, energy_density, lowest_commensurate_spiral, nodal_points
from latentopt.physics.heatbath import anneal, geometric_schedule
from latentopt.physics.observables import magnetization_z, topological_charge
from latentopt.tables import Heading, Paragraph, Table

if TYPE_CHECKING:  # annotations only: each step imports torch, matplotlib and the models it needs when it
    import torch  # runs, so that a simulation, merge or plot job does not load them
    from matplotlib.figure import Figure

    from latentopt.models.vae import SpinVAE

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ simulate_shard, merge_dataset


def simulate_shard(system: dict, simulate: dict, shard: int,
                   device: torch.device | str = "cpu") -> dict[str, np.ndarray]:
    """Anneal the samples of one shard of X_IN (heat bath, geometric schedule).

    Shard ``k`` of ``S`` simulates a contiguous block of global sample indices; every
    sample's random stream depends only on (seed, index), so the merged data set is
    identical for any shard or thread count. On the CPU the numba kernel
    (:func:`latentopt.physics.heatbath.anneal`, vectorized across samples) runs; on a CUDA
    device the torch kernel (:func:`latentopt.physics.torch_heatbath.anneal`), which samples
    the same distribution from other streams.

    Parameters
    ----------
    system : dict
        The study's ``system`` block (L, J, D, dmi, K, B).
    simulate : dict
        The study's ``simulate`` block (n_samples, n_sweeps, T_start, T_end, shards, seed).
    shard : int

    Returns
    -------
    dict
        ``index (m,)``, ``spins (m, 3, L, L) float32``, ``energy``, ``W``, ``Mz`` ``(m,)``.
    """
    model = ChiralMagnet.from_config(system)
    idx = shard_indices(simulate["n_samples"], simulate["shards"], shard)
    temps = geometric_schedule(simulate["T_start"], simulate["T_end"], simulate["n_sweeps"])
    if str(device).split(":")[0] == "cuda":  # torch only where it runs: a CPU shard does not import it
        from latentopt.physics import torch_heatbath

        spins = torch_heatbath.anneal(model, idx, simulate["seed"], temps, device=device)
    else:
        spins = anneal(model, idx, simulate["seed"], temps)
    return {"index": idx, "spins": spins.astype(np.float32), **observables(spins, model)}


def merge_dataset(shards: list[str | Path], out: str | Path, system: dict, simulate: dict) -> None:
    """Concatenate the shard files into ``dataset.h5``, with the settings that made it as attributes."""
    merge_shards(shards, out, attrs=dict(system=system, simulate=simulate, seed=simulate["seed"]))


# ------------------------------------------------------------------ train_vae, generate, relax


def train(dataset: str | Path, vae: dict, *, device: torch.device | str = "cpu", checkpoint: str | Path | None = None,
          progress: bool = False) -> tuple[SpinVAE, dict]:
    """Train the spin VAE on X_IN (``dataset.h5``) with the ``vae`` block's settings.

    Returns the trained model and its history (:func:`latentopt.trainers.vae.train_vae`; ``history["precision"]``
    is the resolved ``vae.precision``).
    """
    from latentopt.trainers.vae import train_vae

    data, _ = load_dataset(dataset)
    log.info("training on %d states (%s), device %s, settings %s", len(data["spins"]), data["spins"].shape[1:],
             device, vae)
    model, history = train_vae(data["spins"], device=device, checkpoint=checkpoint, progress=progress, **vae)
    log.info("final loss %.3f, val_loss %.3f (training precision %s)", history["loss"][-1], history["val_loss"][-1],
             history["precision"])
    return model, history


def generate(model: str | Path, settings: dict, *, device: torch.device | str = "cpu") -> dict[str, np.ndarray]:
    """X_VAE: decode ``settings["n_samples"]`` codes ``z ~ N(0, I)`` drawn from ``settings["seed"]``.

    Returns
    -------
    dict
        ``z (n, N)``, ``spins (n, 3, L, L)``.
    """
    from latentopt.latent import prior_codes
    from latentopt.models.vae import load_model
    from latentopt.trainers.vae import decode as decode_codes

    vae = load_model(model, device=device)
    z = prior_codes(settings["n_samples"], vae.hparams["latent_dim"], settings["seed"])
    log.info("decoding %d codes", len(z))
    return dict(z=z, spins=decode_codes(vae, z, device))


def modify(model: str | Path, samples: str | Path, system: dict, settings: dict, *,
           device: torch.device | str = "cpu", checkpoint: str | Path | None = None,
           progress: bool = False) -> dict[str, np.ndarray]:
    """X'_VAE: single-code modification (Adam on z, energy minimization) of the X_VAE codes (rule ``spins_modify``).

    ``settings`` is the study's ``relax`` block (the config key kept its name).

    Returns
    -------
    dict
        ``z (n, N)``, ``spins (n, 3, L, L)``, ``energy (n,)`` per spin (J),
        ``energy_history (iterations, n)``.
    """
    import torch
    from latentopt.latent import load_decoder
    from latentopt.optimizers import make_objective
    from latentopt.optimizers.single_code import single_code

    vae, decode = load_decoder(model, device)
    z0 = torch.as_tensor(read_h5(samples, ["z"], shapes={"z": (None, vae.hparams["latent_dim"])})["z"])
    objective = make_objective("energy", "min", ChiralMagnet.from_config(system))
    try:
        result = single_code(decode, objective, z0, iterations=settings["iterations"], lr=settings["lr"],
                             batch_size=settings["batch_size"], device=device, checkpoint=checkpoint,
                             progress=progress, context=dict(model=file_digest(model), system=system))
    except DivergedError as exc:
        raise DivergedError(f"relax: {exc}; lower relax.lr (now {settings['lr']})") from exc
    history = result.final["value_history"]
    log.info("energy per spin: %.5f -> %.5f (mean over %d codes)", history[0].mean(), result.final["values"].mean(),
             len(z0))
    return dict(z=result.final["z"], spins=result.final["spins"], energy=result.final["values"],
                energy_history=history)


#: the former name of :func:`modify` (before "relax" was kept for descent in spin space)
relax = modify


# ------------------------------------------------------------------ optimize, plot_run


def optimize(model: str | Path, system: dict, run: dict, *, root: str | Path = ".", key: str = "optimize.<run>",
             device: torch.device | str = "cpu", checkpoint: str | Path | None = None,
             progress: bool = False) -> tuple[dict[str, np.ndarray], dict]:
    """One latent-space optimization run (genetic, stochastic or single-code) of a study.

    Parameters
    ----------
    model : path
        ``vae/model.pt``.
    system : dict
        The study's ``system`` block.
    run : dict
        The validated ``optimize.<run>`` block.
    root : path
        Directory against which a C_BC run's boundary ``file`` is resolved (the repository).
    key : str
        The run's config key (``optimize.<run>``), named in error messages.
    device, checkpoint, progress
        See :func:`latentopt.optimizers.run`.

    Raises
    ------
    DivergedError
        If the objective becomes non-finite; the message names ``key`` and the setting to change.

    Returns
    -------
    datasets : dict
        The ``optimize/<run>.h5`` arrays (:func:`latentopt.optimizers.common.result_datasets`),
        ``search_seconds`` (the search, without polishing; a timing, left out of result comparisons), plus ``boundary (3, L, L)``
        for a C_BC run.
    attrs : dict
        ``algorithm``, ``objective``, ``direction``, ``settings`` (JSON), ``system``.
    """
    from latentopt.latent import load_decoder
    from latentopt.optimizers import make_objective, run as run_optimizer
    from latentopt.optimizers.common import result_datasets

    vae, decode = load_decoder(model, device)
    magnet = ChiralMagnet.from_config(system)
    boundary = boundary_from_config(run["boundary"], magnet.L, root) if run["objective"] == "C_BC" else None
    objective = make_objective(run["objective"], run["direction"], magnet, a=run.get("a", (1, 0)),
                               boundary=boundary, device=device, relax_steps=run.get("relax_steps", 0))
    log.info("run on %s: %s", device, run)
    context = dict(model=file_digest(model), system=system, boundary=array_digest(boundary))
    t0 = time.perf_counter()
    try:
        result = run_optimizer(run["algorithm"], decode, objective, vae.hparams["latent_dim"], run, device=device,
                               checkpoint=checkpoint, progress=progress, context=context)
    except DivergedError as exc:
        fix = f"lower {key}.lr (now {run['lr']})" if "lr" in run else "check the trained model (vae/model.pt)"
        raise DivergedError(f"{key}: {exc}; {fix}") from exc
    log.info("%s %s: first iteration %.5f, best %.5f", run["direction"], run["objective"], result.objective[0],
             result.best_value)
    datasets = result_datasets(result)
    datasets["search_seconds"] = np.float64(time.perf_counter() - t0)  # the search, without polishing
    if boundary is not None:
        datasets["boundary"] = boundary
    if run.get("polish"):
        datasets.update(polish_best(datasets["best_spins"], magnet, objective, device))
        log.info("polished in real space: %s %.6f -> %.6f, energy per spin %.6f, W %.0f -> %.0f",
                 run["objective"], result.best_value, datasets["polished_value"], datasets["polished_energy"],
                 float(topological_charge(datasets["best_spins"])), datasets["polished_W"])
    attrs = dict(algorithm=run["algorithm"], objective=run["objective"], direction=run["direction"],
                 settings=json.dumps(run), system=system)
    return datasets, attrs


def polish_best(best_spins: np.ndarray, magnet: ChiralMagnet, objective, device="cpu") -> dict[str, np.ndarray]:
    """Relax a run's best decoded state in spin space (``polish: true``; L-BFGS on the spheres to a local minimum).

    Returns
    -------
    dict
        ``polished_spins (3, L, L)``, ``polished_value`` (the run's objective on it, natural
        sign), ``polished_energy`` (per spin, J), ``polished_W``, ``polish_iterations``.
    """
    import torch
    from latentopt.physics.minimize import polish

    res = polish(best_spins, magnet, device=device)
    with torch.no_grad():
        value = float(objective.value(torch.as_tensor(res["spins"][None], device=device)).cpu()[0])
    return dict(polished_spins=res["spins"], polished_value=np.float64(value),
                polished_energy=np.float64(res["polished_value"]), polished_W=np.float64(res["W"]),
                polish_iterations=np.int64(res["iterations"]))


def baseline(optimized: str | Path, system: dict, run: dict, *, dataset: str | Path | None = None,
             device: torch.device | str = "cpu", progress: bool = False) -> tuple[dict[str, np.ndarray], dict]:
    """The direct search in spin space of one run, with the latent run's number of evaluations (rule ``spins_baseline``).

    :mod:`latentopt.optimizers.direct`: ``B`` states (the run's states per iteration) from
    ``run["baseline"]["init"]`` (random unit spins, or X_IN states with ``heatbath``), moved by
    projected-gradient steps on the spheres, one evaluation per state and step, as many
    evaluations as the latent run spent (:func:`~latentopt.optimizers.direct.latent_evaluations`
    of its recorded iterations). A ``polish: true`` run's best direct state is polished like the
    latent one (:func:`polish_best`, with the run's own objective, ``relax_steps`` included, so
    that ``polished_value`` compares with the latent run's).

    Parameters
    ----------
    optimized : path
        The latent run's ``optimize/<run>.h5`` (its trace length gives the budget; a C_BC
        run's boundary map is read from it).
    system : dict
        The study's ``system`` block.
    run : dict
        The validated ``optimize.<run>`` block, with its ``baseline`` block.
    dataset : path, optional
        ``data/dataset.h5``; required for ``init: heatbath``.

    Raises
    ------
    ValueError
        On ``init: heatbath`` without ``dataset``.

    Returns
    -------
    datasets : dict
        ``objective (steps,)`` best value per step (natural sign), ``best_so_far (steps,)``,
        ``evaluations (steps,)`` cumulative, ``best_spins (3, L, L)``, ``best_value``,
        ``best_energy`` (per spin, J), ``best_W``, ``snapshots (k, 3, L, L)``,
        ``snapshot_iteration (k,)``, ``snapshot_value (k,)``, ``trace/mean_objective (steps,)``,
        ``initial_spins (3, L, L)`` (the best state's start), ``search_seconds``, ``n_evaluations``,
        ``latent_evaluations``; with ``polish`` the keys of :func:`polish_best`.
    attrs : dict
        ``algorithm`` (``direct``), ``latent_algorithm``, ``objective``, ``direction``, ``init``,
        ``seed``, ``form`` (the differentiable form that gave the steps), ``states``, ``steps``,
        ``settings`` (JSON of the run block), ``system``.
    """
    import torch
    from latentopt.optimizers import make_objective
    from latentopt.optimizers.direct import direct_search, initial_states, latent_evaluations, search_plan
    from latentopt.physics.torch_physics import energy_per_spin

    settings = run["baseline"]
    latent = read_h5(optimized)
    magnet = ChiralMagnet.from_config(system)
    boundary = latent.get("boundary") if run["objective"] == "C_BC" else None
    common = dict(a=run.get("a", (1, 0)), boundary=boundary, device=device)
    objective = make_objective(run["objective"], run["direction"], magnet, **common)
    n_iter = len(latent["objective"])
    batch, steps = search_plan(run, n_iter)
    data = None
    if settings["init"] == "heatbath":
        if dataset is None:
            raise ValueError("baseline.init heatbath: the data set (data/dataset.h5) is required")
        data = load_dataset(dataset)[0]["spins"]
    x0 = initial_states(batch, magnet.L, settings["init"], settings["seed"], data)
    log.info("direct %s %s: %d states x %d steps = %d evaluations (latent run: %d), init %s", run["direction"],
             run["objective"], batch, steps, batch * steps, latent_evaluations(run, n_iter), settings["init"])
    found = direct_search(objective, magnet, x0, steps, max_angle=settings["max_angle"],
                          n_snapshots=run.get("n_snapshots", 8), device=device, progress=progress)
    res = found.result
    best = torch.as_tensor(res.best_spins[None])
    datasets = dict(objective=res.objective, best_so_far=_best_so_far(res.objective, objective.sign),
                    evaluations=found.evaluations, best_spins=res.best_spins.astype(np.float32),
                    best_value=np.float64(res.best_value),
                    best_energy=np.float64(energy_per_spin(best.double(), magnet)[0]),
                    best_W=np.float64(topological_charge(res.best_spins)),
                    snapshots=res.snapshots.astype(np.float32), snapshot_iteration=res.snapshot_iteration,
                    snapshot_value=res.snapshot_value, initial_spins=x0[int(res.best_z[0])],
                    search_seconds=np.float64(found.wall_time), n_evaluations=np.int64(found.evaluations[-1]),
                    latent_evaluations=np.int64(latent_evaluations(run, n_iter)))
    datasets.update({f"trace/{k}": v for k, v in res.traces.items()})
    log.info("direct search: %.1f s, first step %.5f, best %.5f (energy per spin %.5f, W %.0f)", found.wall_time,
             res.objective[0], res.best_value, datasets["best_energy"], datasets["best_W"])
    if run.get("polish"):
        scored = make_objective(run["objective"], run["direction"], magnet, relax_steps=run.get("relax_steps", 0),
                                **common)
        datasets.update(polish_best(datasets["best_spins"], magnet, scored, device))
        log.info("polished: %s %.6f, energy per spin %.6f, W %.0f", run["objective"], datasets["polished_value"],
                 datasets["polished_energy"], datasets["polished_W"])
    attrs = dict(algorithm="direct", latent_algorithm=run["algorithm"], objective=run["objective"],
                 direction=run["direction"], init=settings["init"], seed=settings["seed"], form=found.form,
                 states=batch, steps=steps, settings=json.dumps(run), system=system)
    return datasets, attrs


def _best_so_far(values: np.ndarray, sign: float) -> np.ndarray:
    """Running best of a trace in the natural sign (``sign`` +1: max, -1: min)."""
    return sign * np.maximum.accumulate(sign * np.asarray(values, dtype=np.float64))


GAP_FLOOR = 1e-6
"""Smallest energy excess drawn on the log axes of the baseline figure (J per spin)."""


def _gap(values, reference: float):
    """``values - reference`` floored at :data:`GAP_FLOOR` (a float for a float, else an array)."""
    out = np.maximum(np.asarray(values, dtype=np.float64) - reference, GAP_FLOOR)
    return float(out) if out.ndim == 0 else out


def _charge_label(W) -> str:
    """W to the nearest integer for a figure title: ``"0"``, not ``"-0"``, for ``-3e-17``."""
    return f"{round(float(W)):d}"


def _value_label(objective: str, value: float) -> str:
    """An objective value for a title: W as an integer, the energy per spin to 4 decimals, others to 4 significant digits."""
    if objective == "W":
        return _charge_label(value)
    return f"{float(value):.4f}" if objective == "energy" else f"{float(value):.4g}"


def _trace_verdict(objective: str, summary: dict) -> str:
    """The baseline figure's title for one run: the winner of the search and its two best values, then after polishing.

    E.g. ``"search: direct wins, 1014 vs 8"`` and, on a second line, ``"polished: latent
    wins, 8 vs 4"``: the winner's value first (on a tie, the latent one).
    """
    d = summary["direct"]

    def line(label, winner, latent, direct_value):
        first, second = (direct_value, latent) if winner == "direct" else (latent, direct_value)
        verdict = "tie" if winner == "tie" else f"{winner} wins"
        return f"{label}: {verdict}, {_value_label(objective, first)} vs {_value_label(objective, second)}"

    text = line("search", d["winner"], summary["best_value"], d["best_value"])
    if "polished_winner" in d:
        text += "\n" + line("polished", d["polished_winner"], summary["polished_value"], d["polished_value"])
    return text


def objective_label(run: dict) -> str:
    """A run's objective as figures name it: ``"energy"``, or ``"energy after 3 descent steps"`` (``relax_steps``).

    Values scored after descent steps are not comparable with values of decoded states, so
    they get their own label (and their own panel in the optimizer traces).
    """
    note = _scored_after(run)
    return f"{run['objective']} {note}" if note else run["objective"]


def _scored_after(run: dict) -> str:
    steps = int(run.get("relax_steps", 0))
    return f"after {steps} descent step{'s' * (steps > 1)}" if steps else ""


def run_figure(path: str | Path, run_name: str, run: dict) -> Figure:
    """The best state at selected iterations of one optimization run (``optimize/<run>.h5``)."""
    from latentopt.plots.spins import plot_best_states

    data = read_h5(path)
    polished = (data["polished_spins"], data["polished_value"]) if "polished_spins" in data else None
    note = _scored_after(run)
    label = f"{run_name} (states scored {note})" if note else run_name
    return plot_best_states(data["snapshots"], data["snapshot_iteration"], data["snapshot_value"],
                            objective=run["objective"], run=label, polished=polished)


# ------------------------------------------------------------------ evaluate


def _titles(spins: np.ndarray, model: ChiralMagnet) -> list[str]:
    e = energy_density(spins, model).mean(axis=(-2, -1))
    w = topological_charge(spins)
    return [f"W={_charge_label(wi)}, e={ei:.4f}" for wi, ei in zip(np.atleast_1d(w), np.atleast_1d(e))]


def validation_ssim(model_path: str | Path, spins: np.ndarray, val_indices: np.ndarray,
                    device: torch.device | str = "cpu") -> np.ndarray:
    """SSIM of each validation state with its reconstruction ``decode(mu(x))``; shape ``(n_val,)``."""
    from latentopt.metrics import reconstruction_ssim
    from latentopt.models.vae import load_model
    from latentopt.trainers.vae import decode as decode_codes, encode_mean

    vae = load_model(model_path, device=device)
    x = spins[np.asarray(val_indices, dtype=np.int64)]
    rec = decode_codes(vae, encode_mean(vae, x, device), device)
    return reconstruction_ssim(x, rec)


def set_objective(objective, spins: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Values ``(n,)`` of an :class:`~latentopt.optimizers.Objective` over states ``(n, 3, L, L)`` (CPU)."""
    import torch

    with torch.inference_mode():
        return torch.cat([objective.value(torch.from_numpy(np.ascontiguousarray(c, dtype=np.float32)))
                          for c in np.array_split(spins, max(1, -(-len(spins) // chunk)))]).numpy()


def _settings(attrs: dict) -> dict:
    """The run block stored in an ``optimize/<run>.h5``'s ``settings`` attribute ({} if absent)."""
    settings = attrs.get("settings")
    return settings if isinstance(settings, dict) else {}


def run_summary(name_attrs: dict, result: dict, reference_sets: dict[str, np.ndarray], model: ChiralMagnet) -> dict:
    """How one run compares with the best state of each reference set under the run's own objective.

    Returns ``algorithm``, ``objective``, ``direction``, ``iterations``, ``first_iteration_value``,
    ``best_value``, ``evaluations`` (states scored, :func:`~latentopt.optimizers.direct.latent_evaluations`),
    ``search_seconds`` (None for a file written before it was recorded), ``best_energy`` (J per
    spin) and ``best_W`` of the best (decoded) state and, per reference set ``<s>``, ``<s>_best`` and ``beats_<s>`` (strictly better).
    A polished run (``polish: true``) adds ``polished_value``, ``polished_energy`` (J per spin),
    ``polished_W``, ``polish_iterations`` and the reference of the lowest single-q spiral that
    fits the lattice (:func:`~latentopt.physics.hamiltonian.lowest_commensurate_spiral`):
    ``single_q_energy``, ``single_q_periods`` ``[n_x, n_y]`` and
    ``polished_gap = polished_energy - single_q_energy``.
    """
    from latentopt.optimizers import make_objective

    settings = _settings(name_attrs)
    objective = make_objective(name_attrs["objective"], name_attrs["direction"], model, a=settings.get("a", (1, 0)),
                               boundary=result.get("boundary"), relax_steps=settings.get("relax_steps", 0))
    from latentopt.optimizers.direct import latent_evaluations

    best = float(result["best_value"])
    out = {"algorithm": name_attrs["algorithm"], "objective": name_attrs["objective"],
           "direction": name_attrs["direction"], "iterations": int(len(result["objective"])),
           "first_iteration_value": float(result["objective"][0]), "best_value": best,
           "evaluations": latent_evaluations({**settings, **name_attrs}, len(result["objective"])),
           "search_seconds": float(result["search_seconds"]) if "search_seconds" in result else None,
           "best_energy": float(energy_density(result["best_spins"], model).mean()),
           "best_W": float(topological_charge(result["best_spins"]))}
    if "polished_value" in result:
        n, e_spiral = lowest_commensurate_spiral(model)
        out.update(polished_value=float(result["polished_value"]), polished_energy=float(result["polished_energy"]),
                   polished_W=float(result["polished_W"]), polish_iterations=int(result["polish_iterations"]),
                   single_q_energy=e_spiral, single_q_periods=list(n),
                   polished_gap=float(result["polished_energy"]) - e_spiral)
    for set_name, spins in reference_sets.items():
        values = objective.sign * set_objective(objective, spins)
        ref = float(objective.sign * values.max())
        out[f"{set_name}_best"] = ref
        out[f"beats_{set_name}"] = bool(objective.sign * best > objective.sign * ref)
    return out


def direct_summary(latent: dict, direct: dict, direct_attrs: dict, model: ChiralMagnet) -> dict:
    """One run's direct search (``baseline/<run>.h5``) beside its latent run's summary (:func:`run_summary`).

    Returns
    -------
    dict
        ``init``, ``form``, ``evaluations``, ``search_seconds``, ``best_value`` (the objective of
        the state as it is), ``best_energy`` (J per spin), ``best_W``, ``winner``
        (``"latent"``, ``"direct"`` or ``"tie"``: the better ``best_value``, each as its search
        scored it: a ``relax_steps`` run's latent values are of decoded states after its descent
        steps) and, for a polished run, ``polished_value``, ``polished_energy``, ``polished_W``,
        ``polish_iterations``, ``polished_gap`` (polished energy minus the single-q bound) and
        ``polished_winner`` (the better ``polished_value``; both scored by the run's objective).
    """
    sign = 1.0 if latent["direction"] == "max" else -1.0
    out = {"init": direct_attrs.get("init"), "form": direct_attrs.get("form"),
           "evaluations": int(direct["n_evaluations"]), "search_seconds": float(direct["search_seconds"]),
           "best_value": float(direct["best_value"]), "best_energy": float(direct["best_energy"]),
           "best_W": float(direct["best_W"]),
           "winner": _winner(sign, latent["best_value"], float(direct["best_value"]))}
    if "polished_value" in direct:
        _, e_spiral = lowest_commensurate_spiral(model)
        out.update(polished_value=float(direct["polished_value"]), polished_energy=float(direct["polished_energy"]),
                   polished_W=float(direct["polished_W"]), polish_iterations=int(direct["polish_iterations"]),
                   polished_gap=float(direct["polished_energy"]) - e_spiral)
        if "polished_value" in latent:
            out["polished_winner"] = _winner(sign, latent["polished_value"], out["polished_value"])
    return out


def _winner(sign: float, latent: float, direct: float, rtol: float = 1e-9) -> str:
    """``"latent"``, ``"direct"`` or ``"tie"`` (equal within ``rtol``) for values in the natural sign."""
    if abs(latent - direct) <= rtol * max(abs(latent), abs(direct), 1.0):
        return "tie"
    return "latent" if sign * latent > sign * direct else "direct"


def study_metrics(sets: dict[str, np.ndarray], model: ChiralMagnet, nodal_threshold: float) -> dict:
    """``{set name: set_metrics(...)}`` for states ``(n, 3, L, L)`` of each set."""
    from latentopt.metrics import set_metrics

    return {name: set_metrics(spins, model, nodal_threshold) for name, spins in sets.items()}


def metrics_table(metrics: dict, study: str) -> list:
    """The report's metrics table (:func:`latentopt.tables.html_page`): one row per set, then one per run."""
    cols = [("n", "n"), ("energy_mean", "energy mean"), ("energy_std", "energy std"), ("energy_min", "energy min"),
            ("max_local_energy_density", "max local ε"), ("nodal_points_mean", "nodal pts / state"),
            ("states_with_nodal_points", "states w/ nodal pts"), ("W_mean", "W mean"), ("W_max", "W max"),
            ("Mz_mean", "M_z mean"), ("Mz_max", "M_z max")]
    run_cols = [("algorithm", "algorithm"), ("objective", "objective"), ("direction", "direction"),
                ("iterations", "iterations"), ("first_iteration_value", "first iteration"), ("best_value", "best"),
                ("dataset_best", "best in X_IN"), ("relaxed_best", "best in X'_VAE"),
                ("polished_value", "polished"), ("polished_energy", "polished energy"), ("polished_W", "polished W"),
                ("polished_gap", "polished energy − single-q spiral")]
    sets = [[name] + [f"{m[k]:.5g}" if isinstance(m[k], float) else f"{m[k]}" for k, _ in cols]
            for name, m in metrics["sets"].items()]
    runs = [[name] + [f"{r[k]:.6g}" if isinstance(r.get(k), float) else str(r.get(k, "–")) for k, _ in run_cols]
            for name, r in metrics["runs"].items()]
    ssim = metrics["reconstruction_ssim"]
    blocks = [Heading(f"{study}: metrics (energies per spin in units of J)"),
              Table(["set"] + [label for _, label in cols], sets),
              Heading("optimization runs: best value vs the best training (X_IN) and relaxed (X'_VAE) state"),
              Table(["run"] + [label for _, label in run_cols], runs)]
    compared = {name: r for name, r in metrics["runs"].items() if "direct" in r}
    if compared:
        blocks += [Heading("latent-space search vs direct search in spin space, equal objective evaluations"),
                   Table(["run", "search"] + [label for _, label in _VS_COLS],
                         [row for name, r in compared.items() for row in _vs_rows(name, r)]),
                   Paragraph(_verdict(compared))]
    return blocks + [Paragraph(f"Reconstruction SSIM on {ssim['n']} validation states: "
                               f"{ssim['mean']:.4f} ± {ssim['std']:.4f}")]


_VS_COLS = [("evaluations", "evaluations"), ("best_value", "best objective"), ("best_energy", "its energy"),
            ("best_W", "its W"), ("search_seconds", "wall time (s)"), ("polished_value", "polished objective"),
            ("polished_energy", "polished energy"), ("polished_gap", "polished energy − single-q spiral"),
            ("winner", "wins (best)"), ("polished_winner", "wins (polished)")]


def _vs_rows(name: str, r: dict) -> list[list[str]]:
    def cell(d: dict, k: str) -> str:
        v = d.get(k)
        return "–" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v)

    d = r["direct"]
    shared = {"winner": d["winner"], "polished_winner": d.get("polished_winner")}
    latent = [name, f"latent ({r['algorithm']})"] + [cell({**r, **shared}, k) for k, _ in _VS_COLS]
    direct = [name, f"direct ({d['init']} start, {d['form']} steps)"] + [cell({**d, **shared}, k) for k, _ in _VS_COLS]
    return [latent, direct]


def _verdict(compared: dict) -> str:
    """One sentence per run naming the winner."""
    parts = []
    for name, r in compared.items():
        d = r["direct"]
        text = f"{name} ({r['direction']} {r['objective']}): {d['winner']} wins on the best value"
        if "polished_winner" in d:
            text += f", {d['polished_winner']} after polishing"
        parts.append(text)
    return "Which search wins: " + "; ".join(parts) + "."


def evaluate(*, dataset: str | Path, model: str | Path, history: str | Path, vae: str | Path,
                   relaxed: str | Path, runs: dict[str, str | Path], system: dict, nodal_threshold: float,
                   n_show: int = 8, device: torch.device | str = "cpu",
                   baselines: dict[str, str | Path] | None = None) -> tuple[dict, dict[str, Figure]]:
    """Compute ``metrics.json`` content and the report figures of one study.

    Parameters
    ----------
    dataset, model, history, vae, relaxed : path
        The study's ``dataset.h5``, ``model.pt``, ``history.h5``, ``samples/vae.h5``,
        ``samples/relaxed.h5``.
    runs : dict
        Run name -> ``optimize/<run>.h5``.
    baselines : dict, optional
        Run name -> ``baseline/<run>.h5`` (the runs with a direct search).
    system : dict
        The study's ``system`` block.
    nodal_threshold : float
        Nodal-point threshold on the local energy density (units of J).
    n_show : int
        States shown in sample grids.

    Returns
    -------
    metrics : dict
        ``{"sets": {name: metrics}, "runs": {name: {...}}, "reconstruction_ssim": {...},
        "nodal_threshold": float}``; a run with a direct search has ``runs[name]["direct"]``
        (:func:`direct_summary`), and its direct best (and polished) state is a set
        ``<run> (direct)`` (``<run> (direct, polished)``).
    figures : dict of str to Figure
        Keys: ``dataset_samples``, ``vae_samples``, ``relaxed_samples``, ``energy_histograms``,
        ``energy_density_maps``, ``training_curves``, ``optimizer_traces``, ``w_vs_mz``,
        ``baseline_comparison``.
    """
    from latentopt.plots.common import placeholder, plot_spin_grid, plot_training_curves
    from latentopt.plots.spins import (plot_energy_density_maps, plot_energy_histograms, plot_optimizer_traces,
                                       plot_w_vs_mz)

    hm = ChiralMagnet.from_config(system)
    data, _ = load_dataset(dataset)
    x_vae = read_h5(vae, ["spins"])["spins"]
    x_rel = read_h5(relaxed, ["spins"])["spins"]
    hist = read_h5(history)
    run_data = {name: read_h5(path) for name, path in runs.items()}
    run_attrs = {name: read_attrs(path) for name, path in runs.items()}

    sets = {"dataset": data["spins"], "vae": x_vae, "relaxed": x_rel}
    sets.update({name: d["best_spins"][None] for name, d in run_data.items()})
    sets.update({f"{name} (polished)": d["polished_spins"][None] for name, d in run_data.items()
                 if "polished_spins" in d})
    direct = {name: read_h5(path) for name, path in (baselines or {}).items()}
    direct_attrs = {name: read_attrs(path) for name, path in (baselines or {}).items()}
    sets.update({f"{name} (direct)": d["best_spins"][None] for name, d in direct.items()})
    sets.update({f"{name} (direct, polished)": d["polished_spins"][None] for name, d in direct.items()
                 if "polished_spins" in d})
    metrics = {"settings": {"system": system, "nodal_threshold": nodal_threshold, "n_show": n_show},
               "nodal_threshold": nodal_threshold, "sets": study_metrics(sets, hm, nodal_threshold), "runs": {}}
    for name, d in run_data.items():
        metrics["runs"][name] = run_summary(run_attrs[name], d, {"dataset": data["spins"], "relaxed": x_rel}, hm)
        if name in direct:
            metrics["runs"][name]["direct"] = direct_summary(metrics["runs"][name], direct[name], direct_attrs[name], hm)
    has_val = len(hist["val_indices"]) > 0
    ssim = validation_ssim(model, data["spins"], hist["val_indices"], device) if has_val else np.array([np.nan])
    metrics["reconstruction_ssim"] = {"n": int(len(hist["val_indices"])), "mean": float(np.mean(ssim)),
                                      "std": float(np.std(ssim))}

    k = min(n_show, len(data["spins"]))
    figs = {}
    for key, name, states in (("dataset_samples", "X_IN", data["spins"]), ("vae_samples", "X_VAE", x_vae),
                              ("relaxed_samples", "X'_VAE", x_rel)):
        shown = states[:k]
        figs[key] = plot_spin_grid(shown, titles=_titles(shown, hm), suptitle=f"{name} (first {len(shown)})")

    n_hist = min(100, len(data["spins"]))  # the paper's Fig. 3c uses 100 states per set
    dens = {"X_IN": energy_density(data["spins"][:n_hist], hm), "X_VAE": energy_density(x_vae[:n_hist], hm),
            "X'_VAE": energy_density(x_rel[:n_hist], hm)}
    figs["energy_histograms"] = plot_energy_histograms(dens, threshold=nodal_threshold)

    # the X_VAE states with most nodal points, next to the same codes after relaxation
    n_nodal = nodal_points(dens["X_VAE"], nodal_threshold).sum(axis=(-2, -1))
    pick = np.argsort(-n_nodal, kind="stable")[: min(3, len(n_nodal))]
    pair = np.concatenate([x_vae[pick], x_rel[pick]])
    pair_dens = energy_density(pair, hm)
    titles = [f"X_VAE #{i}" for i in pick] + [f"X'_VAE #{i}" for i in pick]
    pair_nodal = nodal_points(pair_dens, nodal_threshold)
    figs["energy_density_maps"] = plot_energy_density_maps(pair, pair_dens, pair_nodal, titles=titles)
    figs["training_curves"] = plot_training_curves(hist)
    traces = {name: (d["objective"], objective_label({**_settings(run_attrs[name]), **run_attrs[name]}))
              for name, d in run_data.items()}
    figs["optimizer_traces"] = (plot_optimizer_traces(traces) if traces
                                else placeholder("no optimization runs"))
    marked = {name: (float(topological_charge(d["best_spins"])), float(magnetization_z(d["best_spins"])))
              for name, d in run_data.items()}
    figs["w_vs_mz"] = plot_w_vs_mz(data["W"], data["Mz"], marked)
    figs["baseline_comparison"] = baseline_figure(run_data, run_attrs, direct, metrics["runs"], hm)
    return metrics, figs


def baseline_figure(run_data: dict, run_attrs: dict, direct: dict, summaries: dict, model: ChiralMagnet) -> Figure:
    """Latent vs direct search per run with a direct search (:func:`~latentopt.plots.spins.plot_baseline_comparison`).

    Traces are best-so-far values against objective evaluations (a latent iteration's ``m``
    states count ``m``); the states are the polished ones of a ``polish`` run, else the best
    found, and a ``polish`` run's polished values are dashed lines. An energy run with a
    single-q reference (``single_q_energy``, every polished run) shows the excess over it on
    a log axis (``E - E_single-q``, J per spin, floored at ``GAP_FLOOR``): the searches
    differ in the third decimal, invisible on the energy's own scale. W is drawn on a
    symmetric-log axis: a direct W search climbs to lattice-scale values (hundreds) that
    would flatten the latent run's few skyrmions. Each title gives both searches' best
    values, before and after polishing, and the winner of each.
    """
    from latentopt.optimizers.direct import STATES_PER_ITERATION
    from latentopt.plots.common import placeholder
    from latentopt.plots.spins import plot_baseline_comparison

    rows = []
    for name, d in direct.items():
        attrs, r = {**_settings(run_attrs[name]), **run_attrs[name]}, summaries[name]
        per = int(attrs[STATES_PER_ITERATION[attrs["algorithm"]]])
        sign = 1.0 if r["direction"] == "max" else -1.0
        latent_trace = run_data[name]["objective"]
        polished = "polished_spins" in d and "polished_spins" in run_data[name]
        key, what = ("polished_spins", "polished") if polished else ("best_spins", "best")
        states = (run_data[name][key], d[key])
        titles = [f"{who} {what}\nW={_charge_label(topological_charge(st))}, "
                  f"e={float(energy_density(st, model).mean()):.4f}" for who, st in zip(("latent", "direct"), states)]
        latent = (per * np.arange(1, len(latent_trace) + 1), _best_so_far(latent_trace, sign))
        direct_trace = (np.asarray(d["evaluations"]), np.asarray(d["best_so_far"], dtype=np.float64))
        ylabel, yscale, shift = objective_label(attrs), "linear", None
        if attrs["objective"] == "energy" and "single_q_energy" in r:
            shift = float(r["single_q_energy"])
            note = _scored_after(attrs)
            ylabel, yscale = "e \u2212 e(single-q), J/spin" + (f"\n({note})" if note else ""), "log"
        elif attrs["objective"] == "W":
            yscale = "symlog"
        dpol = r["direct"].get("polished_value")
        polished_values = (r["polished_value"], dpol) if polished and dpol is not None else None
        if shift is not None:
            latent, direct_trace = ((x, _gap(y, shift)) for x, y in (latent, direct_trace))
            polished_values = None if polished_values is None else tuple(_gap(v, shift) for v in polished_values)
        rows.append(dict(run=name, ylabel=ylabel, latent=latent, direct=direct_trace, states=states, titles=titles,
                         verdict=_trace_verdict(attrs["objective"], r), yscale=yscale, polished=polished_values))
    return plot_baseline_comparison(rows) if rows else placeholder("no direct searches (baseline.enabled: false)")
