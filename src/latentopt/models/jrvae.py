"""Joint rotationally invariant VAE (jrVAE) for images, and the vanilla VAE baseline.

After the jrVAE of pyroVED (``pyroved.models.jiVAE`` with ``invariances=["r"]``;
Ziatdinov & Kalinin 2021, arXiv:2104.10180) used by Biswas et al. 2023, Sec. 2.1:

- an MLP encoder maps an image ``(H, W)`` to a diagonal Gaussian over the continuous
  latents ``z_c = (phi, [dx, dy], z_1 .. z_content)`` -- the in-plane rotation angle
  ``phi`` (radians), optionally a translation, and the *content* latents -- and to the
  logits of a categorical posterior ``q(c|x)`` over ``D_c`` discrete classes. Unlike
  pyroVED, the posterior mean of the angle is ``atan2(a, b + 1)`` of two encoder outputs
  (continuous around the circle, 0 at initialisation) instead of one free output;
- the decoder is **rotation-aware by construction**. Two variants:

  * ``decoder="coordinate"`` (pyroVED's ``sDecoderNet``, the spatial-VAE of Bepler et
    al. 2019): an MLP evaluated at every pixel on *transformed coordinates*,
    ``x(r) = sigmoid(g(R(-phi) (r - t), z, c))`` with ``r = (x, y)`` pixel centres in
    ``[-1, 1]^2`` (x to the right, y up), ``R(a)`` the counter-clockwise rotation by ``a``
    and ``t = dx_prior * (dx, dy)``: the image of ``g`` rotated counter-clockwise (as
    displayed) by ``phi`` about the centre and shifted by ``t``;
  * ``decoder="image"`` (a spatial transformer): an MLP decodes the unrotated image
    ``sigmoid(g(z, c))`` of ``H x W`` pixels, which is then rotated by ``phi`` and shifted
    with :func:`torch.nn.functional.grid_sample` (bilinear, black outside) -- the same
    geometry, cheaper on a CPU, with bilinear blur.

  Either way ``decode(z, c, phi = pi/2)`` is ``numpy.rot90`` of ``decode(z, c, 0)`` (to
  rounding, tested: a square pixel grid maps onto itself), the convention of
  :func:`skimage.transform.rotate` used for the data (:mod:`latentopt.images`);

- the prior is ``p(z_c) = N(0, I)`` for every continuous latent except the angle,
  ``phi ~ N(0, s_phi^2)`` radians (``angle_prior``; pyroVED: ``s_phi = 1``), and ``p(c)``
  uniform. ``beta_c`` weighs the KL of all continuous latents, the angle included;
- the loss (Biswas et al. 2023, Eq. 1), per image, is::

      L = phi_rec + beta_c(i) KL(q(z_c|x) || N(0, I)) + beta_d(i) KL(q(c|x) || U(D_c))

  with ``KL(q(c|x) || U) = sum_k q_k log(D_c q_k)``. The reconstruction term
  ``phi_rec = -log p(x | z_c, c)`` (additive constants dropped) is a Bernoulli
  cross-entropy ``-sum_p [x_p log m_p + (1 - x_p) log(1 - m_p)]`` or a Gaussian
  ``sum_p (x_p - m_p)^2 / (2 sigma^2)`` of the decoded mean ``m``. Its expectation over
  ``q(c|x)`` is taken either exactly, decoding every class (``discrete="enumerate"``,
  what pyroVED does with Pyro's parallel enumeration), or with one relaxed one-hot
  sample (``discrete="gumbel"``: Gumbel-softmax / Concrete, Jang et al. 2017, Maddison
  et al. 2017, at the trainer's temperature).

The vanilla VAE baseline (:func:`vanilla_vae`) is the same network without the
rotation, translation and discrete latents: 2 continuous latents, ``D_c = 0``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "DECODERS",
    "DISCRETE_ESTIMATORS",
    "LIKELIHOODS",
    "JointVAE",
    "gumbel_noise",
    "jrvae_loss",
    "latent_noise",
    "pixel_coordinates",
    "vanilla_vae",
]

DECODERS = ("coordinate", "image")
LIKELIHOODS = ("bernoulli", "gaussian")
DISCRETE_ESTIMATORS = ("enumerate", "gumbel")
_EPS = 1e-6


def pixel_coordinates(H: int, W: int) -> Tensor:
    """Pixel centres ``(H * W, 2)`` as ``(x, y)`` in ``[-1, 1]``, x to the right, y up; row-major.

    Row ``i``, column ``j`` is ``x = -1 + 2 j / (W - 1)``, ``y = 1 - 2 i / (H - 1)``, so a
    90-degree rotation about the centre maps the pixel grid of a square image onto itself.
    """
    x = torch.linspace(-1.0, 1.0, W)
    y = torch.linspace(1.0, -1.0, H)
    yy, xx = torch.meshgrid(y, x, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def _mlp(sizes: Sequence[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    return layers


class JointVAE(nn.Module):
    """jrVAE (and, without rotation and classes, a vanilla VAE) for images ``(n, H, W)`` in ``[0, 1]``.

    Parameters
    ----------
    H, W : int
        Image size.
    content_dim : int
        Continuous content latents (2 for the paper's 2D manifolds), ``>= 1``.
    discrete_dim : int
        Number of discrete classes ``D_c``; 0 for no discrete latent, else ``>= 2``.
    rotation : bool
        Add the rotation-angle latent ``phi`` (radians, prior ``N(0, 1)``).
    translation : bool
        Add two translation latents ``(dx, dy)``, scaled by ``dx_prior`` (in units of the
        half image width) before shifting.
    hidden : sequence of int
        Hidden widths of the encoder (input side first) and of the decoder (latent side
        first, reversed order), tanh activations (pyroVED's default).
    decoder : {"coordinate", "image"}
        See the module docstring.
    likelihood : {"bernoulli", "gaussian"}
    sigma : float
        Standard deviation of the Gaussian likelihood (ignored for Bernoulli).
    discrete : {"enumerate", "gumbel"}
        Estimator of the expectation over ``q(c|x)`` during training.
    dx_prior : float
        Scale of the translation latents.
    angle_prior : float
        Standard deviation ``s_phi`` (radians) of the angle prior ``N(0, s_phi^2)``;
        pyroVED uses 1, ``pi`` suits full in-plane rotations.

    Attributes
    ----------
    hparams : dict
        The constructor arguments; ``JointVAE(**hparams)`` rebuilds the model
        (:func:`latentopt.models.vae.save_model` / ``load_model(cls=JointVAE)``).
    z_dim : int
        Number of continuous latents ``rotation + 2 translation + content_dim``, in that order.
    """

    def __init__(self, H: int, W: int, content_dim: int = 2, discrete_dim: int = 3, rotation: bool = True,
                 translation: bool = False, hidden: Sequence[int] = (128, 128), decoder: str = "coordinate",
                 likelihood: str = "bernoulli", sigma: float = 0.5, discrete: str = "enumerate",
                 dx_prior: float = 0.1, angle_prior: float = 1.0):
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        if int(H) < 2 or int(W) < 2:
            raise ValueError(f"H, W: expected image sides >= 2, got {H}, {W}")
        if int(content_dim) < 1:
            raise ValueError(f"content_dim: expected >= 1, got {content_dim}")
        if int(discrete_dim) == 1 or int(discrete_dim) < 0:
            raise ValueError(f"discrete_dim: expected 0 (none) or >= 2 classes, got {discrete_dim}")
        if not hidden or min(hidden) < 1:
            raise ValueError(f"hidden: expected positive widths, got {hidden}")
        if decoder not in DECODERS:
            raise ValueError(f"decoder: expected one of {DECODERS}, got {decoder!r}")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood: expected one of {LIKELIHOODS}, got {likelihood!r}")
        if discrete not in DISCRETE_ESTIMATORS:
            raise ValueError(f"discrete: expected one of {DISCRETE_ESTIMATORS}, got {discrete!r}")
        if not sigma > 0 or not dx_prior > 0 or not angle_prior > 0:
            raise ValueError(f"sigma, dx_prior and angle_prior must be positive, got {sigma}, {dx_prior}, "
                             f"{angle_prior}")
        self.hparams: dict[str, Any] = dict(
            H=int(H), W=int(W), content_dim=int(content_dim), discrete_dim=int(discrete_dim),
            rotation=bool(rotation), translation=bool(translation), hidden=hidden, decoder=decoder,
            likelihood=likelihood, sigma=float(sigma), discrete=discrete, dx_prior=float(dx_prior),
            angle_prior=float(angle_prior))
        self.H, self.W = int(H), int(W)
        self.content_dim, self.discrete_dim = int(content_dim), int(discrete_dim)
        self.rotation, self.translation = bool(rotation), bool(translation)
        self.decoder_kind, self.likelihood, self.sigma = decoder, likelihood, float(sigma)
        self.discrete, self.dx_prior = discrete, float(dx_prior)
        self.z_dim = int(self.rotation) + 2 * int(self.translation) + self.content_dim
        prior_std = torch.ones(self.z_dim)
        if self.rotation:
            prior_std[0] = float(angle_prior)
        self.register_buffer("prior_logvar", 2 * torch.log(prior_std))
        P = self.H * self.W
        # one extra output with rotation: the angle mean is atan2 of two outputs (continuous on the circle)
        self.encoder = nn.Sequential(*_mlp((P,) + hidden),
                                     nn.Linear(hidden[-1], 2 * self.z_dim + int(self.rotation) + self.discrete_dim))
        code = self.content_dim + self.discrete_dim
        dec = hidden[::-1]
        if decoder == "coordinate":
            self.register_buffer("coords", pixel_coordinates(self.H, self.W))
            self.fc_coord = nn.Linear(2, dec[0])
            self.fc_code = nn.Linear(code, dec[0], bias=False)
            self.decoder = nn.Sequential(*_mlp(dec), nn.Linear(dec[-1], 1))
        else:
            self.decoder = nn.Sequential(*_mlp((code,) + dec), nn.Linear(dec[-1], P))

    # ----------------------------------------------------------------------------- encoder
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Posterior of images ``x (n, H, W)``.

        Returns
        -------
        mu, logvar : Tensor, shape (n, z_dim)
            Continuous latents in the order ``phi, [dx, dy], content``.
        logits : Tensor, shape (n, D_c)
            Unnormalised log-probabilities of ``q(c|x)`` (``(n, 0)`` without classes).
        """
        if x.ndim != 3 or x.shape[1:] != (self.H, self.W):
            raise ValueError(f"x: expected shape (n, {self.H}, {self.W}), got {tuple(x.shape)}")
        h = self.encoder(x.reshape(len(x), -1))
        if self.rotation:
            phi = torch.atan2(h[:, 0], h[:, 1] + 1.0).unsqueeze(1)  # +1: starts near angle 0
            h = h[:, 1:]
            mu = torch.cat([phi, h[:, 1:self.z_dim]], dim=1)
        else:
            mu = h[:, :self.z_dim]
        logvar = h[:, self.z_dim:2 * self.z_dim]
        return mu, logvar, h[:, 2 * self.z_dim:]

    def split(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Split continuous latents ``(n, z_dim)`` into ``phi (n,)``, ``shift (n, 2)`` and ``content (n, content_dim)``.

        Absent parts are zeros; ``shift`` is already scaled by ``dx_prior``.
        """
        k = 0
        phi = z.new_zeros(len(z))
        shift = z.new_zeros(len(z), 2)
        if self.rotation:
            phi, k = z[:, 0], 1
        if self.translation:
            shift, k = z[:, k:k + 2] * self.dx_prior, k + 2
        return phi, shift, z[:, k:]

    # ----------------------------------------------------------------------------- decoder
    def decode_logits(self, content: Tensor, c: Tensor | None = None, phi: Tensor | None = None,
                      shift: Tensor | None = None) -> Tensor:
        """Decoded images as logits (coordinate decoder) or probabilities (image decoder), ``(n, H, W)``.

        Use :meth:`decode` for probabilities; this is the numerically stable input of
        the loss. ``c (n, D_c)`` is a one-hot or relaxed class vector, ``phi (n,)`` the
        angle in radians, ``shift (n, 2)`` the translation ``t`` in ``[-1, 1]`` units.
        """
        n = len(content)
        if content.ndim != 2 or content.shape[1] != self.content_dim:
            raise ValueError(f"content: expected shape (n, {self.content_dim}), got {tuple(content.shape)}")
        if self.discrete_dim:
            if c is None or c.shape != (n, self.discrete_dim):
                raise ValueError(f"c: expected shape ({n}, {self.discrete_dim}), got "
                                 f"{None if c is None else tuple(c.shape)}")
            code = torch.cat([content, c.to(content.dtype)], dim=1)
        else:
            code = content
        phi = content.new_zeros(n) if phi is None else phi
        shift = content.new_zeros(n, 2) if shift is None else shift
        if self.decoder_kind == "coordinate":
            # r' = R(-phi) (r - t): the template g rotated counter-clockwise by phi, then shifted by t
            r = self.coords.unsqueeze(0) - shift.unsqueeze(1)                    # (n, P, 2)
            cos, sin = torch.cos(phi)[:, None], torch.sin(phi)[:, None]
            xr = cos * r[..., 0] + sin * r[..., 1]
            yr = -sin * r[..., 0] + cos * r[..., 1]
            h = self.fc_coord(torch.stack([xr, yr], dim=-1)) + self.fc_code(code).unsqueeze(1)
            return self.decoder(torch.tanh(h)).reshape(n, self.H, self.W)
        prob = torch.sigmoid(self.decoder(code)).reshape(n, 1, self.H, self.W)
        if self.rotation or self.translation:
            # grid_sample reads the input at the source of every output pixel in normalised (u, v) =
            # (x, -y) coordinates; source (x_s, y_s) = R(-phi) (r - t) gives
            # u_s = cos u - sin v - (cos tx + sin ty),  v_s = sin u + cos v - (sin tx - cos ty)
            cos, sin = torch.cos(phi), torch.sin(phi)
            tx, ty = shift[:, 0], shift[:, 1]
            theta = torch.stack([
                torch.stack([cos, -sin, -(cos * tx + sin * ty)], dim=1),
                torch.stack([sin, cos, -(sin * tx - cos * ty)], dim=1),
            ], dim=1)
            grid = F.affine_grid(theta, (n, 1, self.H, self.W), align_corners=True)
            prob = F.grid_sample(prob, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        return prob.reshape(n, self.H, self.W)

    def decode(self, content: Tensor, c: Tensor | None = None, phi: Tensor | None = None,
               shift: Tensor | None = None) -> Tensor:
        """Decoded mean images ``(n, H, W)`` in ``[0, 1]`` (see :meth:`decode_logits` for the arguments)."""
        out = self.decode_logits(content, c, phi, shift)
        return torch.sigmoid(out) if self.decoder_kind == "coordinate" else out

    def nll(self, x: Tensor, out: Tensor) -> Tensor:
        """Per-image negative log-likelihood ``(n,)`` of ``x (n, H, W)`` given :meth:`decode_logits` output."""
        if self.likelihood == "bernoulli":
            if self.decoder_kind == "coordinate":
                bce = F.binary_cross_entropy_with_logits(out, x, reduction="none")
            else:
                p = out.clamp(_EPS, 1 - _EPS)
                bce = -(x * torch.log(p) + (1 - x) * torch.log1p(-p))
            return bce.flatten(1).sum(1)
        mean = torch.sigmoid(out) if self.decoder_kind == "coordinate" else out
        return (x - mean).pow(2).flatten(1).sum(1) / (2 * self.sigma ** 2)

    # ----------------------------------------------------------------------------- helpers
    def classes(self, logits: Tensor) -> Tensor:
        """Hard class assignment ``argmax q(c|x)``, shape (n,)."""
        return logits.argmax(dim=1)

    def one_hot(self, k: Tensor) -> Tensor:
        """One-hot class vectors ``(n, D_c)`` of class indices ``k (n,)``."""
        return F.one_hot(k.long(), self.discrete_dim).float()


def latent_noise(shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> Tensor:
    """Standard normal noise from a (CPU) ``generator``, moved to ``device`` (device-independent draws)."""
    return torch.randn(shape, generator=generator).to(device, non_blocking=True)


def gumbel_noise(shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> Tensor:
    """Standard Gumbel noise ``-log(-log u)`` from a (CPU) ``generator``, moved to ``device``."""
    u = torch.rand(shape, generator=generator).clamp_(1e-10, 1.0 - 1e-7)
    return (-torch.log(-torch.log(u))).to(device, non_blocking=True)


def jrvae_loss(model: JointVAE, x: Tensor, beta_c: float, beta_d: float, *, temperature: float = 0.67,
               generator: torch.Generator | None = None, sample: bool = True) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Eq. 1 of Biswas et al. 2023, batch means (module docstring).

    Parameters
    ----------
    model : JointVAE
    x : Tensor, shape (n, H, W)
        Images in [0, 1].
    beta_c, beta_d : float
        KL weights of the continuous and the discrete latents at this epoch.
    temperature : float
        Gumbel-softmax temperature (``discrete="gumbel"`` only).
    generator : torch.Generator, optional
        CPU generator of the reparameterisation and Gumbel noise; required when ``sample``.
    sample : bool
        Training (sampled ``z_c``, relaxed or enumerated ``c``) or evaluation (``z_c = mu``;
        the reconstruction under the exact expectation over ``q(c|x)``).

    Returns
    -------
    loss, reconstruction, kl_c, kl_d : Tensor, scalars
        ``kl_c``, ``kl_d`` unweighted; ``kl_d = 0`` without classes.
    """
    mu, logvar, logits = model.encode(x)
    n = len(x)
    if sample:
        if generator is None:
            raise ValueError("generator: required when sample=True")
        z = mu + torch.exp(0.5 * logvar) * latent_noise(tuple(mu.shape), generator, mu.device)
    else:
        z = mu
    phi, shift, content = model.split(z)
    # KL(N(mu, s^2) || N(0, s0^2)) = 0.5 [(s^2 + mu^2) / s0^2 - 1 - log s^2 + log s0^2]
    p = model.prior_logvar
    kl_c = 0.5 * ((logvar.exp() + mu.pow(2)) * torch.exp(-p) - 1.0 - logvar + p).sum(dim=1).mean()
    D = model.discrete_dim
    if D == 0:
        rec = model.nll(x, model.decode_logits(content, None, phi, shift)).mean()
        kl_d = rec.new_zeros(())
    else:
        logq = F.log_softmax(logits, dim=1)
        q = logq.exp()
        kl_d = (q * (logq + math.log(D))).sum(dim=1).mean()
        if model.discrete == "gumbel" and sample:
            g = gumbel_noise(tuple(logits.shape), generator, logits.device)
            c = F.softmax((logq + g) / temperature, dim=1)
            rec = model.nll(x, model.decode_logits(content, c, phi, shift)).mean()
        else:
            eye = torch.eye(D, device=x.device)
            rep = lambda t: t.repeat(D, *([1] * (t.ndim - 1)))
            out = model.decode_logits(rep(content), eye.repeat_interleave(n, dim=0), rep(phi), rep(shift))
            nll = model.nll(rep(x), out).reshape(D, n)
            rec = (q.T * nll).sum(dim=0).mean()
    loss = rec + beta_c * kl_c + beta_d * kl_d
    return loss, rec, kl_c, kl_d


def vanilla_vae(H: int, W: int, **kwargs: Any) -> JointVAE:
    """The baseline: a :class:`JointVAE` with 2 content latents, no rotation, translation or classes."""
    kwargs = {**kwargs, "content_dim": kwargs.get("content_dim", 2), "discrete_dim": 0, "rotation": False,
              "translation": False}
    return JointVAE(H, W, **kwargs)
