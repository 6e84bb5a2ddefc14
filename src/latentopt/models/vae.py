"""Convolutional variational autoencoder for 2D classical spin configurations.

Architecture and loss follow Park et al. 2022, Sci. Rep., "Optimization of physical
quantities in the autoencoder latent space", Methods and Fig. 6:

- the encoder maps a spin state ``(3, L, L)`` to the mean ``mu`` and log-variance
  ``logvar`` of a diagonal Gaussian over a ``latent_dim``-dimensional latent space;
- the decoder maps a latent code back to a spin state whose sites are unit vectors;
- the loss is ``L = L_RC + beta * L_KL`` (Eq. 1) with the squared reconstruction error
  ``L_RC`` and the Kullback-Leibler divergence ``L_KL`` of Eq. 2.

All convolutions use circular (periodic) padding, matching the periodic boundaries of
the lattice. Spin tensors are float32 ``(n, 3, L, L)`` with channels ``(s_x, s_y, s_z)``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from latentopt.device import DEVICE_CHOICES, resolve_device
from latentopt.errors import UnreadableFileError
from latentopt.io import atomic_path
from latentopt.physics.periodic_pad import circular_pad

__all__ = [
    "CircularConv2d",
    "PlanarBatchNorm2d",
    "SpinVAE",
    "as_device",
    "circular_pad",
    "init_posterior_logvar",
    "load_model",
    "prefer_memory_format",
    "sample_latent",
    "save_model",
    "unit_vectors",
    "vae_loss",
]


def as_device(device: str | torch.device) -> torch.device:
    """Turn a device name into a :class:`torch.device`.

    Config values (``"auto"``, ``"cpu"``, ``"cuda"``) go through
    :func:`latentopt.device.resolve_device`; anything else (``"cuda:1"``, a
    ``torch.device``) is passed to :class:`torch.device` unchanged.
    """
    if isinstance(device, str) and device in DEVICE_CHOICES:
        return resolve_device(device)
    return torch.device(device)


class CircularConv2d(nn.Module):
    """3x3 convolution on a periodic lattice: circular padding of 1, then ``Conv2d``.

    Keeps the spatial size: ``(n, in_channels, H, W) -> (n, out_channels, H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=0)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(circular_pad(x))


class PlanarBatchNorm2d(nn.BatchNorm2d):
    """``BatchNorm2d`` computed in the standard (NCHW) layout whatever the input's layout.

    The same parameters, buffers and state-dict keys as :class:`torch.nn.BatchNorm2d`, and
    the same result up to float32 rounding. PyTorch's channels-last CPU kernel is slow for a
    handful of channels: forward + backward of a ``(100, 3, 64, 64)`` batch take 33.6 ms
    channels-last against 2.8 ms in NCHW (2 threads, AVX2), against 17.9 vs 21.5 ms at 16
    channels. The spin VAE's last block (3 channels at full resolution) uses it; the
    output is contiguous (NCHW).
    """

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.contiguous())


def _conv_block(in_channels: int, out_channels: int, negative_slope: float) -> list[nn.Module]:
    """Periodic 3x3 convolution, BatchNorm2d (:class:`PlanarBatchNorm2d` for 4 channels or
    fewer), LeakyReLU."""
    return [
        CircularConv2d(in_channels, out_channels),
        PlanarBatchNorm2d(out_channels) if out_channels <= 4 else nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(negative_slope),
    ]


def _dense_block(in_features: int, out_features: int, negative_slope: float) -> list[nn.Module]:
    """Linear, BatchNorm1d, LeakyReLU."""
    return [
        nn.Linear(in_features, out_features),
        nn.BatchNorm1d(out_features),
        nn.LeakyReLU(negative_slope),
    ]


def _at_least_float32(x: Tensor) -> Tensor:
    """``x`` promoted to float32 if it is of a lower precision (bfloat16 under autocast); float64 stays float64."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def unit_vectors(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Normalise every site of ``x (n, 3, L, L)`` to a unit vector: ``x / max(|x|, eps)``.

    The same as ``F.normalize(x, dim=1, eps=eps)`` up to rounding (the norm is
    ``sqrt(x_0^2 + x_1^2 + x_2^2)`` summed over the channel axis, which avoids the slow
    strided ``vector_norm`` kernel on the CPU); computed in at least float32 (a bfloat16
    input under autocast is promoted, a float64 one is kept) and returned in the standard
    contiguous layout.
    """
    x = _at_least_float32(x)
    return (x / (x * x).sum(dim=1, keepdim=True).sqrt().clamp_min(eps)).contiguous()


def sample_latent(mu: Tensor, logvar: Tensor) -> Tensor:
    """Reparameterisation trick: ``z = mu + exp(logvar / 2) * eps``, ``eps ~ N(0, 1)``.

    ``eps`` is drawn with :func:`torch.randn_like`, i.e. from the global torch RNG of
    ``mu``'s device; seed it with :func:`torch.manual_seed` for reproducibility.

    Parameters
    ----------
    mu, logvar : Tensor, shape (n, latent_dim)
        Mean and natural log of the variance of the posterior.

    Returns
    -------
    Tensor, shape (n, latent_dim)
    """
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


class SpinVAE(nn.Module):
    """Variational autoencoder for spin states ``(n, 3, L, L)`` on a periodic lattice.

    Encoder (Park et al. 2022, Fig. 6): for each ``c`` in ``channels`` a periodic 3x3
    convolution to ``c`` channels, BatchNorm2d, LeakyReLU and 2x2 max-pooling; then
    Linear -> ``hidden``, BatchNorm1d, LeakyReLU, Linear -> ``2 * latent_dim`` split into
    ``(mu, logvar)``.

    Decoder: the mirror image. Linear -> ``hidden`` and Linear -> the flattened feature
    map (each with BatchNorm1d and LeakyReLU); then for each ``c`` in
    ``reversed(channels[:-1]) + (3,)`` a nearest-neighbour 2x upsampling and a periodic
    3x3 convolution block; a last periodic 3x3 convolution 3 -> 3 without normalisation
    or activation; finally each site is L2-normalised, so the output spins are unit
    vectors.

    Parameters
    ----------
    L : int
        Linear lattice size; must be divisible by ``2 ** len(channels)`` (16 for the
        default four stages).
    latent_dim : int
        Dimension of the latent space.
    channels : sequence of int
        Encoder feature channels per stage; the decoder uses them in reverse.
    hidden : int
        Width of the hidden fully connected layer.
    negative_slope : float
        Slope of the LeakyReLU for negative inputs.

    Attributes
    ----------
    hparams : dict
        The constructor arguments (plain python types); ``SpinVAE(**hparams)`` rebuilds
        the architecture.

    Raises
    ------
    ValueError
        If ``L`` is not a positive multiple of ``2 ** len(channels)``, or ``latent_dim``,
        ``hidden`` or a channel count is not positive.
    """

    def __init__(
        self,
        L: int,
        latent_dim: int,
        channels: Sequence[int] = (16, 32, 64, 128),
        hidden: int = 512,
        negative_slope: float = 0.01,
    ):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if not channels or min(channels) < 1:
            raise ValueError(f"channels: expected a non-empty sequence of positive ints, got {channels}")
        factor = 2 ** len(channels)
        if L < factor or L % factor:
            raise ValueError(f"L: lattice size must be a positive multiple of {factor} "
                             f"(2**len(channels)), got L={L}")
        if latent_dim < 1:
            raise ValueError(f"latent_dim: expected a positive int, got {latent_dim}")
        if hidden < 1:
            raise ValueError(f"hidden: expected a positive int, got {hidden}")

        self.hparams: dict[str, Any] = dict(L=int(L), latent_dim=int(latent_dim), channels=channels,
                                            hidden=int(hidden), negative_slope=float(negative_slope))
        self.L = int(L)
        self.latent_dim = int(latent_dim)
        slope = float(negative_slope)
        side = self.L // factor
        flat = channels[-1] * side * side

        encoder: list[nn.Module] = []
        for c_in, c_out in zip((3,) + channels[:-1], channels):
            encoder += _conv_block(c_in, c_out, slope) + [nn.MaxPool2d(2)]
        encoder += [nn.Flatten(), *_dense_block(flat, hidden, slope), nn.Linear(hidden, 2 * latent_dim)]
        self.encoder = nn.Sequential(*encoder)

        decoder: list[nn.Module] = [
            *_dense_block(latent_dim, hidden, slope),
            *_dense_block(hidden, flat, slope),
            nn.Unflatten(1, (channels[-1], side, side)),
        ]
        up_channels = tuple(reversed(channels[:-1])) + (3,)
        for c_in, c_out in zip(channels[-1:] + up_channels[:-1], up_channels):
            decoder += [nn.Upsample(scale_factor=2, mode="nearest"), *_conv_block(c_in, c_out, slope)]
        decoder.append(CircularConv2d(3, 3))
        self.decoder = nn.Sequential(*decoder)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior parameters of spin states.

        Parameters
        ----------
        x : Tensor, shape (n, 3, L, L)

        Returns
        -------
        mu, logvar : Tensor, shape (n, latent_dim)
            Mean and natural log of the variance of the diagonal Gaussian posterior;
            float32 also under autocast (float64 for a float64 model).

        Raises
        ------
        ValueError
            If ``x`` does not have shape ``(n, 3, L, L)``.
        """
        if x.ndim != 4 or tuple(x.shape[1:]) != (3, self.L, self.L):
            raise ValueError(f"x: expected shape (n, 3, {self.L}, {self.L}), got {tuple(x.shape)}")
        mu, logvar = _at_least_float32(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        """Spin states of latent codes.

        Parameters
        ----------
        z : Tensor, shape (n, latent_dim)

        Returns
        -------
        Tensor, shape (n, 3, L, L)
            Unit vectors at every site (L2 norm over the channel axis is 1); float32 (float64
            for a float64 model) and contiguous, also under autocast and for a channels-last
            model.

        Raises
        ------
        ValueError
            If ``z`` does not have shape ``(n, latent_dim)``.
        """
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z: expected shape (n, {self.latent_dim}), got {tuple(z.shape)}")
        return unit_vectors(self.decoder(z))

    def forward(self, x: Tensor, sample: bool = True) -> tuple[Tensor, Tensor, Tensor]:
        """Encode, pick a latent code, decode.

        Parameters
        ----------
        x : Tensor, shape (n, 3, L, L)
        sample : bool
            Draw ``z`` with :func:`sample_latent` (training); otherwise use ``z = mu``.

        Returns
        -------
        x_out : Tensor, shape (n, 3, L, L)
        mu, logvar : Tensor, shape (n, latent_dim)
        """
        mu, logvar = self.encode(x)
        z = sample_latent(mu, logvar) if sample else mu
        return self.decode(z), mu, logvar


def init_posterior_logvar(model: SpinVAE, value: float) -> SpinVAE:
    """Start the encoder's posterior at ``sigma = exp(value / 2)``: the log-variance half of its last bias (in place).

    With PyTorch's initialisation the posterior starts at ``sigma ~ 1``, as wide as the prior, so
    the decoder first sees codes that carry almost no information about the input. On states
    with a net magnetization (a field-polarized background, as in a sweep over ``B``) the decoder
    then settles on the uniform ferromagnet, the best input-independent output, and the encoder's
    variance stays near the prior because the reconstruction no longer depends on ``z``: a fixed
    point that 30 epochs do not leave (measured: the pooled states of a field sweep at L = 64
    stayed at a loss of 4,125 per state, every decoded state the ferromagnet). Starting narrow
    (``value = -4``, sigma 0.14) lets the reconstruction use ``mu`` from the first step. On
    zero-magnetization labyrinths it makes no difference beyond the seed-to-seed spread.

    Parameters
    ----------
    model : SpinVAE
    value : float
        Initial ``logvar`` of every latent dimension (natural log of the variance).

    Returns
    -------
    SpinVAE
        ``model``, changed in place.

    Raises
    ------
    ValueError
        If ``value`` is not finite.
    """
    if not math.isfinite(value):
        raise ValueError(f"logvar_init: expected a finite number, got {value}")
    head = model.encoder[-1]
    with torch.no_grad():
        head.bias[model.latent_dim:] = float(value)
    return model


def prefer_memory_format(model: nn.Module) -> nn.Module:
    """Put a model's convolution weights in the memory format that is fastest on its device (in place).

    On the CPU that is channels-last (NHWC): oneDNN's convolutions, and the pooling,
    batch-norm and padding around them, run about 1.5x faster on this VAE's small
    channel counts than in the default NCHW layout (``benchmarks/bench_training.py``);
    on other devices the default contiguous layout is kept. Only 4D parameters change
    layout, values are untouched; activations follow the weights' layout, and
    :meth:`SpinVAE.decode` returns contiguous states either way. Outputs agree with the
    NCHW model to float32 rounding (other kernels, other summation order).

    Parameters
    ----------
    model : nn.Module
        Already on its device.

    Returns
    -------
    nn.Module
        ``model`` itself.
    """
    param = next(model.parameters(), None)
    if param is None:
        return model
    fmt = torch.channels_last if param.device.type == "cpu" else torch.contiguous_format
    return model.to(memory_format=fmt)


def vae_loss(x: Tensor, x_out: Tensor, mu: Tensor, logvar: Tensor,
             beta: float) -> tuple[Tensor, Tensor, Tensor]:
    """VAE loss of Park et al. 2022, Eq. 1-2, averaged over the batch.

    Per sample::

        L_RC = sum_{sites, components} (x - x_out)^2                     (Eq. 2)
        L_KL = 0.5 * sum_k (sigma_k^2 + mu_k^2 - ln sigma_k^2 - 1)        (Eq. 2)
        L    = L_RC + beta * L_KL                                         (Eq. 1)

    with ``sigma^2 = exp(logvar)``.

    Parameters
    ----------
    x, x_out : Tensor, shape (n, 3, L, L)
        Input and reconstructed spin states.
    mu, logvar : Tensor, shape (n, latent_dim)
        Posterior mean and log-variance.
    beta : float
        Weight of the KL term.

    Returns
    -------
    loss, reconstruction, kl : Tensor, scalar
        Batch means of ``L``, ``L_RC`` and ``L_KL``.
    """
    reconstruction = (x - x_out).pow(2).flatten(1).sum(dim=1).mean()
    kl = 0.5 * (logvar.exp() + mu.pow(2) - logvar - 1.0).sum(dim=1).mean()
    return reconstruction + beta * kl, reconstruction, kl


def save_model(path: str | os.PathLike, model: SpinVAE, extra: dict[str, Any] | None = None) -> None:
    """Atomically save a model's weights and hyper-parameters with :func:`torch.save`.

    The file holds ``{"state_dict": ..., "hparams": model.hparams, **extra}``; weights
    are stored on the CPU so the file loads on any device.

    Parameters
    ----------
    path : str or PathLike
        Output file (conventionally ``*.pt``).
    model : SpinVAE
    extra : dict, optional
        Further entries (e.g. settings, training summary). Use plain python types,
        tensors and containers of them so that :func:`load_model` can read the file with
        ``weights_only=True``.

    Raises
    ------
    ValueError
        If ``extra`` uses the reserved keys ``"state_dict"`` or ``"hparams"``.
    """
    extra = dict(extra or {})
    reserved = {"state_dict", "hparams"} & extra.keys()
    if reserved:
        raise ValueError(f"extra: keys {sorted(reserved)} are reserved")
    state_dict = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state_dict, "hparams": dict(model.hparams), **extra}, tmp)


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu", cls: type[nn.Module] | None = None):
    """Rebuild a model saved by :func:`save_model` (a :class:`SpinVAE` unless ``cls`` is given).

    The file is read with ``torch.load(..., weights_only=True)`` (no arbitrary code is
    unpickled).

    Parameters
    ----------
    path : str or PathLike
    device : str or torch.device
        Where to put the model (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...).
    cls : type, optional
        The model class, built as ``cls(**hparams)``; default :class:`SpinVAE`.

    Returns
    -------
    nn.Module
        In eval mode, on ``device``; a :class:`SpinVAE` in the memory format of
        :func:`prefer_memory_format` (channels-last on the CPU).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UnreadableFileError
        A ``ValueError``: the file is not a readable model file (truncated, corrupt, or a
        pickle that ``weights_only=True`` refuses to run), lacks ``state_dict``/``hparams``,
        or the weights do not fit the architecture (the message names the file and the fix).
    """
    path = Path(path)
    device = as_device(device)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # corrupt zip, pickle error, disallowed type, ...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableFileError(path, f"not a readable model file ({reason})") from exc
    if not isinstance(payload, dict) or not {"state_dict", "hparams"} <= payload.keys():
        raise UnreadableFileError(path, "malformed model file, expected a dict with 'state_dict' and 'hparams'")
    try:
        model = (cls or SpinVAE)(**payload["hparams"])
        model.load_state_dict(payload["state_dict"])
    except (TypeError, ValueError, RuntimeError) as exc:
        reason = str(exc).strip().splitlines()[0]
        raise UnreadableFileError(path, f"weights do not match the stored hparams ({reason})") from exc
    model = model.to(device).eval()
    return prefer_memory_format(model) if isinstance(model, SpinVAE) else model
