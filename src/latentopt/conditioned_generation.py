"""States of requested energies from an energy-conditioned generator, with their exact energies.

Mills, Casert & Tamblyn (NeurIPS 2019 ML4PS workshop) ask a conditional GAN for states of
energies "randomly sampled from the training data" and compare what was requested with
what was realized. Here:

- :func:`requested_labels` draws the requested energies (with the training state each
  was taken from and its temperature);
- :func:`calibrate_generator` (optional, not in the paper) fits the monotone map from the
  label fed to the generator to the mean realized energy
  (:func:`latentopt.fidelity.fit_calibration`), on training labels and, optionally, labels
  beyond their range (:func:`calibration_labels`);
- :func:`generate_scale` generates the states at ``scale`` times the training size
  (:func:`latentopt.models.rugan.generate`), timed, and computes their exact energies
  (:func:`latentopt.physics.hamiltonian.energy_per_spin`; the paper judged energies with a
  neural-network proxy).

Energies are per spin in units of J (docs/design.md, "Physics conventions"). torch, the
generator's module and the Hamiltonian (numba) are imported by the functions that run the
generator, so that importing this module stays light: the cluster estimates
(:mod:`latentopt.studies.hooks.upscaling`) take the calibration's sizes from here.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["calibrate_generator", "calibration_draws", "calibration_labels", "calibration_size", "generate_scale",
           "requested_labels"]


def requested_labels(data: dict[str, np.ndarray], n: int, seed: int) -> dict[str, np.ndarray]:
    """Draw ``n`` requested energies from the training labels (with replacement; paper: "randomly sampled from the training data").

    Parameters
    ----------
    data : dict
        ``energy (N,)`` per spin (J) and optionally ``T (N,)`` of the training states.
    n : int
    seed : int
        The draws come from ``numpy.random.default_rng([seed, 0])``.

    Returns
    -------
    dict
        ``requested (n,)`` energies per spin, ``index (n,)`` the training state each was
        taken from and ``T (n,)`` its temperature (NaN without ``T`` in ``data``).
    """
    rng = np.random.default_rng([int(seed), 0])
    idx = rng.integers(0, len(data["energy"]), size=int(n))
    T = data["T"][idx] if "T" in data else np.full(len(idx), np.nan)
    return {"requested": np.asarray(data["energy"], np.float64)[idx], "index": idx.astype(np.int64),
            "T": np.asarray(T, np.float64)}


def calibration_draws(calibration_n: int, scale: int) -> int:
    """In-range draws of the calibration at ``scale``: ``max(32, calibration_n // scale)``.

    A state ``s`` times larger has ``s^2`` times the sites, so the noise of its energy per
    spin about the generator's mean is ``s`` times smaller (measured: standard deviation
    0.04 J at 1x and 0.016 J at 4x for the default study) and fewer states fix the mean
    as well; the cost per state grows as ``s^2``.
    """
    return max(32, int(calibration_n) // int(scale))


def calibration_size(n: int, extend: float) -> int:
    """How many labels :func:`calibration_labels` returns: ``n``, plus ``n // 4`` beyond each end with ``extend > 0``."""
    return int(n) + (2 * (int(n) // 4) if extend > 0 else 0)


def calibration_labels(data: dict[str, np.ndarray], n: int, seed: int, extend: float = 0.0) -> np.ndarray:
    """The labels a calibration feeds the generator: ``n`` training labels, plus labels beyond their range.

    The first ``n`` are drawn from the training labels (:func:`requested_labels` with
    ``seed``), so the calibration is densest where requests fall. With ``extend > 0``,
    ``n // 4`` more are spread uniformly over ``[e_min - extend, e_min)`` and ``n // 4``
    over ``(e_max, e_max + extend]``, from ``numpy.random.default_rng([seed, 1])``: a
    generator that realizes the coldest (or hottest) requests too warm (too cold) is fed
    labels beyond the training range, where it may still respond. Which extrapolated
    labels help is decided by the fit (:func:`latentopt.fidelity.fit_calibration`), not
    assumed.

    Parameters
    ----------
    data : dict
        ``energy (N,)`` per spin (J) of the training states.
    n : int
        Draws from the training labels (>= 2).
    seed : int
    extend : float
        How far beyond the training energies the extra labels reach, J per spin (>= 0).

    Returns
    -------
    ndarray, shape (calibration_size(n, extend),), float64
        The ``n`` in-range draws first (``n + 2 * (n // 4)`` labels, or ``n`` without ``extend``).

    Raises
    ------
    ValueError
        On ``n < 2`` or a negative or non-finite ``extend``.
    """
    if int(n) < 2:
        raise ValueError(f"calibration_n: expected >= 2, got {n}")
    if not np.isfinite(extend) or extend < 0:
        raise ValueError(f"calibration_extend: expected a finite number >= 0, got {extend}")
    labels = requested_labels(data, n, seed)["requested"]
    if extend == 0:
        return labels
    rng = np.random.default_rng([int(seed), 1])
    lo, hi = float(np.min(data["energy"])), float(np.max(data["energy"]))
    m = (calibration_size(n, extend) - int(n)) // 2
    return np.concatenate([labels, lo - extend * rng.random(m), hi + extend * rng.random(m)])


def calibrate_generator(generator, data: dict[str, np.ndarray], system: dict, n: int, seed: int, device="cpu",
                        batch_size: int = 64, scale: int = 1, extend: float = 0.0) -> dict:
    """Fit the label calibration of a trained generator (optional step, not in the paper).

    The labels of :func:`calibration_labels` (``n`` training labels and, with ``extend``,
    labels beyond the training range) are fed to the generator at ``scale`` with noise
    seed ``seed``; the exact energies of the states give the monotone map label -> mean
    realized energy (:func:`latentopt.fidelity.fit_calibration`). Requesting
    :func:`latentopt.fidelity.invert_calibration` of a target then removes the
    generator's systematic, label-dependent energy bias, and extrapolated labels let it
    reach requests at the ends of the range that the training labels themselves do not
    (a generator trained on a few cold states realizes the coldest labels too warm).

    Parameters
    ----------
    generator : RUGANGenerator
    data : dict
        ``energy (N,)`` (and ``T``) of the training states.
    system : dict
        ``system`` block (J, D, dmi, K, B); ``L`` is taken from the generated states.
    n, seed : int
    device, batch_size
        See :func:`latentopt.models.rugan.generate`.
    scale : int
        Noise blocks per side: states of ``scale`` times the training size.
    extend : float
        See :func:`calibration_labels` (J per spin; 0: training labels only).

    Returns
    -------
    dict
        ``table`` (``label``, ``realized`` lists), ``extend`` and ``raw``: the uncalibrated
        requested-vs-realized metrics of the ``n`` in-range draws
        (:func:`latentopt.fidelity.compare_requested_realized`).
    """
    from latentopt.fidelity import compare_requested_realized, fit_calibration
    from latentopt.models.rugan import generate
    from latentopt.physics.hamiltonian import ChiralMagnet, energy_per_spin

    labels = calibration_labels(data, n, seed, extend)
    spins = generate(generator, labels, scale, seed, device, batch_size)
    realized = energy_per_spin(spins, ChiralMagnet.from_config({**system, "L": spins.shape[-1]}))
    return {"table": fit_calibration(labels, realized), "extend": float(extend),
            "raw": compare_requested_realized(labels[:n], realized[:n])}


def generate_scale(generator, requests: dict[str, np.ndarray], system: dict, scale: int, seed: int,
                   device="cpu", batch_size: int = 64, calibration: dict | None = None) -> dict[str, np.ndarray | float]:
    """Generate states of the requested energies at ``scale`` times the training size and compute their exact energies.

    The generation is timed (noise, forward pass, copy to the host; the first batch is
    generated once beforehand to exclude one-off start-up costs).

    Parameters
    ----------
    generator : RUGANGenerator
    requests : dict
        :func:`requested_labels`.
    system : dict
    scale : int
    seed : int
        Noise seed.
    device, batch_size
    calibration : dict, optional
        A table of :func:`calibrate_generator`; the generator is then fed the calibrated
        labels (``label``) instead of the requested energies.

    Returns
    -------
    dict
        ``spins (n, 3, sL, sL) float32``, ``requested (n,)``, ``label (n,)`` (fed to the
        generator), ``energy (n,)`` (exact energy per spin of each generated state, J),
        ``T (n,)``, ``index (n,)``, and ``seconds`` (float) and ``states_per_s`` (float).
    """
    from latentopt.fidelity import invert_calibration
    from latentopt.models.rugan import generate
    from latentopt.physics.hamiltonian import ChiralMagnet, energy_per_spin

    req = requests["requested"]
    labels = invert_calibration(calibration, req) if calibration is not None else np.asarray(req, np.float64)
    generate(generator, labels[:min(len(labels), batch_size)], scale, seed + 1, device, batch_size)  # warm-up
    t0 = time.perf_counter()
    spins = generate(generator, labels, scale, seed, device, batch_size)
    seconds = time.perf_counter() - t0
    model = ChiralMagnet.from_config({**system, "L": spins.shape[-1]})
    return {"spins": spins, "requested": np.asarray(req, np.float64), "label": labels,
            "energy": energy_per_spin(spins, model), "T": requests["T"], "index": requests["index"],
            "seconds": seconds, "states_per_s": len(req) / seconds}
