"""Bond energies and the seam check: is a state as periodic at its boundary as in its interior?

A generator that is not truly periodic (zero padding, tiled patches) leaves a *seam*: the
bonds that cross the periodic boundary of the state -- from column ``L_x - 1`` to column
0 and from row ``L_y - 1`` to row 0 -- carry a higher energy than the bonds inside.

Definition (used by :func:`seam_check`). The energy of the bond from site ``i`` to its
``+x`` or ``+y`` neighbour ``j`` is ``e_ij = -J s_i.s_j - D_ij.(s_i x s_j)`` (docs/design.md,
each bond once; on-site terms excluded). The *seam bonds* of a state are the ``+x`` bonds
of column ``L_x - 1`` and the ``+y`` bonds of row ``L_y - 1`` (``L_y + L_x`` bonds). The
*control bonds* are their images under a translation by half the lattice,
``(L_x / 2, L_y / 2)``: the ``+x`` bonds of column ``L_x / 2 - 1`` and the ``+y`` bonds of
row ``L_y / 2 - 1``, i.e. the bonds crossing the middle lines, the same number with the
same orientations. For any ensemble invariant under that translation (heat-bath states,
or a periodic generator whose cell-shift symmetry contains it, e.g. a RUGAN generator
with ``L / 2`` a multiple of its upsampling factor) the two sets have the same
distribution; comparing with the middle lines rather than with all interior bonds also
keeps sub-lattice patterns of an upsampling layer from looking like a seam. The check
pools the bonds of all states and reports the two-sample Kolmogorov-Smirnov statistic and
p-value (:func:`scipy.stats.ks_2samp`) and the mean excess energy of a seam bond with its
standard error (energies are rounded to 1e-10 J for the KS test, so that bonds equal up to
floating-point noise tie). Bonds along a line are correlated, so the p-value is only indicative; the
KS statistic and the excess are the measures.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .hamiltonian import ChiralMagnet, as_batch


def bond_energies(spins: np.ndarray, model: ChiralMagnet) -> tuple[np.ndarray, np.ndarray]:
    """Energies of the ``+x`` and ``+y`` bonds leaving every site (periodic), units of J.

    ``e_x[y, x] = -J s(y, x).s(y, x+1) - D_x.(s(y, x) x s(y, x+1))`` and likewise for
    ``+y`` with ``D_y`` (:meth:`ChiralMagnet.dmi_vectors`). Their total is the bond part of
    the energy; a uniform state has ``-J`` on every bond.

    Parameters
    ----------
    spins : ndarray, shape (3, L_y, L_x) or (n, 3, L_y, L_x)
    model : ChiralMagnet

    Returns
    -------
    e_x, e_y : ndarray, shape (L_y, L_x) or (n, L_y, L_x), float64
    """
    s, single = as_batch(spins)
    d = model.dmi_vectors()
    out = []
    for axis, dvec in ((-1, d[0]), (-2, d[1])):
        nb = np.roll(s, -1, axis=axis)
        cross = np.cross(s, nb, axis=1)
        out.append(-model.J * (s * nb).sum(axis=1) - np.tensordot(dvec, cross, axes=([0], [1])))
    e_x, e_y = out
    return (e_x[0], e_y[0]) if single else (e_x, e_y)


def seam_bonds(spins: np.ndarray, model: ChiralMagnet) -> tuple[np.ndarray, np.ndarray]:
    """Energies of the seam bonds and of the control bonds of every state (module docstring).

    Parameters
    ----------
    spins : ndarray, shape (n, 3, L_y, L_x) or (3, L_y, L_x)
        ``L_y`` and ``L_x`` even.
    model : ChiralMagnet

    Returns
    -------
    seam, control : ndarray, shape (n, L_y + L_x), float64
        Row ``k``: the ``L_y`` ``+x`` bonds of column ``L_x - 1`` (resp. ``L_x / 2 - 1``),
        then the ``L_x`` ``+y`` bonds of row ``L_y - 1`` (resp. ``L_y / 2 - 1``).

    Raises
    ------
    ValueError
        On an odd lattice side.
    """
    s, _ = as_batch(spins)
    L_y, L_x = s.shape[-2:]
    if L_y % 2 or L_x % 2:
        raise ValueError(f"spins: the seam check needs even lattice sides, got {L_y} x {L_x}")
    e_x, e_y = bond_energies(s, model)
    seam = np.concatenate([e_x[:, :, L_x - 1], e_y[:, L_y - 1, :]], axis=1)
    control = np.concatenate([e_x[:, :, L_x // 2 - 1], e_y[:, L_y // 2 - 1, :]], axis=1)
    return seam, control


def seam_check(spins: np.ndarray, model: ChiralMagnet, batch_size: int = 256) -> dict[str, float]:
    """Compare the bonds across the periodic boundary with the bonds across the middle lines.

    Parameters
    ----------
    spins : ndarray, shape (n, 3, L_y, L_x)
        States (even sides); bonds of all states are pooled.
    model : ChiralMagnet
    batch_size : int
        States per batch (memory bound).

    Returns
    -------
    dict
        ``seam_ks``, ``seam_p``: KS statistic and p-value between the pooled seam and
        control bond energies; ``seam_excess``: mean seam minus mean control bond energy
        (J per bond); ``seam_excess_se``: its standard error from the per-state
        differences of the means; ``seam_mean``, ``control_mean``, ``n_bonds`` (per set).
        A periodic ensemble gives ``seam_ks`` near 0 and ``|seam_excess|`` within a few
        standard errors; a seam gives a positive excess.
    """
    spins = np.asarray(spins)
    if spins.ndim == 3:
        spins = spins[None]
    seams, controls = [], []
    for start in range(0, len(spins), batch_size):
        a, b = seam_bonds(spins[start:start + batch_size], model)
        seams.append(a)
        controls.append(b)
    seam, control = np.concatenate(seams), np.concatenate(controls)
    # round away floating-point noise, so equal bonds at different positions compare equal
    ks = stats.ks_2samp(np.round(seam.ravel(), 10), np.round(control.ravel(), 10))
    diff = seam.mean(axis=1) - control.mean(axis=1)
    se = float(diff.std(ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else float("nan")
    return {"seam_ks": float(ks.statistic), "seam_p": float(ks.pvalue), "seam_excess": float(diff.mean()),
            "seam_excess_se": se, "seam_mean": float(seam.mean()), "control_mean": float(control.mean()),
            "n_bonds": int(seam.size)}
