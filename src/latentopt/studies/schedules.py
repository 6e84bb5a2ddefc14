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
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from latentopt.families import sample_training_set
from latentopt.images import make_images, train_subset
from latentopt.latent import make_grid
from latentopt.manifold import (
    accuracy,
    class_manifolds,
    cluster_manifolds,
    kmeans_clusters,
    manifold_objective,
    montage,
)
from latentopt.models.jrvae import JointVAE
from latentopt.optimizers.bayes import (
    BatchProposal,
    gp_posterior,
    make_gp,
    propose_batch,
    random_pool,
    random_search_pool,
    round_sizes,
    unit_box,
)
from latentopt.trainers.jrvae import encode_images, temperature_schedule, train_jrvae
from latentopt.trainers.trajectory_vae import decode_trajectories, encode_trajectories

__all__ = ["FINAL_MODELS", "evaluate_model", "evaluate_schedule", "final_model", "gather_run", "gp_surface",
           "make_dataset", "model_hparams", "propose_round", "random_pool_indices", "sample_schedules",
           "schedule_grid", "study_metrics"]

#: the four final models (Biswas et al. 2023, Figs. 7, 9, 11-12)
FINAL_MODELS = ("vanilla", "jrvae_constant", "jrvae_scaled", "jrvae_zbo")

_MODEL_KEYS = ("content_dim", "discrete_dim", "translation", "hidden", "decoder", "likelihood", "sigma", "discrete",
               "angle_prior", "dx_prior")


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
    z_train = encode_trajectories(model, trajectories)
    lo, hi = (float(b) for b in bounds)
    spec = {"grid": int(latent["grid"]), "margin": float(latent.get("margin", 0.0)),
            "constraints": {"min": lo, "max": hi, "max_step": latent.get("max_step")}}
    return make_grid(z_train, lambda z: decode_trajectories(model, z), spec)


# ----------------------------------------------------------------------------------------------------------- BO
def _candidates(grid: Mapping) -> np.ndarray:
    ok = np.flatnonzero(np.asarray(grid["feasible"], dtype=bool))
    if len(ok) < 2:
        raise ValueError(f"only {len(ok)} feasible grid points; widen the bounds or the latent grid")
    return ok


def propose_round(grid: Mapping, observed_index: np.ndarray, observed_y: np.ndarray, round: int,
                  bo: Mapping) -> dict[str, np.ndarray]:
    """The grid points of BO round ``round`` from the evaluations of rounds ``< round``.

    A pure function of its inputs (:func:`latentopt.optimizers.bayes.propose_batch` over the
    feasible grid points), so rerunning with a larger ``bo["iterations"]`` reproduces the
    earlier rounds and only adds new ones. Round ``r >= 1`` proposes
    ``round_sizes(n_initial, iterations, q)[r]`` points.

    Parameters
    ----------
    grid : mapping
        :func:`schedule_grid` output (``z``, ``trajectories``, ``feasible``).
    observed_index : ndarray of int, shape (k,)
        *Grid* indices evaluated so far (all earlier rounds).
    observed_y : ndarray, shape (k,)
    round : int
    bo : mapping
        The ``bo`` block.

    Returns
    -------
    dict
        ``index (m,)`` grid indices (empty when skipped), ``z (m, 2)``, ``beta (m, N)``,
        ``skip ()`` bool, ``acquisition (m,)``, ``gain ()``, ``round ()``, ``kernel`` (str).

    Raises
    ------
    ValueError
        If ``round`` is past the last round of ``bo``, or an observed index is not feasible.
    """
    ok = _candidates(grid)
    sizes = round_sizes(bo["n_initial"], bo["iterations"], bo["q"])
    if not 0 <= int(round) < len(sizes):
        raise ValueError(f"round: expected 0 .. {len(sizes) - 1} for these bo settings, got {round}")
    pos = np.full(len(grid["feasible"]), -1)
    pos[ok] = np.arange(len(ok))
    obs = np.asarray(observed_index, dtype=np.int64).reshape(-1)
    if (pos[obs] < 0).any():
        raise ValueError("observed_index: contains infeasible grid points")
    prop: BatchProposal = propose_batch(
        grid["z"][ok], pos[obs], observed_y, int(round), q=sizes[int(round)], n_initial=bo["n_initial"],
        acquisition_function=bo.get("acquisition", "ei"), xi=bo.get("xi", 0.0), kappa=bo.get("kappa", 10.0),
        tol=bo.get("tol", 0.0), strategy=bo.get("strategy", "constant_liar"), liar=bo.get("liar", "min"),
        n_restarts=bo.get("n_restarts", 2), seed=bo.get("seed", 0))
    index = ok[prop.index]
    return {"index": index, "z": np.asarray(grid["z"])[index], "beta": np.asarray(grid["trajectories"])[index],
            "skip": np.bool_(prop.skip), "acquisition": prop.acquisition, "gain": np.float64(prop.gain),
            "round": np.int64(round), "kernel": prop.kernel}


def random_pool_indices(grid: Mapping, bo: Mapping) -> np.ndarray:
    """Grid indices of the random-search pool (:func:`latentopt.optimizers.bayes.random_pool`).

    The first ``n_initial`` are BO's round 0 (shared evaluations); the other
    ``random_pool - n_initial`` need their own evaluations. ``random_pool`` defaults to the
    full budget ``n_initial + iterations``.
    """
    ok = _candidates(grid)
    budget = int(bo["n_initial"]) + int(bo["iterations"])
    size = int(bo.get("random_pool") or budget)
    return ok[random_pool(len(ok), size, int(bo["n_initial"]), bo.get("seed", 0))]


# --------------------------------------------------------------------------------------------------- evaluation
def model_hparams(jrvae: Mapping) -> dict:
    """The :class:`JointVAE` keyword arguments in a ``jrvae`` block."""
    return {k: (tuple(v) if k == "hidden" else v) for k, v in jrvae.items() if k in _MODEL_KEYS}


def _temperature(jrvae: Mapping, epochs: int) -> np.ndarray:
    tau = jrvae.get("temperature", (1.0, 0.5))
    if np.ndim(tau) == 0:
        return np.full(epochs, float(tau))
    start, end = tau
    return temperature_schedule(epochs, float(start), float(end))


def evaluate_model(model: JointVAE, images: np.ndarray, labels: np.ndarray, objective: Mapping) -> dict:
    """Objective parts, class accuracy and manifolds of a trained model (Table 2).

    jrVAE: class manifolds at angle 0 (:func:`latentopt.manifold.class_manifolds`), accuracy
    of ``argmax q(c|x)``. Vanilla VAE (no discrete latent): k-means with ``K`` = number of
    labels on the latent means, manifolds over each cluster's box. The vanilla VAE's
    objective is therefore *not comparable* with a jrVAE's: its "class manifolds" are
    disjoint regions of one latent space, which differ (high ``l1``) whether or not the
    clusters match the classes; compare the models by accuracy.

    Returns
    -------
    dict
        ``l1``, ``l2``, ``objective``, ``accuracy`` (floats); ``montages (K, G H, G W)``
        float32; ``assigned (n,)`` cluster per image.
    """
    G, qt = int(objective.get("grid", 8)), float(objective.get("quantile", 0.05))
    enc = encode_images(model, images)
    if model.discrete_dim:
        assigned = enc["classes"]
        tiles = class_manifolds(model, G, qt)
    else:
        K = len(np.unique(labels))
        assigned = kmeans_clusters(enc["content"], K, int(objective.get("seed", 0)))
        tiles = cluster_manifolds(model, enc["content"], assigned, G, qt)
    parts = manifold_objective(tiles, float(objective.get("weight", 0.0)), int(objective.get("pairs", 20)),
                               int(objective.get("seed", 0)))
    return {**parts, "accuracy": accuracy(assigned, labels),
            "montages": np.stack([montage(t) for t in tiles]).astype(np.float32), "assigned": assigned}


def evaluate_schedule(images: np.ndarray, labels: np.ndarray, beta_c: np.ndarray, jrvae: Mapping,
                      objective: Mapping, device: str | torch.device = "cpu", checkpoint=None) -> dict:
    """One zBO evaluation (Table 2): train a jrVAE with the schedule ``beta_c``, score its manifolds.

    Parameters
    ----------
    images : ndarray, shape (n, H, W)
        The BO training subset.
    labels : ndarray, shape (n,)
        True labels (for the accuracy only; training is unsupervised).
    beta_c : ndarray, shape (N,)
        Decoded beta_c trajectory, ``N = jrvae["epochs"]``.
    jrvae, objective : mapping
        Config blocks (module docstring).
    device, checkpoint
        See :func:`latentopt.trainers.jrvae.train_jrvae`.

    Returns
    -------
    dict
        :func:`evaluate_model`'s entries plus ``beta (N,)``, ``seconds`` (training wall
        time) and the per-epoch history ``history_<key> (N,)``.

    Raises
    ------
    ValueError
        If ``len(beta_c) != jrvae["epochs"]``.
    """
    beta = np.asarray(beta_c, dtype=np.float64).reshape(-1)
    N = int(jrvae["epochs"])
    if len(beta) != N:
        raise ValueError(f"beta_c: expected N = jrvae.epochs = {N} values, got {len(beta)}")
    t0 = time.perf_counter()
    model, history = _train(images, beta, jrvae, device, checkpoint)
    seconds = time.perf_counter() - t0
    out = evaluate_model(model, images, labels, objective)
    out.update(beta=beta, seconds=float(seconds), **{f"history_{k}": v for k, v in history.items()})
    return out


def _train(images, beta_c, jrvae: Mapping, device, checkpoint, vanilla: bool = False):
    N = int(jrvae["epochs"])
    hp = model_hparams(jrvae)
    if vanilla:
        hp.update(discrete_dim=0, rotation=False, translation=False, content_dim=2)
    return train_jrvae(images, beta_c, 0.0 if vanilla else jrvae.get("beta_d", 3.0), model=hp, epochs=N,
                       temperature=_temperature(jrvae, N), batch_size=int(jrvae.get("batch_size", 16)),
                       lr=float(jrvae.get("lr", 2e-3)), seed=int(jrvae.get("seed", 0)), device=device,
                       checkpoint=checkpoint)


# ------------------------------------------------------------------------------------------------------- gather
def gp_surface(grid: Mapping, index: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """GP posterior mean and std on every grid point, fitted to the evaluations (the paper's Figs. 6, 8, 10 maps).

    Same surrogate and input scaling as the proposals (feasible points' bounding box);
    values at infeasible points are extrapolations (mask them with ``grid["feasible"]``).
    """
    ok = _candidates(grid)
    scale = unit_box(np.asarray(grid["z"])[ok])
    gp = make_gp(np.shape(grid["z"])[1], seed)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(scale(np.asarray(grid["z"])[np.asarray(index)]), np.asarray(y, dtype=np.float64))
    return gp_posterior(gp, scale(grid["z"]))


def gather_run(grid: Mapping, rounds: Sequence[Mapping], evaluations: Sequence[Sequence[Mapping]],
               pool_index: np.ndarray, pool_y: np.ndarray, bo: Mapping) -> tuple[dict[str, np.ndarray], dict]:
    """The ``bo/<run>.h5`` arrays of a run.

    Parameters
    ----------
    grid : mapping
        :func:`schedule_grid` output.
    rounds : sequence of mappings
        :func:`propose_round` outputs, in round order.
    evaluations : sequence of sequences of mappings
        ``evaluations[r][s]``: the :func:`evaluate_schedule` output of slot ``s`` of round
        ``r`` (``objective``, ``accuracy``; slots of skipped rounds are absent).
    pool_index, pool_y : ndarray, shape (P,)
        Random-search pool (:func:`random_pool_indices`) and its objective values.
    bo : mapping

    Returns
    -------
    datasets : dict
        ``z (k, 2)``, ``y (k,)``, ``beta (k, N)``, ``accuracy (k,)``, ``round (k,)``,
        ``best_index ()`` (position in the evaluation order), ``random_best (seeds, k)``;
        extras ``index (k,)`` grid indices, ``l1 (k,)``, ``l2 (k,)``, ``best_so_far (k,)``,
        ``gp_mean``, ``gp_std`` (G^2,), ``skipped_rounds (r,)``, ``gain (rounds,)``.
    info : dict
        ``evaluations``, ``best_y``, ``random_median``, ``stopped_early``, ``kernel``.
    """
    idx, y, acc, rnd, l1, l2 = [], [], [], [], [], []
    skipped, gains = [], []
    for r, (prop, evs) in enumerate(zip(rounds, evaluations)):
        gains.append(float(prop["gain"]))
        if bool(prop["skip"]):
            skipped.append(r)
            continue
        if len(evs) != len(prop["index"]):
            raise ValueError(f"round {r}: {len(prop['index'])} proposals but {len(evs)} evaluations")
        for g, ev in zip(prop["index"], evs):
            idx.append(int(g)), y.append(float(ev["objective"])), acc.append(float(ev["accuracy"]))
            rnd.append(r), l1.append(float(ev["l1"])), l2.append(float(ev["l2"]))
    index, y = np.asarray(idx, dtype=np.int64), np.asarray(y)
    if len(index) < 2:
        raise ValueError("gather_run: fewer than 2 evaluations")
    best = int(np.argmax(y))
    budget = len(y)
    pool_y = np.asarray(pool_y, dtype=np.float64)
    rand = random_search_pool(pool_y, min(budget, len(pool_y)), int(bo.get("random_seeds", 20)), bo.get("seed", 0))
    gp_mean, gp_std = gp_surface(grid, index, y, bo.get("seed", 0))
    data = dict(z=np.asarray(grid["z"])[index], y=y, beta=np.asarray(grid["trajectories"])[index],
                accuracy=np.asarray(acc), round=np.asarray(rnd, dtype=np.int64), best_index=np.int64(best),
                random_best=rand, index=index, l1=np.asarray(l1), l2=np.asarray(l2),
                best_so_far=np.maximum.accumulate(y), gp_mean=gp_mean, gp_std=gp_std,
                skipped_rounds=np.asarray(skipped, dtype=np.int64), gain=np.asarray(gains),
                pool_index=np.asarray(pool_index, dtype=np.int64), pool_y=pool_y)
    info = {"evaluations": budget, "best_y": float(y[best]), "best_accuracy": float(acc[best]),
            "random_median": float(np.median(rand[:, -1])) if len(rand) else None,
            "stopped_early": bool(skipped), "random_pool": len(pool_y)}
    return data, info


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
        :func:`evaluate_model`'s entries plus ``beta (N,)`` and ``seconds``.
    """
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
    t0 = time.perf_counter()
    model, _ = _train(images, beta, jrvae, device, checkpoint, vanilla=kind == "vanilla")
    seconds = time.perf_counter() - t0
    out = evaluate_model(model, images, labels, objective)
    out.update(beta=beta, seconds=float(seconds))
    return model, out


def study_metrics(models: Mapping[str, Mapping], runs: Mapping[str, Mapping]) -> dict:
    """The ``metrics.json`` content: ``models: {name: {objective, accuracy, l1, l2}}`` and ``runs: {run: info}``.

    ``runs[run]`` is :func:`gather_run`'s ``info`` (``best_y``, ``random_median``,
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
