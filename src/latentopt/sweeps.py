"""Parameter sweeps of a spin study (``sweep:``): validation, expansion into points, stable point names.

Light (no numpy, torch): the config check and the Snakefile import it on every invocation.

A sweep maps dotted keys of the study's ``system`` block to lists of values::

    sweep:
      system.B_z: [0.0, 0.01, 0.02]
      system.D: [0.3]

and expands into one point per combination (the Cartesian product, keys in sorted order,
values in the order given). Swept keys (:data:`SWEEPABLE`): ``system.J``, ``system.D``,
``system.K`` (numbers), ``system.B`` (3-vectors ``[Bx, By, Bz]``) and ``system.B_z`` (a number:
the z component of ``system.B``, whose x and y components are kept). ``system.L`` cannot be
swept (one VAE serves every point of a sweep), nor can ``model`` or ``dmi``.

A point's name is ``<key>~<value>`` for each swept key, joined by ``__``, e.g.
``B_z~0.02__D~0.3`` (values as Python's ``repr`` of the float, a vector's components joined by
``,``). It depends only on the point's own values, so adding a value to a list adds points
without renaming the others: Snakemake reruns only the new points' per-point jobs (like
``snakemake.utils.Paramspace``'s wildcard patterns).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["SWEEPABLE", "SweepError", "check_sweep", "expand_sweep", "point_name", "point_system",
           "POINT_REGEX"]

#: the keys a sweep may vary, and the kind of value each takes
SWEEPABLE = {"J": "number", "D": "number", "K": "number", "B": "vector", "B_z": "number"}

#: the system keys that cannot be swept, and why
FIXED = {"L": "one VAE serves every point, so the lattice size is fixed",
         "model": "a sweep varies the chiral magnet's parameters, not the model",
         "dmi": "the DMI type is not a number; make one study per DMI type"}

#: the {point} wildcard's constraint
POINT_REGEX = r"[A-Za-z0-9_.,+~-]+"


class SweepError(ValueError):
    """An invalid sweep; the message starts with the dotted key (``<prefix>.sweep.<key>``)."""


def _format(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(_format(v) for v in value)
    return repr(float(value))


def point_name(values: Mapping[str, Any]) -> str:
    """The name of the point with ``values`` (swept key -> value): ``B_z~0.02__D~0.3``."""
    return "__".join(f"{key.split('.', 1)[1]}~{_format(v)}" for key, v in values.items())


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_sweep(prefix: str, sweep: Mapping[str, Any], system_keys: set[str]) -> None:
    """Every key names a sweepable ``system`` key; its values are a non-empty list of distinct numbers (vectors for ``B``).

    Parameters
    ----------
    prefix : str
        The study's config key, ``studies.<name>``.
    sweep : mapping
        The study's ``sweep`` block.
    system_keys : set of str
        The keys the study's ``system`` schema takes (a swept key must be one of them, or ``B_z``).

    Raises
    ------
    SweepError
        Naming the key, e.g. ``studies.s.sweep.system.L: ...``.
    """
    if not sweep:
        raise SweepError(f"{prefix}.sweep: expected at least one swept key, e.g. {{system.B_z: [0.0, 0.02]}}")
    for key, values in sweep.items():
        where = f"{prefix}.sweep.{key}"
        head, _, name = str(key).partition(".")
        if head != "system" or not name:
            raise SweepError(f"{where}: only keys of the system block can be swept (system.<key>, one of "
                             f"{sorted('system.' + k for k in SWEEPABLE)}); the data and the VAE are shared by "
                             "every point")
        if name in FIXED:
            raise SweepError(f"{where}: cannot be swept ({FIXED[name]})")
        if name not in SWEEPABLE or (name != "B_z" and name not in system_keys):
            raise SweepError(f"{where}: not a sweepable key of system; expected one of "
                             f"{sorted('system.' + k for k in SWEEPABLE)}")
        if not isinstance(values, list) or not values:
            raise SweepError(f"{where}: expected a non-empty list of values, got {values!r}")
        for i, v in enumerate(values):
            if SWEEPABLE[name] == "vector":
                ok = isinstance(v, list) and len(v) == 3 and all(_is_number(c) for c in v)
                if not ok:
                    raise SweepError(f"{where}[{i}]: expected a field vector [Bx, By, Bz], got {v!r}; sweep a "
                                     "scalar field along z with system.B_z")
            elif not _is_number(v):
                raise SweepError(f"{where}[{i}]: expected a number, got {v!r}")
        names = [_format(v) for v in values]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SweepError(f"{where}: repeated values {dup}")
    if "system.B" in sweep and "system.B_z" in sweep:
        raise SweepError(f"{prefix}.sweep.system.B_z: sweep either system.B or system.B_z, not both")


def point_system(system: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``system`` block of the point with ``values``: ``system`` with the swept keys replaced."""
    out = dict(system)
    for key, v in values.items():
        name = key.split(".", 1)[1]
        if name == "B_z":
            b = list(out.get("B", [0.0, 0.0, 0.0]))
            out["B"] = [float(b[0]), float(b[1]), float(v)]
        elif name == "B":
            out["B"] = [float(c) for c in v]
        else:
            out[name] = float(v)
    return out


def expand_sweep(system: Mapping[str, Any], sweep: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """One entry per point of the sweep: ``{point name: {"values": {key: value}, "system": system block}}``.

    Points are the Cartesian product of the value lists, keys in sorted order, values in the
    order given (the first key varies slowest).
    """
    keys = sorted(sweep)
    out = {}
    for combo in itertools.product(*(sweep[k] for k in keys)):
        values = dict(zip(keys, combo))
        out[point_name(values)] = {"values": values, "system": point_system(system, values)}
    bad = [n for n in out if not re.fullmatch(POINT_REGEX, n)]
    if bad:  # cannot happen with numbers; a guard for the wildcard constraint
        raise SweepError(f"sweep: point names {bad} do not match {POINT_REGEX}")
    return out


def field_of(point: Mapping[str, Any]) -> float:
    """The z component of the field of an :func:`expand_sweep` point (the abscissa of the phase diagram)."""
    return float(point["system"].get("B", [0.0, 0.0, 0.0])[2])
