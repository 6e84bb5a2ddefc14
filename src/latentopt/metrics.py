"""Evaluation metrics of sets of states and of the VAE's reconstructions (``metrics.json``).

Per set (dataset X_IN, X_VAE, X'_VAE, each optimization run): energy per spin (mean,
std, min, max), the maximum local energy density, nodal points (sites whose local energy
density exceeds the threshold; Park et al. 2022, Fig. 1c and 3b), W and M_z. The VAE's
reconstruction quality is the structural similarity (SSIM; Wang et al., IEEE TIP 13, 600
(2004), via scikit-image) between validation states and their reconstructions.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from latentopt.physics.hamiltonian import ChiralMagnet, energy_density, nodal_points
from latentopt.physics.observables import magnetization_z, topological_charge


def _stats(prefix: str, values: np.ndarray) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    return {f"{prefix}_mean": float(v.mean()), f"{prefix}_std": float(v.std()),
            f"{prefix}_min": float(v.min()), f"{prefix}_max": float(v.max())}


def set_metrics(spins: np.ndarray, model: ChiralMagnet, nodal_threshold: float,
                chunk: int = 256) -> dict[str, float]:
    """Summary metrics of a set of states.

    Parameters
    ----------
    spins : ndarray, shape (n, 3, L, L)
    model : ChiralMagnet
    nodal_threshold : float
        Local energy density (units of J) above which a site is a nodal point.
    chunk : int
        States evaluated at a time (memory bound).

    Returns
    -------
    dict
        ``n``; ``energy_{mean,std,min,max}`` (per spin, J); ``max_local_energy_density``
        (J, over all sites of all states); ``nodal_points_{mean,std,min,max}`` (sites per
        state); ``states_with_nodal_points`` (count); ``W_{mean,std,min,max}``;
        ``Mz_{mean,std,min,max}``.
    """
    spins = np.asarray(spins)
    if spins.ndim == 3:
        spins = spins[None]
    energy, nodal, w, mz = [], [], [], []
    max_local = -np.inf
    for start in range(0, len(spins), chunk):  # bounded memory for paper-scale sets
        block = spins[start:start + chunk]
        dens = energy_density(block, model)
        energy.append(dens.mean(axis=(-2, -1)))
        nodal.append(nodal_points(dens, nodal_threshold).sum(axis=(-2, -1)))
        max_local = max(max_local, float(dens.max()))
        w.append(topological_charge(block))
        mz.append(magnetization_z(block))
    nodal = np.concatenate(nodal)
    out = {"n": int(spins.shape[0])}
    out.update(_stats("energy", np.concatenate(energy)))
    out["max_local_energy_density"] = max_local
    out.update(_stats("nodal_points", nodal))
    out["states_with_nodal_points"] = int((nodal > 0).sum())
    out.update(_stats("W", np.concatenate(w)))
    out.update(_stats("Mz", np.concatenate(mz)))
    return out


def reconstruction_ssim(original: np.ndarray, reconstructed: np.ndarray) -> np.ndarray:
    """SSIM of each state with its reconstruction, the 3 spin components as image channels.

    Parameters
    ----------
    original, reconstructed : ndarray, shape (n, 3, L, L)
        Unit-vector states; components lie in [-1, 1] so ``data_range = 2``.

    Returns
    -------
    ndarray, shape (n,)
        SSIM in [-1, 1]; 1 for a perfect reconstruction.

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    a, b = np.asarray(original, np.float64), np.asarray(reconstructed, np.float64)
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"reconstruction_ssim: expected two equal (n, 3, L, L) arrays, got {a.shape}, {b.shape}")
    return np.array([structural_similarity(x, y, channel_axis=0, data_range=2.0) for x, y in zip(a, b)])
