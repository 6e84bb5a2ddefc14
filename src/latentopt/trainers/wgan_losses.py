"""The loss terms of the energy-conditioned RUGAN's WGAN training (:mod:`latentopt.trainers.gan`).

Loss functions (the critic ``C`` maximizes the Wasserstein estimate, the generator ``G``
minimizes it), Mills et al. 2019 with lambda1 = 10, lambda2 = 2:

- critic:    ``L_C = E[C(G(z, e), e)] - E[C(x, e)] + lambda1 GP + lambda2 CT``;
- generator: ``L_G = -E[C(G(z, e), e)]``;
- gradient penalty (Gulrajani et al., NeurIPS 2017, Eq. 3):
  ``GP = E[(||grad_xhat C(xhat, e)||_2 - 1)^2]`` at ``xhat = eps x + (1 - eps) G(z, e)``,
  ``eps ~ U[0, 1]`` per sample;
- consistency term (Wei et al., ICLR 2018, Eq. 4-5): two passes ``x', x''`` of the same
  real state through the critic with independent dropout masks,
  ``CT = E[max(0, (C(x') - C(x''))^2 + 0.1 ||phi(x') - phi(x'')||^2 / dim(phi) - M')]``
  with ``phi`` the critic's last hidden layer and margin ``M'`` (0 in Wei et al.'s code).

Also the exact-energy term of the generator loss (not in Mills et al.) and the monitor of
generated energies against requested ones.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import torch

from latentopt.models.rugan import RUGANGenerator
from latentopt.physics import torch_physics
from latentopt.physics.hamiltonian import ChiralMagnet

__all__ = ["consistency_term", "energy_loss", "generated_energy_monitor", "gradient_penalty", "pearson"]

Critic = Callable[..., Any]


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, energies: torch.Tensor,
                     eps: torch.Tensor) -> torch.Tensor:
    """WGAN-GP penalty ``E[(||grad C(xhat)||_2 - 1)^2]`` at ``xhat = eps x + (1 - eps) x_fake``.

    Gulrajani et al., "Improved training of Wasserstein GANs", NeurIPS 2017, Eq. 3. The
    gradient is taken with respect to the state only (the label is a condition), and with
    ``create_graph=True`` so that the penalty can be back-propagated into the critic.

    Parameters
    ----------
    critic : callable
        ``critic(x (n, 3, H, W), energies (n,)) -> scores (n,)``.
    real, fake : Tensor, shape (n, 3, H, W)
    energies : Tensor, shape (n,)
        Labels of the pairs.
    eps : Tensor, shape (n,)
        Interpolation weights in [0, 1].

    Returns
    -------
    Tensor, scalar
        Zero for a critic that is linear in ``x`` with a unit-norm slope.
    """
    if real.shape != fake.shape:
        raise ValueError(f"fake: expected the shape of real {tuple(real.shape)}, got {tuple(fake.shape)}")
    w = eps.to(real.dtype).reshape(-1, *([1] * (real.ndim - 1)))
    xhat = (w * real + (1.0 - w) * fake.detach()).requires_grad_(True)
    score = critic(xhat, energies)
    (grad,) = torch.autograd.grad(score.sum(), xhat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1.0).pow(2).mean()


def consistency_term(critic: Critic, real: torch.Tensor, energies: torch.Tensor,
                     margin: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Consistency term of Wei et al. (ICLR 2018), from two dropout-perturbed critic passes.

    ``CT = E[max(0, (C(x') - C(x''))^2 + 0.1 * mean_k (phi_k(x') - phi_k(x''))^2 - margin)]``
    where ``x'``, ``x''`` denote two passes of the same real states with independent
    dropout masks (the critic must be in train mode) and ``phi`` its pooled last hidden
    layer.

    Parameters
    ----------
    critic : callable
        ``critic(x, energies, return_features=True) -> (scores (n,), phi (n, k))``.
    real : Tensor, shape (n, 3, H, W)
    energies : Tensor, shape (n,)
    margin : float
        ``M'``, >= 0.

    Returns
    -------
    ct : Tensor, scalar
    score : Tensor, shape (n,)
        The scores of the first pass (reused as ``C(x)`` in the critic loss).
    """
    if margin < 0:
        raise ValueError(f"margin: expected a float >= 0, got {margin}")
    s1, f1 = critic(real, energies, return_features=True)
    s2, f2 = critic(real, energies, return_features=True)
    ct = (s1 - s2).pow(2) + 0.1 * (f1 - f2).pow(2).mean(dim=1)
    return torch.clamp(ct - margin, min=0.0).mean(), s1


def energy_loss(x: torch.Tensor, requested: torch.Tensor, model: ChiralMagnet, scale: float) -> torch.Tensor:
    """``mean(((e(x) - requested) / scale)^2)`` with the exact, differentiable energy per spin of ``x``."""
    L = x.shape[-1]
    magnet = model if model.L == L else dataclasses.replace(model, L=L)
    e = torch_physics.energy_per_spin(x, magnet)
    return ((e - requested) / scale).pow(2).mean()


def pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double() - a.double().mean(), b.double() - b.double().mean()
    den = float(a.norm() * b.norm())
    return float((a * b).sum()) / den if den > 0 else math.nan


@torch.no_grad()
def generated_energy_monitor(gen: RUGANGenerator, model: ChiralMagnet | None, z: torch.Tensor,
             requested: torch.Tensor) -> tuple[float, float]:
    """Exact energies of states generated (eval mode) from fixed noise: ``(MAE, Pearson r)`` vs requested."""
    if model is None:
        return math.nan, math.nan
    was_training = gen.training
    gen.eval()
    e = torch_physics.energy_per_spin(gen(z, requested).double(), model)
    gen.train(was_training)
    return float((e - requested.double()).abs().mean()), pearson(e, requested)
