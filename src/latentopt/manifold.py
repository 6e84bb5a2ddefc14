"""Learned manifolds of a jrVAE, the SSIM objective (Biswas et al. 2023, Table 2) and class accuracy.

For every discrete class ``k`` the decoder maps a ``G x G`` grid of the two content
latents (angle 0, no shift) to a montage ``Phi_k`` (pyroVED's ``manifold2d``; the grid
runs over the prior quantiles ``q .. 1 - q`` of ``N(0, 1)``, pyroVED's 0.05 .. 0.95). The
objective of a trained model (Table 2, steps 2-4, Eq. 2) is::

    l1 = sum_{i < j} (1 - SSIM(Phi_i, Phi_j))                          (between classes)
    l2 = sum_k mean_{I random cell pairs (a, b)} (1 - SSIM(tile_a, tile_b))   (within a class)
    objective = l1 - w * l2                                             (maximized)

The paper uses ``w = 0`` for MNIST (Sec. 3) and ``w = 1`` for the nanoparticles
(Sec. 4). SSIM is :func:`skimage.metrics.structural_similarity` with ``data_range=1``
(decoded images are probabilities in ``[0, 1]``), its default 7 x 7 uniform window and
``K1 = 0.01``, ``K2 = 0.03``.

Class accuracy: the discrete latent's assignment ``argmax q(c|x)`` against the true
labels under the best one-to-one matching of clusters to labels (Hungarian algorithm,
:func:`scipy.optimize.linear_sum_assignment` on the confusion matrix); for the vanilla VAE
the clusters are k-means (scikit-learn) on its latent means, and its "class manifolds"
are the decoded grids over each cluster's box of latent means (quantiles ``q .. 1 - q``).
Those boxes are disjoint parts of one manifold, so the vanilla VAE's ``l1`` is high even
when its clusters mix the classes: it is not comparable with a jrVAE's ``l1``.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.special import ndtri  # = scipy.stats.norm.ppf, bit for bit, without importing scipy.stats
from skimage.metrics import structural_similarity

from latentopt.models.jrvae import JointVAE

__all__ = ["DATA_RANGE", "accuracy", "class_manifolds", "cluster_manifolds", "content_grid", "kmeans_clusters",
           "manifold_objective", "montage", "ssim"]

#: SSIM data range: decoded images are probabilities in [0, 1]
DATA_RANGE = 1.0


def content_grid(size: int, low: float, high: float, low2: float | None = None,
                 high2: float | None = None) -> np.ndarray:
    """A ``size x size`` grid of 2D content codes, row-major as displayed, shape ``(size * size, 2)``.

    Cell ``(i, j)`` (row ``i`` from the top, column ``j``) is ``(z_1, z_2) = (a_j, b_{size-1-i})``
    with ``a = linspace(low, high)``, ``b = linspace(low2, high2)`` (default: same as ``a``):
    ``z_1`` grows to the right, ``z_2`` upwards.
    """
    if int(size) < 1:
        raise ValueError(f"size: expected >= 1 grid cells per axis, got {size}")
    a = np.linspace(low, high, int(size))
    b = np.linspace(low if low2 is None else low2, high if high2 is None else high2, int(size))
    z1, z2 = np.meshgrid(a, b[::-1])
    return np.stack([z1.ravel(), z2.ravel()], axis=1)


def montage(tiles: np.ndarray) -> np.ndarray:
    """Tiles ``(G, G, H, W)`` as one image ``(G * H, G * W)`` (the paper's Phi_k)."""
    G1, G2, H, W = tiles.shape
    return tiles.transpose(0, 2, 1, 3).reshape(G1 * H, G2 * W)


def _decode(model: JointVAE, codes: np.ndarray, k: int | None) -> np.ndarray:
    device = next(model.parameters()).device
    z = torch.as_tensor(codes, dtype=torch.float32, device=device)
    c = None
    if model.discrete_dim:
        c = model.one_hot(torch.full((len(z),), int(k), device=device))
    with torch.inference_mode():
        return model.decode(z, c).cpu().numpy().astype(np.float64)


def class_manifolds(model: JointVAE, size: int = 8, quantile: float = 0.05) -> np.ndarray:
    """Decoded content grids of every discrete class at angle 0, shape ``(D_c, G, G, H, W)``.

    The grid spans ``Phi^-1(quantile) .. Phi^-1(1 - quantile)`` of the ``N(0, 1)`` prior on
    both content latents (pyroVED's ``manifold2d``); further content latents are 0.

    Raises
    ------
    ValueError
        If the model has no discrete latent or fewer than 2 content latents.
    """
    if not model.discrete_dim or model.content_dim < 2:
        raise ValueError("model: class manifolds need a discrete latent and >= 2 content latents")
    if not 0 < quantile < 0.5:
        raise ValueError(f"quantile: expected a value in (0, 0.5), got {quantile}")
    lim = float(ndtri(1 - quantile))
    codes = _pad(content_grid(size, -lim, lim), model.content_dim)
    out = [_decode(model, codes, k) for k in range(model.discrete_dim)]
    return np.stack(out).reshape(model.discrete_dim, size, size, model.H, model.W)


def cluster_manifolds(model: JointVAE, content: np.ndarray, clusters: np.ndarray, size: int = 8,
                      quantile: float = 0.05) -> np.ndarray:
    """Decoded grids over each cluster's box of latent means (the vanilla VAE's class manifolds).

    Parameters
    ----------
    model : JointVAE
        Without discrete latent, ``content_dim >= 2``.
    content : ndarray, shape (n, content_dim)
        Latent means of the images.
    clusters : ndarray of int, shape (n,)
        Cluster index per image, ``0 .. K-1`` (e.g. :func:`kmeans_clusters`).
    size : int
    quantile : float
        The box runs from the ``quantile`` to the ``1 - quantile`` quantile of the
        cluster's means along ``z_1`` and ``z_2``.

    Returns
    -------
    ndarray, shape (K, G, G, H, W)
    """
    content, clusters = np.asarray(content, dtype=np.float64), np.asarray(clusters)
    K = int(clusters.max()) + 1 if len(clusters) else 0
    out = []
    for k in range(K):
        zk = content[clusters == k, :2]
        lo, hi = np.quantile(zk, quantile, axis=0), np.quantile(zk, 1 - quantile, axis=0)
        codes = _pad(content_grid(size, lo[0], hi[0], lo[1], hi[1]), model.content_dim)
        out.append(_decode(model, codes, None))
    return np.stack(out).reshape(K, size, size, model.H, model.W)


def _pad(codes: np.ndarray, dim: int) -> np.ndarray:
    return np.pad(codes, ((0, 0), (0, dim - codes.shape[1])))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two images in ``[0, 1]`` (:data:`DATA_RANGE` = 1, 7 x 7 window, scikit-image defaults)."""
    return float(structural_similarity(np.asarray(a, np.float64), np.asarray(b, np.float64), data_range=DATA_RANGE))


def manifold_objective(manifolds: np.ndarray, weight: float = 0.0, pairs: int = 20,
                       seed: int = 0) -> dict[str, float]:
    """The SSIM objective of Biswas et al. 2023, Table 2 / Eq. 2 (module docstring).

    Parameters
    ----------
    manifolds : ndarray, shape (K, G, G, H, W)
        Decoded tiles per class (:func:`class_manifolds`), ``K >= 1``.
    weight : float
        ``w`` of ``l1 - w l2`` (the paper's MNIST case has ``w = 0``; ``l2`` is reported anyway).
    pairs : int
        ``I``: distinct unordered pairs of grid cells per class for ``l2`` (capped at all
        ``G^2 (G^2 - 1) / 2`` pairs); the same seeded pairs for every class.
    seed : int

    Returns
    -------
    dict
        ``l1``, ``l2``, ``objective``.
    """
    m = np.asarray(manifolds, dtype=np.float64)
    if m.ndim != 5 or len(m) < 1:
        raise ValueError(f"manifolds: expected shape (K >= 1, G, G, H, W), got {m.shape}")
    if not weight >= 0 or int(pairs) < 1:
        raise ValueError(f"weight >= 0 and pairs >= 1 expected, got {weight}, {pairs}")
    phi = [montage(t) for t in m]
    l1 = float(sum(1.0 - ssim(phi[i], phi[j]) for i, j in combinations(range(len(phi)), 2)))
    cells = m.shape[1] * m.shape[2]
    chosen = _cell_pairs(cells, int(pairs), seed)
    tiles = m.reshape(len(m), cells, *m.shape[3:])
    l2 = float(sum(np.mean([1.0 - ssim(t[a], t[b]) for a, b in chosen]) for t in tiles)) if len(chosen) else 0.0
    return {"l1": l1, "l2": l2, "objective": l1 - weight * l2}


def _cell_pairs(cells: int, pairs: int, seed: int) -> np.ndarray:
    """``min(pairs, C(cells, 2))`` distinct unordered pairs ``(a < b)`` of cell indices, seeded."""
    total = cells * (cells - 1) // 2
    if total == 0:
        return np.zeros((0, 2), dtype=np.int64)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x55]))
    flat = rng.choice(total, size=min(pairs, total), replace=False)
    a, b = np.triu_indices(cells, k=1)
    return np.stack([a[flat], b[flat]], axis=1).astype(np.int64)


def accuracy(assigned: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose cluster maps to their label under the best one-to-one matching.

    The confusion matrix ``C[k, l]`` (cluster ``k``, label ``l``) is matched with
    :func:`scipy.optimize.linear_sum_assignment` (maximum total); with more clusters
    than labels (or fewer) the unmatched clusters count as wrong. Invariant under any
    relabelling of clusters or labels.

    Parameters
    ----------
    assigned, labels : ndarray of int, shape (n,)

    Returns
    -------
    float in [0, 1]
    """
    assigned, labels = np.asarray(assigned).reshape(-1), np.asarray(labels).reshape(-1)
    if assigned.shape != labels.shape or len(labels) == 0:
        raise ValueError(f"assigned, labels: expected equal non-empty shapes, got {assigned.shape}, {labels.shape}")
    ka, ia = np.unique(assigned, return_inverse=True)
    kl, il = np.unique(labels, return_inverse=True)
    conf = np.zeros((len(ka), len(kl)), dtype=np.int64)
    np.add.at(conf, (ia, il), 1)
    rows, cols = linear_sum_assignment(conf, maximize=True)
    return float(conf[rows, cols].sum() / len(labels))


def kmeans_clusters(content: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """k-means (scikit-learn, ``n_init=10``) cluster index ``(n,)`` of latent means ``(n, d)``."""
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=int(k), n_init=10, random_state=int(seed)).fit_predict(np.asarray(content, np.float64))
