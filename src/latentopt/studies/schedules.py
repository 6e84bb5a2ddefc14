"""The steps of a KL-schedule study (``kind: schedules``), one function per workflow rule.

Biswas et al. 2023 (zBO of a jrVAE's beta_c(i) trajectory; Table 1 the algorithm, Table 2
the SSIM objective): image data set -> beta_c training trajectories from families ->
trajectory VAE (existing) -> decoded, feasibility-filtered latent grid (existing
:func:`latentopt.latent.make_grid`) -> BO rounds, each a batch of q points proposed from
the evaluations of the earlier rounds -> one jrVAE training per evaluation (its own job)
-> gathered run + random-search baseline -> final models on the full set -> metrics.

Each function takes validated config blocks and arrays and returns the arrays of its
output file. Block names used here (the lead's schema is the truth):

- ``data``: :func:`latentopt.images.make_images` keys plus ``train_subset``;
- ``jrvae``: ``epochs`` (= N), the :class:`~latentopt.models.jrvae.JointVAE` keys
  (``discrete_dim``, ``content_dim``, ``translation``, ``hidden``, ``decoder``,
  ``likelihood``, ``sigma``, ``discrete``, ``angle_prior``), ``beta_d``,
  ``temperature: [start, end]``, ``batch_size``, ``lr``, ``seed``;
- ``objective``: ``grid`` (G), ``quantile``, ``weight`` (w), ``pairs`` (I), ``seed``;
- ``bo``: ``n_initial``, ``iterations``, ``q``, ``acquisition``, ``xi``, ``kappa``, ``tol``,
  ``strategy``, ``liar``, ``n_restarts``, ``random_seeds``, ``random_pool``, ``seed``;
- ``final``: ``scaled_beta_c``.

The BO rounds over the grid are :mod:`latentopt.optimizers.bayes.rounds`, one evaluation
(train a jrVAE with a schedule and score it) is :mod:`latentopt.schedule_objective`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from latentopt.io import read_h5
from latentopt.studies.hooks.schedules import FINAL_MODELS  # the four final models (Figs. 7, 9, 11-12)
from latentopt.tables import Heading, Paragraph, Table

if TYPE_CHECKING:  # annotations only: each step imports torch and the models it needs when it runs,
    import torch  # so that a job proposing or gathering BO rounds does not load them

    from latentopt.models.jrvae import JointVAE

__all__ = ["FINAL_MODELS", "final_model", "make_dataset", "sample_schedules", "schedule_grid", "study_metrics"]


# --------------------------------------------------------------------------------------------------------- data
def make_dataset(data: Mapping, seed: int) -> dict[str, np.ndarray]:
    """The image set and the subset every BO evaluation trains on (paper Sec. 3).

    Parameters
    ----------
    data : mapping
        ``name`` (``digits`` | ``particles``), that generator's keywords, and
        ``train_subset`` (images per BO evaluation; absent: all).
    seed : int

    Returns
    -------
    dict
        ``images (n, H, W)`` float32, ``labels (n,)``, ``angles (n,)`` degrees,
        ``train_index (m,)`` sorted indices of the stratified BO subset.
    """
    from latentopt.images import make_images, train_subset

    spec = dict(data)
    m = spec.pop("train_subset", None)
    out = make_images(spec, seed)
    n = len(out["labels"])
    out["train_index"] = train_subset(out["labels"], n if m is None else int(m), seed)
    return out


def sample_schedules(families: Mapping[str, Mapping], n: int, epochs: int, bounds: Sequence[float],
                     seed: int) -> dict:
    """beta_c training trajectories ``(n, N)`` from families (Table 1 step 1), checked against the bounds.

    Returns :func:`latentopt.families.sample_training_set`'s dict.

    Raises
    ------
    ValueError
        If ``bounds`` is not ``low < high`` with ``low > 0`` (Table 1 step 4: beta_c > 0), or
        a training trajectory leaves ``bounds`` (the families' ranges must lie inside them).
    """
    from latentopt.families import sample_training_set

    lo, hi = (float(b) for b in bounds)
    if not 0 < lo < hi:
        raise ValueError(f"bounds: expected 0 < low < high, got {list(bounds)}")
    out = sample_training_set(families, int(n), int(epochs), seed)
    x = out["trajectories"]
    if (x < lo).any() or (x > hi).any():
        raise ValueError(f"families: training trajectories span [{x.min():.4g}, {x.max():.4g}], outside bounds "
                         f"[{lo}, {hi}]; set the families' ranges within the bounds")
    return out


def schedule_grid(model, trajectories: np.ndarray, latent: Mapping, bounds: Sequence[float]) -> dict[str, np.ndarray]:
    """Decoded latent grid of the trajectory VAE, feasible where ``low <= beta_c(i) <= high`` for all i.

    ``latent`` holds ``grid`` and ``margin`` (:func:`latentopt.latent.make_grid`); the
    constraints are the bounds (Table 1 step 4). Returns :func:`make_grid`'s dict.
    """
    from latentopt.latent import make_grid
    from latentopt.trainers.trajectory_vae import decode_trajectories, encode_trajectories

    z_train = encode_trajectories(model, trajectories)
    lo, hi = (float(b) for b in bounds)
    spec = {"grid": int(latent["grid"]), "margin": float(latent.get("margin", 0.0)),
            "constraints": {"min": lo, "max": hi, "max_step": latent.get("max_step")}}
    return make_grid(z_train, lambda z: decode_trajectories(model, z), spec)


# ----------------------------------------------------------------------------------------------------------- BO
# the rounds: latentopt.optimizers.bayes.rounds; one evaluation: latentopt.schedule_objective
def round_sizes_of(bo: Mapping) -> list[int]:
    """Evaluations per round of a BO run block: ``[n_initial, q, ..., q]`` (:func:`round_sizes`)."""
    from latentopt.optimizers.bayes import round_sizes

    return round_sizes(bo["n_initial"], bo["iterations"], bo["q"])


# ------------------------------------------------------------------------------------------------ final models
def final_model(kind: str, images: np.ndarray, labels: np.ndarray, jrvae: Mapping, objective: Mapping,
                final: Mapping, best_beta: np.ndarray | None = None, device: str | torch.device = "cpu",
                checkpoint=None) -> tuple[JointVAE, dict]:
    """Train one of :data:`FINAL_MODELS` on the full set for ``N`` epochs and score it.

    - ``vanilla``: the vanilla VAE (2 latents, no rotation, no classes), beta = 1;
    - ``jrvae_constant``: beta_c(i) = 1;
    - ``jrvae_scaled``: beta_c(i) = ``final["scaled_beta_c"]`` (the paper's 0.01);
    - ``jrvae_zbo``: the zBO-best trajectory ``best_beta``.

    jrVAEs use ``beta_d`` of the ``jrvae`` block.

    Returns
    -------
    model : JointVAE
    result : dict
        :func:`latentopt.schedule_objective.evaluate_model`'s entries plus ``beta (N,)`` and
        ``seconds``.
    """
    from latentopt.device import torch_threads
    from latentopt.schedule_objective import evaluate_model, train_with_schedule

    if kind not in FINAL_MODELS:
        raise ValueError(f"kind: expected one of {FINAL_MODELS}, got {kind!r}")
    N = int(jrvae["epochs"])
    if kind == "jrvae_zbo":
        if best_beta is None or len(np.ravel(best_beta)) != N:
            raise ValueError(f"best_beta: expected the zBO-best trajectory of length N = {N}")
        beta = np.asarray(best_beta, dtype=np.float64).reshape(-1)
    else:
        value = {"vanilla": 1.0, "jrvae_constant": 1.0,
                 "jrvae_scaled": float(final.get("scaled_beta_c", 0.01))}[kind]
        beta = np.full(N, value)
    with torch_threads(1):
        t0 = time.perf_counter()
        model, _ = train_with_schedule(images, beta, jrvae, device, checkpoint, vanilla=kind == "vanilla")
        seconds = time.perf_counter() - t0
        out = evaluate_model(model, images, labels, objective)
    out.update(beta=beta, seconds=float(seconds))
    return model, out


def study_metrics(models: Mapping[str, Mapping], runs: Mapping[str, Mapping]) -> dict:
    """The ``metrics.json`` content: ``models: {name: {objective, accuracy, l1, l2}}`` and ``runs: {run: info}``.

    ``runs[run]`` is :func:`latentopt.optimizers.bayes.rounds.gather_run`'s ``info`` (``best_y``, ``random_median``,
    ``evaluations``, ...). Also ``done_when``: zBO best >= random median for every run, and
    the zBO jrVAE's accuracy >= the constant-beta jrVAE's and > the vanilla VAE's.
    """
    out = {"models": {k: {"objective": float(v["objective"]), "accuracy": float(v["accuracy"]),
                          "l1": float(v["l1"]), "l2": float(v["l2"])} for k, v in models.items()},
           "runs": {k: dict(v) for k, v in runs.items()}}
    m = out["models"]
    checks = {}
    if runs:
        checks["zbo_beats_random_median"] = all(
            v.get("random_median") is None or v["best_y"] >= v["random_median"] for v in runs.values())
    if {"jrvae_zbo", "jrvae_constant", "vanilla"} <= m.keys():
        checks["zbo_accuracy_ge_constant"] = m["jrvae_zbo"]["accuracy"] >= m["jrvae_constant"]["accuracy"]
        checks["zbo_accuracy_gt_vanilla"] = m["jrvae_zbo"]["accuracy"] > m["vanilla"]["accuracy"]
    out["done_when"] = checks
    return out


# ================================================================================ one function per workflow rule
# (file level: read the rule's inputs, return what its outputs hold; the scripts in
# workflow/scripts/schedules/ only write them)
def images(data: Mapping) -> tuple[dict[str, np.ndarray], dict]:
    """Rule ``schedules_images``: the image set of the ``data`` block (``results/<study>/data/images.h5``).

    Returns
    -------
    datasets : dict
        ``images (n, H, W)`` float32 in [0, 1], ``labels (n,)``, ``angles (n,)`` degrees,
        ``train_index (m,)`` the class-stratified subset each BO evaluation trains on.
    attrs : dict
        ``data`` (the block).
    """
    spec = {k: v for k, v in data.items() if k != "seed"}
    out = make_dataset(spec, int(data["seed"]))
    return out, {"data": dict(data)}


def trajectories(block: Mapping, latent: Mapping) -> tuple[dict[str, np.ndarray], dict]:
    """Rule ``schedules_families``: beta_c training trajectories ``(n, N)`` (``trajectories/train.h5``).

    The bounds are ``latent.constraints`` (``min``, ``max``); the file has the layout of a
    trajectory study's ``train.h5`` (``trajectories``, ``params``, ``family``, ``t``).
    """
    bounds = (latent["constraints"]["min"], latent["constraints"]["max"])
    out = sample_schedules(block["families"], block["n"], block["steps"], bounds, block["seed"])
    datasets = {"trajectories": out["trajectories"].astype(np.float32), "params": out["params"],
                "family": out["family"], "t": np.linspace(0.0, 1.0, int(block["steps"]))}
    return datasets, {"trajectories": dict(block), "families": out["names"], "parameters": out["parameters"],
                      "bounds": list(bounds)}


def train_schedule_vae(trajectories: np.ndarray, vae: Mapping, *, device: str | torch.device = "cpu",
                       checkpoint=None, progress: bool = False):
    """Rule ``schedules_train``: the trajectory VAE of the beta_c trajectories (Table 1 step 2)."""
    from latentopt.trainers.trajectory_vae import train_trajectory_vae

    return train_trajectory_vae(np.asarray(trajectories), device=device, checkpoint=checkpoint, progress=progress,
                                **vae)


def grid(model: str | Path, trajectories: np.ndarray, latent: Mapping,
         device: str | torch.device = "cpu") -> dict[str, np.ndarray]:
    """Rule ``schedules_grid``: the decoded latent grid, feasible where ``min <= beta_c(i) <= max`` for all i."""
    from latentopt.models.trajectory_vae import TrajectoryVAE
    from latentopt.models.vae import load_model

    vae = load_model(model, device=device, cls=TrajectoryVAE)
    c = latent["constraints"]
    return schedule_grid(vae, trajectories, {**latent, "max_step": c.get("max_step")}, (c["min"], c["max"]))


def read_evaluations(paths: Sequence[str | Path]) -> list[dict]:
    """The evaluation files (``bo/<run>/r<r>/e<j>.h5``) in the given order."""
    keys = ["index", "skipped", "objective", "l1", "l2", "accuracy"]
    return [read_h5(p, keys) for p in paths]


def propose(grid_path: str | Path, earlier: Sequence[str | Path], round: int, run: Mapping) -> dict[str, np.ndarray]:
    """Rule ``schedules_propose``: BO round ``round`` from the evaluations of the earlier rounds (``bo/<run>/round<r>.h5``).

    Parameters
    ----------
    grid_path : path
        ``latent/grid.h5``.
    earlier : sequence of path
        The evaluation files of rounds ``0 .. round - 1``.
    round : int
    run : mapping
        The ``optimize.<run>`` block.

    Returns
    -------
    dict
        :func:`latentopt.optimizers.bayes.rounds.propose_round`'s arrays (``index``, ``z``,
        ``beta``, ``skip``, ``acquisition``, ``gain``, ``round``, ``kernel``).
    """
    from latentopt.optimizers.bayes.rounds import propose_round

    g = read_h5(grid_path, ["z", "trajectories", "feasible"])
    evs = [e for e in read_evaluations(earlier) if not bool(e["skipped"])]
    index = np.array([int(e["index"]) for e in evs], dtype=np.int64)
    y = np.array([float(e["objective"]) for e in evs])
    return propose_round(g, index, y, int(round), run)


def _evaluation(index: int, z: np.ndarray, beta: np.ndarray, images_path, jrvae, objective, device,
                checkpoint) -> dict[str, np.ndarray]:
    from latentopt.schedule_objective import evaluate_schedule

    data = read_h5(images_path, ["images", "labels", "train_index"])
    sub = np.asarray(data["train_index"])
    ev = evaluate_schedule(data["images"][sub], data["labels"][sub], beta, jrvae, objective, device, checkpoint)
    out = {k: v for k, v in ev.items() if k != "assigned"}
    out.update(index=np.int64(index), skipped=np.bool_(False), z=np.asarray(z, dtype=np.float64))
    return out


def _skipped(N: int) -> dict[str, np.ndarray]:
    return {"index": np.int64(-1), "skipped": np.bool_(True), "objective": np.float64(np.nan),
            "l1": np.float64(np.nan), "l2": np.float64(np.nan), "accuracy": np.float64(np.nan),
            "beta": np.full(N, np.nan), "z": np.full(2, np.nan)}


def evaluate_slot(round_path: str | Path, slot: int, images_path: str | Path, jrvae: Mapping, objective: Mapping,
                  *, device: str | torch.device = "cpu", checkpoint=None) -> dict[str, np.ndarray]:
    """Rule ``schedules_score``: one BO evaluation, a jrVAE trained with the schedule of slot ``slot`` of a round.

    Of a skipped round (early stop) the record only says so (``skipped``, ``index = -1``,
    NaN values): no training runs.

    Returns
    -------
    dict
        ``index ()`` grid index, ``skipped ()``, ``z (2,)``, ``beta (N,)``, ``objective``,
        ``l1``, ``l2``, ``accuracy``, ``montages (D_c, G H, G W)``, ``seconds``,
        ``history_<key> (N,)``.
    """
    prop = read_h5(round_path, ["index", "z", "beta", "skip"])
    if bool(prop["skip"]):
        return _skipped(int(jrvae["epochs"]))
    if not 0 <= int(slot) < len(prop["index"]):
        raise ValueError(f"{round_path}: slot {slot} of a round of {len(prop['index'])} proposals")
    return _evaluation(int(prop["index"][slot]), prop["z"][slot], prop["beta"][slot], images_path, jrvae, objective,
                       device, checkpoint)


def evaluate_pool_point(grid_path: str | Path, point: int, images_path: str | Path, run: Mapping, jrvae: Mapping,
                        objective: Mapping, *, device: str | torch.device = "cpu", checkpoint=None
                        ) -> dict[str, np.ndarray]:
    """Point ``point`` of the random-search pool (:func:`latentopt.optimizers.bayes.rounds.random_pool_indices`):
    a jrVAE trained with that grid point's schedule, scored like a BO evaluation (:func:`evaluate_slot`)."""
    from latentopt.optimizers.bayes.rounds import random_pool_indices

    g = read_h5(grid_path, ["z", "trajectories", "feasible"])
    pool = random_pool_indices(g, run, size=max(int(point) + 1, int(run["n_initial"])))
    if int(point) >= len(pool):
        raise ValueError(f"pool point {point}: the grid has only {len(pool)} feasible points")
    k = int(pool[int(point)])
    return _evaluation(k, g["z"][k], g["trajectories"][k], images_path, jrvae, objective, device, checkpoint)


def evaluate_pool_chunk(grid_path: str | Path, points: Sequence[int], images_path: str | Path, run: Mapping,
                        jrvae: Mapping, objective: Mapping, *, device: str | torch.device = "cpu",
                        checkpoint: str | None = None, log=None) -> dict[str, np.ndarray]:
    """Rule ``schedules_score_pool``: the pool points of one job
    (:func:`latentopt.studies.hooks.schedules.pool_chunks`), evaluated one after another.

    A job per few points rather than per point spares each evaluation the interpreter's and
    torch's start-up (about 40 % of a default evaluation's job on a 2-core laptop); the
    evaluations themselves are those of :func:`evaluate_pool_point`, bit for bit.

    Parameters
    ----------
    points : sequence of int
        Pool point numbers (at least ``n_initial``).
    checkpoint : str, optional
        A path with ``{point}`` in it: each point's training checkpoint, so that a killed job
        retrains none of its finished points.
    log : logging.Logger, optional
        Gets one line per point.

    Returns
    -------
    dict
        :func:`evaluate_pool_point`'s arrays stacked along a new first axis of length
        ``len(points)``, plus ``point (n,)``.

    Raises
    ------
    ValueError
        If ``points`` is empty or a point lies beyond the feasible grid.
    """
    if not len(points):
        raise ValueError("evaluate_pool_chunk: no points")
    evs = []
    for p in points:
        ev = evaluate_pool_point(grid_path, int(p), images_path, run, jrvae, objective, device=device,
                                 checkpoint=checkpoint.format(point=int(p)) if checkpoint else None)
        evs.append(ev)
        if log is not None:
            log.info("pool point %d = grid point %d: objective %.4f, class accuracy %.3f, %.1f s", int(p),
                     int(ev["index"]), float(ev["objective"]), float(ev["accuracy"]), float(ev["seconds"]))
    out = {k: np.stack([np.asarray(e[k]) for e in evs]) for k in evs[0]}
    out["point"] = np.asarray(points, dtype=np.int64)
    return out


def read_pool_evaluations(paths: Sequence[str | Path]) -> list[dict]:
    """The evaluations of the pool's job files (``bo/<run>/pool/c<chunk>.h5``), one dict per point, in order."""
    keys = ["index", "skipped", "objective", "l1", "l2", "accuracy"]
    evs = []
    for p in paths:
        d = read_h5(p, keys)
        evs += [{k: d[k][i] for k in keys} for i in range(len(d["index"]))]
    return evs


def gather(grid_path: str | Path, round_paths: Sequence[str | Path], evaluations: Sequence[Sequence[str | Path]],
           pool_paths: Sequence[str | Path], run: Mapping) -> tuple[dict[str, np.ndarray], dict]:
    """Rule ``schedules_optimize``: the ``bo/<run>.h5`` arrays and the run's summary
    (:func:`latentopt.optimizers.bayes.rounds.gather_run`).

    ``evaluations[r]`` lists the evaluation files of round ``r``; ``pool_paths`` the job files of
    the random pool's points past round 0 (``bo/<run>/pool/c<chunk>.h5``; the pool's first
    ``n_initial`` points are round 0's).
    """
    from latentopt.optimizers.bayes.rounds import gather_run, random_pool_indices

    g = read_h5(grid_path, ["z", "trajectories", "feasible"])
    rounds = [read_h5(p, ["index", "skip", "gain"]) for p in round_paths]
    evs = [[e for e in read_evaluations(paths) if not bool(e["skipped"])] for paths in evaluations]
    pool_index = random_pool_indices(g, run)
    round0 = evs[0]
    pool_evs = round0 + read_pool_evaluations(pool_paths)
    got = np.array([int(e["index"]) for e in pool_evs])
    if not np.array_equal(got, pool_index[:len(got)]):
        raise ValueError("gather: the random-pool evaluations do not match the pool's grid points")
    pool_y = np.array([float(e["objective"]) for e in pool_evs])
    return gather_run(g, rounds, evs, pool_index[:len(pool_y)], pool_y, run)


def best_schedule(run_paths: Sequence[str | Path]) -> tuple[np.ndarray, str, float]:
    """The zBO-best beta_c trajectory over the study's BO runs: ``(beta (N,), run file, objective)``."""
    best = None
    for p in run_paths:
        r = read_h5(p, ["y", "beta", "best_index"])
        k = int(r["best_index"])
        if best is None or r["y"][k] > best[2]:
            best = (np.asarray(r["beta"][k]), str(p), float(r["y"][k]))
    if best is None:
        raise ValueError("best_schedule: no BO run")
    return best


def final(kind: str, images_path: str | Path, run_paths: Sequence[str | Path], jrvae: Mapping, objective: Mapping,
          final_block: Mapping, *, device: str | torch.device = "cpu", checkpoint=None, repeat: int = 0):
    """Rules ``schedules_final`` and ``schedules_final_repeat``: one of :data:`FINAL_MODELS` trained on the
    full image set (:func:`final_model`), with the seed ``jrvae["seed"] + repeat``.

    Returns the model and the ``final/<kind>.h5`` arrays (objective parts, accuracy,
    montages, ``beta (N,)``, ``seconds``, ``assigned (n,)``).
    """
    data = read_h5(images_path, ["images", "labels"])
    best = best_schedule(run_paths)[0] if kind == "jrvae_zbo" else None
    settings = dict(jrvae, seed=int(jrvae.get("seed", 0)) + int(repeat))
    return final_model(kind, data["images"], data["labels"], settings, objective, final_block, best, device,
                       checkpoint)


def repeats_by_model(paths: Sequence[str | Path]) -> dict[str, list[str]]:
    """``final/repeats/<model>/r<k>.h5`` files grouped by model, in order of ``k``."""
    out: dict[str, list[tuple[int, str]]] = {}
    for p in paths:
        p = Path(p)
        out.setdefault(p.parent.name, []).append((int(p.stem[1:]), str(p)))
    return {m: [q for _, q in sorted(v)] for m, v in out.items()}


def seed_spread(values: Mapping[str, Sequence[Mapping]]) -> dict:
    """Mean and standard deviation over the trainings of each final model (``final.repeats``).

    Parameters
    ----------
    values : mapping
        Model name -> one ``{"objective", "accuracy"}`` mapping per training (seed order).

    Returns
    -------
    dict
        Model name -> ``n``, ``accuracy`` and ``objective`` (lists), ``accuracy_mean``,
        ``accuracy_sd``, ``objective_mean``, ``objective_sd`` (sample standard deviation,
        ``ddof = 1``; 0 for one training).
    """
    def sd(v: list[float]) -> float:
        return float(np.std(v, ddof=1)) if len(v) > 1 else 0.0

    out = {}
    for name, runs in values.items():
        acc = [float(r["accuracy"]) for r in runs]
        obj = [float(r["objective"]) for r in runs]
        out[name] = {"n": len(runs), "accuracy": acc, "objective": obj,
                     "accuracy_mean": float(np.mean(acc)), "accuracy_sd": sd(acc),
                     "objective_mean": float(np.mean(obj)), "objective_sd": sd(obj)}
    return out


def evaluate(*, images_path: str | Path, trajectories_path: str | Path, history_path: str | Path,
             grid_path: str | Path, runs: Mapping[str, str | Path], finals: Mapping[str, str | Path],
             latent: Mapping, n_show: int, repeats: Mapping[str, Sequence[str | Path]] | None = None
             ) -> tuple[dict, dict]:
    """Rule ``schedules_evaluate``: ``metrics.json`` (:func:`study_metrics`) and the study-level figures.

    ``repeats``: model name -> the ``final/repeats/<model>/r<k>.h5`` of its further seeds; with
    any, ``metrics["seeds"]`` holds :func:`seed_spread` over the first training and these.

    Figures: ``image_dataset``, ``schedule_families``, ``schedule_latent``, ``training_curves``
    (trajectory VAE), ``bo_convergence`` (zBO vs random search), ``model_manifolds`` (the
    four final models, Fig. 7 layout).
    """
    from latentopt.io import read_attrs
    from latentopt.plots.common import placeholder, plot_training_curves
    from latentopt.plots.schedules import (plot_best_so_far, plot_image_dataset, plot_model_manifolds,
                                           plot_schedule_families, plot_schedule_latent)

    imgs = read_h5(images_path, ["images", "labels", "angles"])
    traj = read_h5(trajectories_path, ["trajectories", "family"])
    names = read_attrs(trajectories_path)["families"]
    hist = read_h5(history_path)
    g = read_h5(grid_path)
    run_data = {name: read_h5(p) for name, p in runs.items()}
    run_info = {}
    for name, r in run_data.items():
        info = read_attrs(runs[name])
        run_info[name] = {k: info[k] for k in ("evaluations", "best_y", "best_accuracy", "random_median",
                                               "stopped_early", "random_pool") if k in info}
    model_data = {name: read_h5(p) for name, p in finals.items()}
    metrics = study_metrics({k: {"objective": float(v["objective"]), "accuracy": float(v["accuracy"]),
                                 "l1": float(v["l1"]), "l2": float(v["l2"])} for k, v in model_data.items()}, run_info)
    if repeats and any(repeats.values()):
        metrics["seeds"] = seed_spread({name: [metrics["models"][name]] + [
            {k: float(v) for k, v in read_h5(p, ["objective", "accuracy"]).items()} for p in repeats.get(name, [])]
            for name in metrics["models"]})
        spread = metrics["seeds"]
        if {"jrvae_zbo", "jrvae_constant", "vanilla"} <= spread.keys():
            metrics["done_when"]["mean_accuracy_zbo_gt_vanilla"] = (spread["jrvae_zbo"]["accuracy_mean"]
                                                                   > spread["vanilla"]["accuracy_mean"])
    metrics["images"] = {"n": int(len(imgs["labels"])), "size": int(imgs["images"].shape[-1]),
                         "labels": sorted(int(v) for v in np.unique(imgs["labels"]))}
    bounds = (latent["constraints"]["min"], latent["constraints"]["max"])
    figures = {
        "image_dataset": plot_image_dataset(imgs["images"], imgs["labels"], imgs["angles"], per_label=n_show),
        "schedule_families": plot_schedule_families(traj["trajectories"], traj["family"], names, bounds),
        "training_curves": plot_training_curves(hist),
        "bo_convergence": plot_best_so_far({n: {"y": r["y"], "random_best": r["random_best"]}
                                            for n, r in run_data.items()}),
        "model_manifolds": plot_model_manifolds(
            {name: {"montages": m["montages"], "objective": float(m["objective"]), "accuracy": float(m["accuracy"])}
             for name, m in model_data.items()}),
    }
    figures["schedule_latent"] = (plot_schedule_latent(g, traj["family"], names) if g["z"].shape[1] == 2 else
                                  placeholder(f"latent maps are drawn for latent_dim = 2 (here {g['z'].shape[1]})"))
    return metrics, figures


def run_figures(run_path: str | Path, grid_path: str | Path, latent: Mapping, run_name: str) -> dict:
    """Rule ``schedules_plot``: ``surfaces`` (GP mean and std with the evaluated points) and ``best``
    (the zBO-best beta_c trajectory) of one BO run."""
    from latentopt.plots.common import placeholder
    from latentopt.plots.schedules import plot_best_schedule, plot_gp_maps

    r = read_h5(run_path)
    g = read_h5(grid_path, ["z", "feasible", "axes"])
    if g["z"].shape[1] == 2:
        surfaces = plot_gp_maps(g, r["gp_mean"], r["gp_std"], r["z"], r["y"], r["round"])
    else:
        surfaces = placeholder(f"surfaces are drawn for latent_dim = 2 (here {g['z'].shape[1]})")
    k = int(r["best_index"])
    best = plot_best_schedule(r["beta"][k], (latent["constraints"]["min"], latent["constraints"]["max"]),
                              title=f"{run_name}: best objective {float(r['y'][k]):.4g}, class accuracy "
                                    f"{float(r['accuracy'][k]):.3f} (evaluation {k + 1} of {len(r['y'])})")
    return {"surfaces": surfaces, "best": best}


def metrics_table(metrics: Mapping, study: str) -> list:
    """The report's metrics table (:func:`latentopt.tables.html_page`): the final models and the BO runs."""
    def cell(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    models = [[n] + [cell(m[k]) for k in ("objective", "l1", "l2", "accuracy")] for n, m in metrics["models"].items()]
    seeds = metrics.get("seeds")
    if seeds:
        for row in models:
            s = seeds[row[0]]
            row += [f"{s['objective_mean']:.4g} ± {s['objective_sd']:.2g}",
                    f"{s['accuracy_mean']:.3f} ± {s['accuracy_sd']:.3f} ({' / '.join(f'{a:.2f}' for a in s['accuracy'])})"]
    run_cols = ["evaluations", "best_y", "best_accuracy", "random_median", "random_pool", "stopped_early"]
    runs = [[n] + [cell(r.get(c, "–")) for c in run_cols] for n, r in metrics["runs"].items()]
    checks = ", ".join(f"{k}: {v}" for k, v in metrics.get("done_when", {}).items())
    return [Heading(f"{study}: final models (trained on all {metrics['images']['n']} images)"),
            Table(["model", "objective (l1 - w l2)", "l1", "l2", "class accuracy"]
                  + ([f"objective, mean ± sd over {next(iter(seeds.values()))['n']} seeds",
                      "class accuracy, mean ± sd (per seed)"] if seeds else []), models),
            Heading("zBO runs vs random search at the same budget"), Table(["run"] + run_cols, runs),
            Paragraph(checks)]
