"""The single-spin benchmark of Bushuev & Lobanov (2020), Sec. 3, Figs. 1-2, in closed form.

One classical spin with an easy axis along x and an easy plane normal to z:

    E(S) = -K1 S_x^2 - K2 S_z^2,    K1 = 1, K2 = -2  (K1 > 0, K2 < 0).

With ``S = (cos t cos p, cos t sin p, sin t)`` (t the latitude, p the longitude),
``E = -K1 cos^2 t cos^2 p - K2 sin^2 t``.

Minima: ``S = (+-1, 0, 0)``, ``E_min = -K1``.
Saddles (transition states): ``S = (0, +-1, 0)``, ``E_TS = 0``. (The paper's text gives
the TS energy as "-K^2", a typo: at ``S_x = S_z = 0`` both terms vanish.)

Minimum energy path: the equator ``t = 0``, ``S(p) = (cos p, sin p, 0)``, ``p`` from 0 to
``+pi`` (through ``+y``) or ``-pi`` (through ``-y``). Proof: for fixed ``p``,
``dE/dt = sin 2t (K1 cos^2 p - K2)`` vanishes at ``t = 0``, where ``d^2E/dt^2 =
2(K1 cos^2 p - K2) > 0``, so every point of the equator is a minimum across the path, and
along it ``E(p) = -K1 cos^2 p`` rises monotonically to the saddle: the projected gradient
vanishes and the path is the MEP (Eq. 1 of the paper). Energy along the MEP as a function
of arc length ``s = p``: ``E(s) = -K1 cos^2 s``. Barrier ``Delta E = E_TS - E_min = K1``.
Any path from ``+x`` to ``-x`` crosses the great circle ``S_x = 0``, where
``E = -K2 S_z^2 >= 0``, so ``Q[S] = max E >= Q0 = 0`` for every path (mountain pass).

Hessian on the tangent space (Riemannian, ``H = P (d^2E) P - (S . dE) I``):
at the saddle ``(0, 1, 0)``: eigenvalues ``-2 K1`` (along x, unstable) and ``-2 K2`` (along z);
at the minimum ``(1, 0, 0)``: ``2 K1`` (along y) and ``2 (K1 - K2)`` (along z).
"""

from __future__ import annotations

import math

import torch

__all__ = ["K1", "K2", "energy", "energy_fn", "minima", "saddles", "barrier", "saddle_energy",
           "mep", "mep_energy", "hessian_eigenvalues_saddle", "hessian_eigenvalues_minimum"]

K1 = 1.0
K2 = -2.0


def _check(k1: float, k2: float) -> None:
    if not k1 > 0:
        raise ValueError(f"K1: expected an easy axis K1 > 0, got {k1}")
    if not k2 < 0:
        raise ValueError(f"K2: expected an easy plane K2 < 0, got {k2}")


def energy(s: torch.Tensor, k1: float = K1, k2: float = K2) -> torch.Tensor:
    """``E = -K1 S_x^2 - K2 S_z^2`` for states ``(n, 3)``; returns ``(n,)`` (energy units of K1).

    Raises
    ------
    ValueError
        If ``s`` is not ``(n, 3)``.
    """
    if s.ndim != 2 or s.shape[1] != 3:
        raise ValueError(f"s: expected single-spin states (n, 3), got {tuple(s.shape)}")
    return -k1 * s[:, 0] ** 2 - k2 * s[:, 2] ** 2


def energy_fn(k1: float = K1, k2: float = K2):
    """The energy as a callable ``(n, 3) -> (n,)`` for :mod:`latentopt.optimizers.neb`."""
    _check(k1, k2)
    return lambda s: energy(s, k1, k2)


def minima(dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """The two minima ``(+1, 0, 0)`` and ``(-1, 0, 0)``, each shape (3,)."""
    return torch.tensor([1.0, 0.0, 0.0], dtype=dtype), torch.tensor([-1.0, 0.0, 0.0], dtype=dtype)


def saddles(dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """The two first-order saddles ``(0, +1, 0)`` and ``(0, -1, 0)``, each shape (3,)."""
    return torch.tensor([0.0, 1.0, 0.0], dtype=dtype), torch.tensor([0.0, -1.0, 0.0], dtype=dtype)


def saddle_energy(k1: float = K1, k2: float = K2) -> float:
    """``Q0 = E_TS = 0`` (exact)."""
    _check(k1, k2)
    return 0.0


def barrier(k1: float = K1, k2: float = K2) -> float:
    """``Delta E = E_TS - E_min = K1`` (exact)."""
    _check(k1, k2)
    return float(k1)


def mep(n_images: int, side: int = 1, dtype=torch.float64) -> torch.Tensor:
    """The exact MEP discretised by ``n_images`` equally spaced images (arc length ``pi``).

    Parameters
    ----------
    n_images : int
        At least 3.
    side : {+1, -1}
        Through the saddle ``(0, side, 0)``.

    Returns
    -------
    Tensor, shape (n_images, 3)
        ``(cos p_k, side sin p_k, 0)`` with ``p_k = pi k / (n_images - 1)``.
    """
    if int(n_images) < 3:
        raise ValueError(f"n_images: expected at least 3, got {n_images}")
    if side not in (1, -1):
        raise ValueError(f"side: expected +1 or -1, got {side}")
    p = torch.linspace(0.0, math.pi, int(n_images), dtype=dtype)
    return torch.stack([torch.cos(p), side * torch.sin(p), torch.zeros_like(p)], dim=1)


def mep_energy(s: torch.Tensor, k1: float = K1) -> torch.Tensor:
    """Energy along the MEP as a function of the arc length ``s`` from ``+x``: ``-K1 cos^2 s``."""
    return -k1 * torch.cos(torch.as_tensor(s)) ** 2


def hessian_eigenvalues_saddle(k1: float = K1, k2: float = K2) -> tuple[float, float]:
    """Tangent-space Hessian eigenvalues at ``(0, +-1, 0)``, ascending: ``(-2 K1, -2 K2)``."""
    _check(k1, k2)
    return tuple(sorted((-2.0 * k1, -2.0 * k2)))


def hessian_eigenvalues_minimum(k1: float = K1, k2: float = K2) -> tuple[float, float]:
    """Tangent-space Hessian eigenvalues at ``(+-1, 0, 0)``, ascending: ``(2 K1, 2 (K1 - K2))``."""
    _check(k1, k2)
    return tuple(sorted((2.0 * k1, 2.0 * (k1 - k2))))
