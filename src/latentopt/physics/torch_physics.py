"""Batched, differentiable torch versions of the energy and observables.

Same conventions and formulas as :mod:`latentopt.physics.hamiltonian` and
:mod:`latentopt.physics.observables` (agreement to 1e-5 is tested); these operate on
tensors ``(n, 3, L, L)`` on any device so that the latent optimizers can evaluate and
differentiate many decoded states at once. Neighbours are taken with ``torch.roll``
(periodic); no Python loop over sites.
"""

from __future__ import annotations

import math

import torch

from .hamiltonian import ChiralMagnet


def _check(spins: torch.Tensor) -> None:
    if spins.ndim != 4 or spins.shape[1] != 3:
        raise ValueError(f"spins: expected a tensor (n, 3, L, L), got {tuple(spins.shape)}")


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(dim=1)


def _neighbour(spins: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """The state seen from site r + (dx, dy): ``out[..., y, x] = spins[..., y + dy, x + dx]``."""
    return torch.roll(spins, shifts=(-dy, -dx), dims=(-2, -1))


def _dmi_term(d_vec, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``D . (a x b)`` for a constant DM vector, shape (n, L, L)."""
    cross = torch.linalg.cross(a, b, dim=1)
    return d_vec[0] * cross[:, 0] + d_vec[1] * cross[:, 1] + d_vec[2] * cross[:, 2]


def energy_density(spins: torch.Tensor, model: ChiralMagnet) -> torch.Tensor:
    """Local energy density (bond energies split half to each site, plus on-site terms).

    Parameters
    ----------
    spins : Tensor, shape (n, 3, L, L)
    model : ChiralMagnet

    Returns
    -------
    Tensor, shape (n, L, L)
        Units of J; sums to the total energy (design.md).
    """
    _check(spins)
    d = model.dmi_vectors()
    sx, sy = _neighbour(spins, 1, 0), _neighbour(spins, 0, 1)
    e_x = -model.J * _dot(spins, sx) - _dmi_term(d[0], spins, sx)  # +x bond of each site
    e_y = -model.J * _dot(spins, sy) - _dmi_term(d[1], spins, sy)  # +y bond of each site
    bonds = 0.5 * (e_x + torch.roll(e_x, 1, dims=-1) + e_y + torch.roll(e_y, 1, dims=-2))
    B = model.B
    onsite = -model.K * spins[:, 2] ** 2 - (B[0] * spins[:, 0] + B[1] * spins[:, 1] + B[2] * spins[:, 2])
    return bonds + onsite


def energy_per_spin(spins: torch.Tensor, model: ChiralMagnet) -> torch.Tensor:
    """Energy per spin ``e = E / L^2``, shape ``(n,)`` (units of J)."""
    return energy_density(spins, model).mean(dim=(-2, -1))


def _solid_angle(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    triple = _dot(a, torch.linalg.cross(b, c, dim=1))
    return 2.0 * torch.atan2(triple, 1.0 + _dot(a, b) + _dot(b, c) + _dot(c, a))


def topological_charge(spins: torch.Tensor) -> torch.Tensor:
    """Topological charge W (Berg & Luscher 1981), shape ``(n,)``.

    Triangles (1, 2, 3) and (1, 3, 4) of each plaquette 1=(x, y), 2=(x+1, y),
    3=(x+1, y+1), 4=(x, y+1); see :func:`latentopt.physics.observables.topological_charge`
    for the formula and sign convention.
    """
    _check(spins)
    s2, s3, s4 = _neighbour(spins, 1, 0), _neighbour(spins, 1, 1), _neighbour(spins, 0, 1)
    omega = _solid_angle(spins, s2, s3) + _solid_angle(spins, s3, s4)
    return omega.sum(dim=(-2, -1)) / (4.0 * math.pi)


def magnetization_z(spins: torch.Tensor) -> torch.Tensor:
    """``M_z = mean s_z``, shape ``(n,)``."""
    _check(spins)
    return spins[:, 2].mean(dim=(-2, -1))


def correlation(spins: torch.Tensor, a=(1, 0)) -> torch.Tensor:
    """``C(a) = < s(r) . s(r + a) >`` for the lattice vector ``a = (a_x, a_y)``, shape ``(n,)``."""
    _check(spins)
    return _dot(spins, _neighbour(spins, int(a[0]), int(a[1]))).mean(dim=(-2, -1))


def boundary_correlation(spins: torch.Tensor, s_bc: torch.Tensor) -> torch.Tensor:
    """``C_BC = < S_BC(r) . s(r) >`` over the sites where ``|S_BC| > 0``, shape ``(n,)``.

    Parameters
    ----------
    spins : Tensor, shape (n, 3, L, L)
    s_bc : Tensor, shape (3, L, L)
        Boundary map, zero vectors where undefined (:mod:`latentopt.physics.boundary`).
    """
    _check(spins)
    if tuple(s_bc.shape) != tuple(spins.shape[1:]):
        raise ValueError(f"boundary map: expected shape {tuple(spins.shape[1:])}, got {tuple(s_bc.shape)}")
    mask = s_bc.norm(dim=0) > 0
    n_defined = int(mask.sum())
    if n_defined == 0:
        raise ValueError("boundary map: defines no site (all vectors are zero)")
    return _dot(spins, s_bc[None]).sum(dim=(-2, -1)) / n_defined
