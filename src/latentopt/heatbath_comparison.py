"""Generated vs heat-bath states of one size at matched temperatures.

The upscaling study asks whether states generated at a larger size than the generator was
trained on look like states sampled there directly by the heat bath
(:mod:`latentopt.physics.thermal`). Each generated state inherits the temperature of the
training state its requested energy was drawn from; the heat-bath states were annealed to
those temperatures at the large size. Compared are

- the pooled energy distributions (two-sample KS, :func:`latentopt.fidelity.ks_distance`);
- the peak ``|q|`` of the mean structure factor
  (:func:`latentopt.physics.structure_factor.peak_wavenumber`; the spiral wavenumber of the
  chiral magnet is ``atan(D / J)``) and its weight at the zone boundary
  (:func:`latentopt.physics.structure_factor.zone_boundary_weight`, where a period-2
  artefact of a 2x upsampling layer shows up);
- per temperature, the mean and spread of the energy and the peak ``|q|``.

Energies are per spin in units of J (docs/design.md, "Physics conventions"). The paper
(Mills, Casert & Tamblyn, NeurIPS 2019 ML4PS workshop) compared generated states only with
the requested energies (:mod:`latentopt.fidelity`); this comparison is added here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["compare_with_heatbath", "profile_agreement"]


def profile_agreement(s_generated: np.ndarray, s_reference: np.ndarray, tolerance: float = 0.1) -> dict:
    """How closely a radially averaged structure factor follows a reference, shell by shell.

    Parameters
    ----------
    s_generated, s_reference : ndarray, shape (k,)
        ``S(|q|)`` on the same shells (:func:`latentopt.physics.structure_factor.radial_profile`);
        shell 0 (``q = 0``, the squared magnetization) is left out.
    tolerance : float
        Relative deviation counted as agreement (0.1: within 10 %).

    Returns
    -------
    dict
        ``sq_shells_within`` (fraction of the shells ``|q| > 0`` with ``|S_gen / S_ref - 1| <=
        tolerance``), ``sq_max_deviation`` (the largest ``|S_gen / S_ref - 1|`` over them),
        ``sq_tolerance``.

    Raises
    ------
    ValueError
        On profiles of different lengths, fewer than two shells, or a reference that is not
        positive on the shells ``|q| > 0``.
    """
    a = np.asarray(s_generated, dtype=np.float64)
    b = np.asarray(s_reference, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"s_generated, s_reference: expected two profiles of one length >= 2, got {a.shape}, {b.shape}")
    if not np.all(b[1:] > 0):
        raise ValueError("s_reference: expected S > 0 on every shell |q| > 0")
    dev = np.abs(a[1:] / b[1:] - 1.0)
    return {"sq_shells_within": float(np.mean(dev <= tolerance)), "sq_max_deviation": float(dev.max()),
            "sq_tolerance": float(tolerance)}


def compare_with_heatbath(gen: dict, hb: dict, train: dict | None = None) -> dict:
    """Generated vs heat-bath states at the same (large) size and matched temperatures.

    Each generated state inherits the temperature of the training state its label was
    drawn from; the heat-bath states were annealed to that temperature at the large size.

    Parameters
    ----------
    gen : dict
        ``spins (n, 3, L, L)``, ``energy (n,)`` (per spin, J), ``T (n,)``
        (:func:`latentopt.conditioned_generation.generate_scale`) at the heat-bath size.
    hb : dict
        ``spins (m, 3, L, L)``, ``energy (m,)``, ``T (m,)`` (the study's heat-bath reference).
    train : dict, optional
        ``spins``, ``energy``, ``T`` of the training set (its peak |q| is added).

    Returns
    -------
    dict
        ``energy_ks``, ``energy_p`` (KS of the pooled energy distributions, the generated
        set weighted as drawn), ``peak_q_generated``, ``peak_q_heatbath`` (peak of the
        mean structure factor over all states, :func:`latentopt.physics.structure_factor.peak_wavenumber`),
        ``s_zone_boundary_<set>`` (:func:`~latentopt.physics.structure_factor.zone_boundary_weight`,
        a sub-lattice artefact of the 2x upsampling shows up there),
        ``per_T``: list of dicts ``T``, ``n_generated``, ``n_heatbath``,
        ``energy_generated``, ``energy_generated_std``, ``energy_heatbath``,
        ``energy_heatbath_std``, ``peak_q_generated``, ``peak_q_heatbath`` (and
        ``energy_train``, ``peak_q_train`` with ``train``); ``profiles``: radial
        ``S(|q|)`` per set, ``{name: (q, S)}`` (for figures, not JSON); and the keys of
        :func:`profile_agreement` of the generated and heat-bath profiles.

    Raises
    ------
    ValueError
        If ``gen`` and ``hb`` hold states of different sizes.
    """
    from latentopt.fidelity import ks_distance
    from latentopt.physics.structure_factor import (peak_wavenumber, radial_profile, structure_factor,
                                                    zone_boundary_weight)

    if gen["spins"].shape[-1] != hb["spins"].shape[-1]:
        raise ValueError(f"gen, hb: expected states of one size, got {gen['spins'].shape[-1]} and "
                         f"{hb['spins'].shape[-1]}")
    ks = ks_distance(gen["energy"], hb["energy"])
    sets = {"generated": gen, "heatbath": hb, **({"train": train} if train is not None else {})}
    sq = {name: structure_factor(d["spins"], average=True) for name, d in sets.items()}
    out = {"energy_ks": ks["ks"], "energy_p": ks["p_value"],
           **{f"peak_q_{name}": peak_wavenumber(s) for name, s in sq.items()},
           **{f"s_zone_boundary_{name}": zone_boundary_weight(s) for name, s in sq.items()}, "per_T": [],
           "profiles": {name: radial_profile(s) for name, s in sq.items()}}
    out.update(profile_agreement(out["profiles"]["generated"][1], out["profiles"]["heatbath"][1]))
    for T in np.unique(hb["T"]):
        row = {"T": float(T)}
        for name, d in sets.items():
            sel = np.isclose(d["T"], T)
            row[f"n_{name}"] = int(sel.sum())
            if sel.any():
                row[f"energy_{name}"] = float(d["energy"][sel].mean())
                row[f"energy_{name}_std"] = float(d["energy"][sel].std())
                row[f"peak_q_{name}"] = peak_wavenumber(structure_factor(d["spins"][sel], average=True))
        out["per_T"].append(row)
    return out
