"""Fully connected VAE for trajectories (control histories) with a Gaussian decoder.

Biswas et al. 2023 (zBO), Table 1 step 2 and Sec. 3: a standard VAE with a 2D latent
space and a Gaussian decoder sampler of fixed standard deviation ``sigma`` (0.3 there)
compresses ``T``-dimensional trajectories so that Bayesian optimization can work in two
dimensions; the lecture uses the same construction for FerroSIM field histories.

Trajectories are standardized inside the model with a scalar ``offset`` and ``scale``
(the mean and standard deviation of all training values, stored as buffers), so
:meth:`TrajectoryVAE.encode` takes and :meth:`TrajectoryVAE.decode` returns physical
units. The loss (:func:`trajectory_vae_loss`) is the negative ELBO in standardized units.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor, nn

from latentopt.models.vae import sample_latent

__all__ = ["TrajectoryVAE", "trajectory_vae_loss"]


def _mlp(sizes: Sequence[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    return layers


class TrajectoryVAE(nn.Module):
    """VAE for trajectories ``(n, T)``: MLP encoder and decoder with tanh activations.

    Encoder: ``T -> hidden[0] -> ... -> hidden[-1] -> 2 * latent_dim`` (``mu, logvar``).
    Decoder: ``latent_dim -> hidden[-1] -> ... -> hidden[0] -> T`` (the mean of the
    Gaussian decoder, no output activation). The smooth tanh keeps the decoded trajectory
    a smooth function of ``z``, which the Gaussian-process surrogate of BO relies on.

    Parameters
    ----------
    T : int
        Trajectory length.
    latent_dim : int
        Latent dimension (2 for zBO).
    hidden : sequence of int
        Hidden layer widths, input side first.
    sigma : float
        Standard deviation of the Gaussian decoder, in standardized units.
    offset, scale : float
        Standardization ``x_std = (x - offset) / scale``.

    Attributes
    ----------
    hparams : dict
        The constructor arguments; ``TrajectoryVAE(**hparams)`` rebuilds the model.
    """

    def __init__(self, T: int, latent_dim: int = 2, hidden: Sequence[int] = (256, 128), sigma: float = 0.3,
                 offset: float = 0.0, scale: float = 1.0):
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        if int(T) < 1 or int(latent_dim) < 1 or not hidden or min(hidden) < 1:
            raise ValueError(f"T, latent_dim and hidden widths must be positive, got {T}, {latent_dim}, {hidden}")
        if not sigma > 0 or not scale > 0:
            raise ValueError(f"sigma and scale must be positive, got {sigma}, {scale}")
        self.hparams: dict[str, Any] = dict(T=int(T), latent_dim=int(latent_dim), hidden=hidden, sigma=float(sigma),
                                            offset=float(offset), scale=float(scale))
        self.T, self.latent_dim, self.sigma = int(T), int(latent_dim), float(sigma)
        self.register_buffer("offset", torch.tensor(float(offset)))
        self.register_buffer("scale", torch.tensor(float(scale)))
        self.encoder = nn.Sequential(*_mlp((self.T,) + hidden), nn.Linear(hidden[-1], 2 * self.latent_dim))
        self.decoder = nn.Sequential(*_mlp((self.latent_dim,) + hidden[::-1]), nn.Linear(hidden[0], self.T))

    def standardize(self, x: Tensor) -> Tensor:
        return (x - self.offset) / self.scale

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior ``mu, logvar`` (each ``(n, latent_dim)``) of trajectories ``x (n, T)`` in physical units."""
        if x.ndim != 2 or x.shape[1] != self.T:
            raise ValueError(f"x: expected shape (n, {self.T}), got {tuple(x.shape)}")
        return self.encoder(self.standardize(x)).chunk(2, dim=1)

    def decode_standardized(self, z: Tensor) -> Tensor:
        """Decoder mean in standardized units, ``(n, T)``."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z: expected shape (n, {self.latent_dim}), got {tuple(z.shape)}")
        return self.decoder(z)

    def decode(self, z: Tensor) -> Tensor:
        """Decoded trajectories (decoder mean) in physical units, ``(n, T)``, of codes ``z (n, latent_dim)``."""
        return self.decode_standardized(z) * self.scale + self.offset

    def forward(self, x: Tensor, sample: bool = True) -> tuple[Tensor, Tensor, Tensor]:
        """``(x_out, mu, logvar)``; ``x_out`` is the standardized decoder mean at ``z ~ q(z|x)`` (or ``mu``)."""
        mu, logvar = self.encode(x)
        z = sample_latent(mu, logvar) if sample else mu
        return self.decode_standardized(z), mu, logvar


def trajectory_vae_loss(model: TrajectoryVAE, x: Tensor, sample: bool = True, beta: float = 1.0
                        ) -> tuple[Tensor, Tensor, Tensor]:
    """Negative ELBO of the Gaussian-decoder VAE (Kingma & Welling 2014), batch means.

    Per sample, in standardized units (additive constants dropped)::

        L_RC = sum_t (x_t - x_out_t)^2 / (2 sigma^2)
        L_KL = 0.5 * sum_k (exp(logvar_k) + mu_k^2 - logvar_k - 1)
        L    = L_RC + beta * L_KL

    Parameters
    ----------
    model : TrajectoryVAE
    x : Tensor, shape (n, T)
        Trajectories in physical units.
    sample : bool
        Decode a reparameterised sample (training) or ``mu``.
    beta : float
        KL weight.

    Returns
    -------
    loss, reconstruction, kl : Tensor, scalar
    """
    x_out, mu, logvar = model(x, sample=sample)
    reconstruction = (model.standardize(x) - x_out).pow(2).sum(dim=1).mean() / (2 * model.sigma ** 2)
    kl = 0.5 * (logvar.exp() + mu.pow(2) - logvar - 1.0).sum(dim=1).mean()
    return reconstruction + beta * kl, reconstruction, kl
