"""Field units of the FerroSIM model: coercive fields and remanent polarization of the Landau double well.

The local free energy of a site of :mod:`latentopt.physics.ferrosim` along one axis is
``f = alpha1 p^2 + alpha2 p^4 - E p`` (``alpha1 < 0 < alpha2``). Every field of a model
(applied histories, defect strengths, stability bounds) is a number times a field unit
(:data:`FIELD_UNITS`):

- ``"E_c"`` (default): the intrinsic (Landau) coercive field of a single site for
  switching along one axis, ``E_c = (4/3) |alpha1| sqrt(-alpha1 / (6 alpha2))``: the field
  at which the polarized state ``p = P_r x_hat``, ``P_r = sqrt(-alpha1 / (2 alpha2))``,
  loses stability against a *longitudinal* change when the field is applied antiparallel
  along the same axis (:func:`coercive_field`). In 2D the transverse mode can go unstable
  earlier (for the default ``alpha3 < 6 alpha2`` at about 0.79 E_c, by rotation), so a
  site with a perpendicular perturbation may switch below ``E_c``.
- ``"ferrosim_Ec"``: FerroSim's ``Ec = (2/3) |alpha1| sqrt(|alpha1| / (3 alpha2))``, the
  coercive field of its uniaxial double well ``alpha1 p^2 / 2 + alpha2 p^4 / 4``, which it
  uses for the tetragonal free energy above too (:func:`ferrosim_coercive_field`); it is
  ``E_c / sqrt(2)``. The lecture's numbers (A <= 0.75, |B| <= 0.5, defect strengths) are
  in this unit.
"""

from __future__ import annotations

import math

#: field units (module docstring): latentopt's tetragonal coercive field, FerroSim's ``Ec``
FIELD_UNITS = ("E_c", "ferrosim_Ec")


def _check_double_well(alpha1: float, alpha2: float) -> None:
    """Raise ValueError unless ``alpha1 < 0 < alpha2`` (``f`` is a double well)."""
    if not (alpha1 < 0 and alpha2 > 0):
        raise ValueError(f"alpha1 < 0 < alpha2 expected for a double well, got alpha1={alpha1}, alpha2={alpha2}")


def coercive_field(alpha1: float, alpha2: float) -> float:
    """Intrinsic coercive field of ``f = alpha1 p^2 + alpha2 p^4 - E p``.

    ``E(p) = 2 alpha1 p + 4 alpha2 p^3`` has its turning point at
    ``p_c^2 = -alpha1 / (6 alpha2)``, so ``E_c = (4/3) |alpha1| p_c``.

    Parameters
    ----------
    alpha1 : float
        Quadratic Landau coefficient, ``< 0`` (ferroelectric phase).
    alpha2 : float
        Quartic coefficient, ``> 0``.

    This is the 1D (longitudinal) coercive field; see the module docstring for 2D.

    Returns
    -------
    float
        ``E_c`` in the units of the free energy per unit polarization.

    Raises
    ------
    ValueError
        If ``alpha1 >= 0`` or ``alpha2 <= 0`` (no double well).
    """
    _check_double_well(alpha1, alpha2)
    return 4.0 / 3.0 * abs(alpha1) * math.sqrt(-alpha1 / (6.0 * alpha2))


def ferrosim_coercive_field(alpha1: float, alpha2: float) -> float:
    """FerroSim's field unit ``Ec = (2/3) |alpha1| sqrt(|alpha1| / (3 alpha2))``.

    FerroSim (R. K. Vasudevan, ``Ferro2DSim.__init__``) scales every applied and defect
    field by this value in all its modes. It is the coercive field of the uniaxial double
    well ``alpha1 p^2 / 2 + alpha2 p^4 / 4`` (``E(p) = alpha1 p + alpha2 p^3``, turning
    point ``p_c^2 = -alpha1 / (3 alpha2)``, ``E = (2/3) |alpha1| p_c``). For the
    tetragonal free energy ``alpha1 p^2 + alpha2 p^4`` that both codes integrate it is
    :func:`coercive_field` divided by ``sqrt(2)``.

    Parameters
    ----------
    alpha1 : float
        ``< 0``.
    alpha2 : float
        ``> 0``.

    Returns
    -------
    float
        FerroSim's ``Ec`` in the units of the free energy per unit polarization.

    Raises
    ------
    ValueError
        If ``alpha1 >= 0`` or ``alpha2 <= 0`` (no double well).
    """
    _check_double_well(alpha1, alpha2)
    return 2.0 / 3.0 * abs(alpha1) * math.sqrt(-alpha1 / (3.0 * alpha2))


def field_unit_value(unit: str, alpha1: float, alpha2: float) -> float:
    """Value of the field unit ``unit`` (:data:`FIELD_UNITS`) in Landau units (free energy per unit polarization).

    ``"E_c"``: :func:`coercive_field`; ``"ferrosim_Ec"``: :func:`ferrosim_coercive_field`.

    Raises
    ------
    ValueError
        On an unknown unit or without a double well.
    """
    if unit == "E_c":
        return coercive_field(alpha1, alpha2)
    if unit == "ferrosim_Ec":
        return ferrosim_coercive_field(alpha1, alpha2)
    raise ValueError(f"field_unit: expected one of {FIELD_UNITS}, got {unit!r}")


def remanent_polarization(alpha1: float, alpha2: float) -> float:
    """``P_r = sqrt(-alpha1 / (2 alpha2))``, the zero-field minimum of ``f`` along an axis.

    Raises
    ------
    ValueError
        If ``alpha1 >= 0`` or ``alpha2 <= 0`` (no double well).
    """
    _check_double_well(alpha1, alpha2)
    return math.sqrt(-alpha1 / (2.0 * alpha2))
