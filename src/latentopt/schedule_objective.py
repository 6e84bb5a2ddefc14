"""The zBO objective of a KL schedule: a jrVAE trained with ``beta_c(i)``, scored by its manifolds.

Biswas et al. 2023 (Table 2): each BO evaluation trains a joint rotationally invariant VAE
(:class:`latentopt.models.jrvae.JointVAE`) for ``N`` epochs with the continuous-latent KL
weight ``beta_c(i)`` of epoch ``i`` (:func:`train_with_schedule`), decodes one manifold per
class (or per k-means cluster for a vanilla VAE) and scores it: ``l1 - w l2``, the SSIM
dissimilarity between the class manifolds minus ``w`` times that within each manifold
(:func:`latentopt.manifold.manifold_objective`, Eq. 2), with the class accuracy alongside
(:func:`evaluate_model`). :func:`evaluate_schedule` is one such evaluation, on one torch
thread so that its value does not depend on the job's thread count.

The ``jrvae`` and ``objective`` mappings are the blocks of a schedules study
(``workflow/schemas/kinds/schedules.schema.yaml``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import torch

from latentopt.device import torch_threads
from latentopt.manifold import (accuracy, class_manifolds, cluster_manifolds, kmeans_clusters, manifold_objective,
                                montage)
from latentopt.models.jrvae import JointVAE
from latentopt.trainers.jrvae import encode_images, temperature_schedule, train_jrvae

__all__ = ["evaluate_model", "evaluate_schedule", "model_hparams", "train_with_schedule"]

_MODEL_KEYS = ("content_dim", "discrete_dim", "translation", "hidden", "decoder", "likelihood", "sigma", "discrete",
               "angle_prior", "dx_prior")


def model_hparams(jrvae: Mapping) -> dict:
    """The :class:`JointVAE` keyword arguments in a ``jrvae`` block."""
    return {k: (tuple(v) if k == "hidden" else v) for k, v in jrvae.items() if k in _MODEL_KEYS}


def _temperature(jrvae: Mapping, epochs: int) -> np.ndarray:
    """Gumbel-softmax temperature per epoch, ``(epochs,)``: ``jrvae["temperature"]`` constant or annealed."""
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

    Parameters
    ----------
    model : JointVAE
        Trained (:func:`train_with_schedule`).
    images : ndarray, shape (n, H, W)
    labels : ndarray, shape (n,)
        True labels (for the accuracy and, for the vanilla VAE, the number of clusters).
    objective : mapping
        ``grid`` (G, default 8), ``quantile`` (0.05), ``weight`` (w, 0), ``pairs`` (I, 20),
        ``seed`` (0): :func:`latentopt.manifold.manifold_objective`.

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

    Training and scoring run on one torch CPU thread (:func:`latentopt.device.torch_threads`),
    so an evaluation gives the same objective, bit for bit, in a local job and in a cluster
    job granted another thread count; the study uses its cores by running evaluations side
    by side.

    Parameters
    ----------
    images : ndarray, shape (n, H, W)
        The BO training subset.
    labels : ndarray, shape (n,)
        True labels (for the accuracy only; training is unsupervised).
    beta_c : ndarray, shape (N,)
        Decoded beta_c trajectory, ``N = jrvae["epochs"]``.
    jrvae : mapping
        See :func:`train_with_schedule`.
    objective : mapping
        See :func:`evaluate_model`.
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
    with torch_threads(1):  # the same objective whatever thread count the job was granted
        t0 = time.perf_counter()
        model, history = train_with_schedule(images, beta, jrvae, device, checkpoint)
        seconds = time.perf_counter() - t0
        out = evaluate_model(model, images, labels, objective)
    out.update(beta=beta, seconds=float(seconds), **{f"history_{k}": v for k, v in history.items()})
    return out


def train_with_schedule(images: np.ndarray, beta_c: np.ndarray, jrvae: Mapping, device: str | torch.device = "cpu",
                        checkpoint=None, vanilla: bool = False) -> tuple[JointVAE, dict]:
    """Train the model of a ``jrvae`` block for ``N = jrvae["epochs"]`` epochs with the KL schedule ``beta_c``.

    Parameters
    ----------
    images : ndarray, shape (n, H, W)
    beta_c : ndarray, shape (N,)
        Continuous-latent KL weight per epoch.
    jrvae : mapping
        ``epochs``, the :class:`JointVAE` keys (:func:`model_hparams`), ``beta_d`` (default 3),
        ``temperature`` (a float, or ``[start, end]`` of
        :func:`latentopt.trainers.jrvae.temperature_schedule`; default ``[1, 0.5]``),
        ``batch_size`` (16), ``lr`` (2e-3), ``seed`` (0).
    device, checkpoint
        See :func:`latentopt.trainers.jrvae.train_jrvae`.
    vanilla : bool
        Train the vanilla VAE instead: two continuous latents, no rotation, translation or
        classes, ``beta_d = 0``.

    Returns
    -------
    model : JointVAE
    history : dict
        :func:`~latentopt.trainers.jrvae.train_jrvae`'s per-epoch series.
    """
    N = int(jrvae["epochs"])
    hp = model_hparams(jrvae)
    if vanilla:
        hp.update(discrete_dim=0, rotation=False, translation=False, content_dim=2)
    return train_jrvae(images, beta_c, 0.0 if vanilla else jrvae.get("beta_d", 3.0), model=hp, epochs=N,
                       temperature=_temperature(jrvae, N), batch_size=int(jrvae.get("batch_size", 16)),
                       lr=float(jrvae.get("lr", 2e-3)), seed=int(jrvae.get("seed", 0)), device=device,
                       checkpoint=checkpoint)
