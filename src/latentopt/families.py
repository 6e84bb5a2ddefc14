"""Trajectory families: a registry of parametric control histories and training sets drawn from it.

A *trajectory* is a control history sampled at ``T`` equally spaced times
``t_k = k / (T - 1)``, ``k = 0 .. T-1`` (so ``t`` runs over ``[0, 1]``): the electric
field driving FerroSIM, or a KL-weight schedule. Training sets are drawn from
*families*: parametric functions with a range per parameter (Biswas et al. 2023,
Table 1 step 1: "trajectories from domain-expert knowledge").

Families live in :data:`FAMILIES`, a registry name -> :class:`Family`; add one with
:func:`register_family`. Parameters are drawn uniformly from their ranges.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

#: a family function: ``f(t (T,), params (n, k), rng) -> (n, T)``
FamilyFunction = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Family:
    """A parametric trajectory family.

    Attributes
    ----------
    name : str
    parameters : tuple of str
        Parameter names, in the column order of the ``params`` arrays.
    defaults : dict
        Default range ``(low, high)`` of every parameter.
    function : FamilyFunction
        Vectorized over samples: ``function(t, params, rng)`` returns ``(n, T)``; ``rng``
        is for families with noise and must be the only source of randomness.
    doc : str
        The formula, for captions.
    """

    name: str
    parameters: tuple[str, ...]
    defaults: dict
    function: FamilyFunction
    doc: str


FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    """Add ``family`` to :data:`FAMILIES` (its name must be new) and return it."""
    if family.name in FAMILIES:
        raise ValueError(f"trajectory family {family.name!r} is already registered")
    missing = set(family.parameters) ^ set(family.defaults)
    if missing:
        raise ValueError(f"family {family.name!r}: defaults must give exactly the parameters, differ in {missing}")
    FAMILIES[family.name] = family
    return family


def _damped_sine(t: np.ndarray, params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    A, alpha, omega, B = (params[:, k, None] for k in range(4))
    return A * np.exp(alpha * t) * np.sin(omega * t) + B


register_family(Family(
    name="damped_sine",
    parameters=("A", "alpha", "omega", "B"),
    # Kalinin lecture, "VAE encoding of domain trajectories"
    defaults={"A": (0.0, 0.75), "alpha": (-2.75, 2.75), "omega": (2 * math.pi, 8 * math.pi / 3), "B": (-0.5, 0.5)},
    function=_damped_sine,
    doc="A exp(alpha t) sin(omega t) + B",
))


def time_axis(steps: int) -> np.ndarray:
    """``t_k = k / (steps - 1)`` (``[0.]`` for one step), shape ``(steps,)``."""
    if int(steps) < 1:
        raise ValueError(f"steps: expected a positive int, got {steps}")
    return np.linspace(0.0, 1.0, int(steps)) if steps > 1 else np.zeros(1)


def family_ranges(name: str, ranges: Mapping[str, Sequence[float]] | None = None) -> np.ndarray:
    """The ``(k, 2)`` array of ``(low, high)`` per parameter of a family, defaults overridden by ``ranges``.

    Raises
    ------
    KeyError
        For an unknown family.
    ValueError
        For an unknown parameter or a range with ``low > high``.
    """
    if name not in FAMILIES:
        raise KeyError(f"unknown trajectory family {name!r}; registered: {sorted(FAMILIES)}")
    fam = FAMILIES[name]
    ranges = dict(ranges or {})
    unknown = set(ranges) - set(fam.parameters)
    if unknown:
        raise ValueError(f"family {name!r}: unknown parameters {sorted(unknown)}; expected {list(fam.parameters)}")
    out = np.array([ranges.get(p, fam.defaults[p]) for p in fam.parameters], dtype=np.float64).reshape(-1, 2)
    bad = [p for p, (lo, hi) in zip(fam.parameters, out) if not lo <= hi]
    if bad:
        raise ValueError(f"family {name!r}: range of {bad} has low > high")
    return out


def sample_family(name: str, n: int, steps: int, seed: int,
                  ranges: Mapping[str, Sequence[float]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` trajectories of a family with parameters uniform in their ranges.

    Parameters
    ----------
    name : str
        A key of :data:`FAMILIES`.
    n, steps : int
        Number of trajectories and time steps ``T``.
    seed : int
    ranges : mapping, optional
        ``{parameter: (low, high)}`` overriding the family's defaults.

    Returns
    -------
    trajectories : ndarray of float64, shape (n, T)
    params : ndarray of float64, shape (n, k)
        In the order of ``FAMILIES[name].parameters``.
    """
    bounds = family_ranges(name, ranges)
    rng = np.random.default_rng(np.random.SeedSequence([seed, _stable_hash(name)]))
    params = rng.uniform(bounds[:, 0], bounds[:, 1], size=(int(n), len(bounds)))
    t = time_axis(steps)
    traj = FAMILIES[name].function(t, params, rng)
    return np.asarray(traj, dtype=np.float64).reshape(int(n), len(t)), params


def _stable_hash(text: str) -> int:
    """A process-independent 64-bit integer for ``text`` (Python's ``hash`` is salted)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def sample_training_set(families: Mapping[str, Mapping], n: int, steps: int, seed: int) -> dict[str, np.ndarray]:
    """A training set drawn from several families.

    ``n`` is split over the families in proportion to their ``weight`` (default 1; the
    remainder goes to the first families). Rows are then shuffled.

    Parameters
    ----------
    families : mapping
        ``{family: {"weight": w, "ranges": {parameter: [low, high]}}}`` (both optional).
    n, steps, seed : int

    Returns
    -------
    dict
        ``trajectories (n, T)``; ``params (n, k)`` with ``k`` the largest parameter count
        of the families (NaN-padded); ``family (n,)`` int index into ``names``;
        ``names``: the family names (list); ``parameters``: list of parameter-name lists.
    """
    if not families:
        raise ValueError("families: at least one trajectory family is required")
    names = list(families)
    weights = np.array([float(families[f].get("weight", 1.0)) for f in names])
    if (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"families: weights must be >= 0 and not all 0, got {weights.tolist()}")
    share = n * weights / weights.sum()
    counts = np.floor(share).astype(int)
    # the remainder goes to the largest fractional parts (never to a family of weight 0)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    k = max(len(FAMILIES[f].parameters) if f in FAMILIES else 0 for f in names)
    traj, params, fam = [], [], []
    for i, (name, count) in enumerate(zip(names, counts)):
        x, p = sample_family(name, count, steps, seed, families[name].get("ranges"))
        traj.append(x)
        params.append(np.pad(p, ((0, 0), (0, k - p.shape[1])), constant_values=np.nan))
        fam.append(np.full(count, i))
    order = np.random.default_rng(np.random.SeedSequence([seed, 0x5])).permutation(n)
    return {"trajectories": np.concatenate(traj)[order], "params": np.concatenate(params)[order],
            "family": np.concatenate(fam)[order].astype(np.int64), "names": names,
            "parameters": [list(FAMILIES[f].parameters) for f in names]}


# --- KL-weight schedules beta_c(t) (Biswas et al. 2023, Figs. 5a and 8a) -------------------------------------------
# Defaults keep every value within the paper's bounds 1 <= beta_c <= 50 (Sec. 3); override the ranges for other
# bounds (e.g. 0.001 .. 0.05 for the nanoparticles, Sec. 4).

def _cooldown(t: np.ndarray, params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    high, low, hold, ramp = (params[:, k, None] for k in range(4))
    frac = np.clip((t - hold) / np.maximum(ramp, 1e-12), 0.0, 1.0)
    return high + (low - high) * frac


register_family(Family(
    name="cooldown",
    parameters=("high", "low", "hold", "ramp"),
    # pyroVED's jrVAE example: 40 for the first epochs, then linearly down to 3
    defaults={"high": (10.0, 50.0), "low": (1.0, 10.0), "hold": (0.0, 0.3), "ramp": (0.1, 0.7)},
    function=_cooldown,
    doc="high for t <= hold, then linear to low over ramp, then low",
))


def _segments(t: np.ndarray, params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((len(params), len(t)))
    for i, (n_seg, low, high, noise) in enumerate(params):
        k = max(1, int(round(n_seg)))
        edges = np.sort(rng.uniform(0.0, 1.0, size=k - 1))
        levels = rng.uniform(low, high, size=k)
        x = levels[np.searchsorted(edges, t, side="right")] + rng.normal(0.0, noise, size=len(t))
        out[i] = np.clip(x, low, high)
    return out


register_family(Family(
    name="segments",
    parameters=("n_segments", "low", "high", "noise"),
    defaults={"n_segments": (2.0, 6.0), "low": (1.0, 5.0), "high": (20.0, 50.0), "noise": (0.0, 2.0)},
    function=_segments,
    doc="round(n_segments) constant levels ~ U(low, high) between uniform random breakpoints, "
        "plus N(0, noise^2) per step, clipped to [low, high]",
))


def _periodic(t: np.ndarray, params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    low, high, cycles, phase = (params[:, k, None] for k in range(4))
    return low + (high - low) * 0.5 * (1.0 + np.sin(2 * math.pi * cycles * t + phase))


register_family(Family(
    name="periodic",
    parameters=("low", "high", "cycles", "phase"),
    defaults={"low": (1.0, 10.0), "high": (10.0, 50.0), "cycles": (0.5, 4.0), "phase": (0.0, 2 * math.pi)},
    function=_periodic,
    doc="low + (high - low) (1 + sin(2 pi cycles t + phase)) / 2",
))
