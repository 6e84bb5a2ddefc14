"""Regressive upscaling GAN (RUGAN): an energy-conditioned, fully convolutional, periodic WGAN.

Mills, Casert & Tamblyn, "Adversarial generation of mesoscale surfaces from small scale
chemical motifs", NeurIPS 2019 ML4PS workshop (the RUGAN of Casert et al. 2019), Fig. 1a:

- the generator ``G`` maps a block of Gaussian noise ``(noise_channels, h, w)``,
  concatenated with one constant *label channel* holding the conditioning value, to a
  state ``(3, u h, u w)`` through periodic (circular-padded) convolutions only: a stem
  convolution, residual blocks, an ``u``-fold nearest-neighbour upsampling, a residual
  block at the output resolution, one batch normalization and a final convolution; every
  site is then L2-normalized so the output spins are unit vectors. Because every layer is
  a translation-equivariant periodic convolution (or a per-channel affine map in eval
  mode), a noise block ``s`` times larger gives a periodic state ``s`` times larger
  (paper: "Upscaling"), and shifting the noise block by one cell shifts the state by ``u``
  sites;
- the critic ``C`` scores a state together with its label: the label enters as a constant
  input channel and again through a projection term (Miyato & Koyama, ICLR 2018), the
  features are globally average-pooled so that any lattice size can be scored, and
  dropout layers provide the two perturbed passes of the consistency term (Wei et al.,
  ICLR 2018). The critic has no batch normalization (the gradient penalty is per sample,
  Gulrajani et al. 2017).

Labels are energies per spin (units of J); both networks see them standardized,
``(e - label_mean) / label_std``, with the two constants stored in the generator's
hyper-parameters so that a saved generator takes physical energies.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from latentopt.models.vae import CircularConv2d, load_model, save_model
from latentopt.physics import torch_physics
from latentopt.physics.hamiltonian import ChiralMagnet

__all__ = ["ConditionalBatchNorm2d", "PixelNorm", "RUGANCritic", "RUGANGenerator", "ResidualBlock", "generate", "load_generator", "noise_blocks", "save_generator"]


def _label_map(labels: Tensor, like: Tensor) -> Tensor:
    """Constant label channel ``(n, 1, H, W)`` with ``labels (n,)`` broadcast over the lattice of ``like``."""
    n, _, H, W = like.shape
    return labels.to(like.dtype).reshape(n, 1, 1, 1).expand(n, 1, H, W)


def _check_labels(labels: Tensor, n: int) -> Tensor:
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"labels: expected shape ({n},), got {tuple(labels.shape)}")
    return labels


class PixelNorm(nn.Module):
    """Normalize the feature vector of every site: ``x / sqrt(mean_c x^2 + eps)`` (Karras et al., ICLR 2018).

    Per sample and per site, so train and eval mode, batch composition and lattice size do
    not change it (unlike batch normalization); translation-equivariant.
    """

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = float(eps)

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class ConditionalBatchNorm2d(nn.Module):
    """Batch normalization whose per-channel gain and shift are functions of the label.

    ``y = (1 + g(l)) * BN(x) + b(l)`` with ``(g, b)`` from a small MLP of the standardized
    label ``l`` (conditional batch normalization, de Vries et al., NeurIPS 2017; FiLM,
    Perez et al., AAAI 2018). The MLP's output layer starts at zero, so the layer starts
    as a plain batch normalization. Per-channel constants: translation-equivariant.
    """

    def __init__(self, channels: int, hidden: int, negative_slope: float = 0.2, norm: str = "batch"):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False) if norm == "batch" else PixelNorm()
        self.mlp = nn.Sequential(nn.Linear(1, hidden), nn.LeakyReLU(negative_slope), nn.Linear(hidden, 2 * channels))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        gain, shift = self.mlp(labels.to(x.dtype)[:, None]).chunk(2, dim=1)
        return (1.0 + gain[:, :, None, None]) * self.bn(x) + shift[:, :, None, None]


UPSAMPLINGS = ("subpixel", "nearest")
NORMS = ("batch", "pixel")


class _Norm(nn.Module):
    """Batch or pixel normalization, label-conditional when ``hidden > 0``; ``forward(x, labels)``."""

    def __init__(self, channels: int, hidden: int, negative_slope: float, norm: str = "batch"):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm: expected one of {NORMS}, got {norm!r}")
        if hidden:
            self.norm = ConditionalBatchNorm2d(channels, hidden, negative_slope, norm)
        else:
            self.norm = nn.BatchNorm2d(channels) if norm == "batch" else PixelNorm()
        self.conditional = bool(hidden)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        return self.norm(x, labels) if self.conditional else self.norm(x)


class ResidualBlock(nn.Module):
    """Pre-activation residual block on a periodic lattice (He et al., ECCV 2016).

    ``x + conv(act(norm(conv(act(norm(x))))))`` with periodic 3x3 convolutions
    (:class:`~latentopt.models.vae.CircularConv2d`) and batch normalization (conditional
    on the label when ``film_hidden > 0``, :class:`ConditionalBatchNorm2d`);
    shape-preserving, ``(n, channels, H, W) -> (n, channels, H, W)``.
    """

    def __init__(self, channels: int, negative_slope: float = 0.2, film_hidden: int = 0, norm: str = "batch"):
        super().__init__()
        self.norm1 = _Norm(channels, film_hidden, negative_slope, norm)
        self.conv1 = CircularConv2d(channels, channels)
        self.norm2 = _Norm(channels, film_hidden, negative_slope, norm)
        self.conv2 = CircularConv2d(channels, channels)
        self.act = nn.LeakyReLU(negative_slope)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.conv1(self.act(self.norm1(x, labels)))
        return x + self.conv2(self.act(self.norm2(h, labels)))


@torch.no_grad()
def _icnr_(conv: nn.Conv2d, upsample: int) -> None:
    """ICNR initialization of a sub-pixel convolution (Aitken et al., arXiv:1707.02937).

    The ``u^2`` output channels that :class:`torch.nn.PixelShuffle` sends to the ``u x u``
    sites of one cell (``c u^2 + k``, ``k = 0 .. u^2 - 1``) start with identical weights
    and biases, so the initial upsampling equals nearest-neighbour upsampling followed by
    a convolution: no checkerboard pattern at the start of training.
    """
    r = upsample * upsample
    base_w = conv.weight[::r].clone()
    conv.weight.copy_(base_w.repeat_interleave(r, dim=0))
    if conv.bias is not None:
        conv.bias.copy_(conv.bias[::r].clone().repeat_interleave(r))


class RUGANGenerator(nn.Module):
    """Fully convolutional periodic generator ``G(z, e) -> (3, u h, u w)`` unit spins.

    Layers (Mills et al. 2019, Fig. 1a: residual convolutions, one batch normalization, a
    final convolution; the upsampling is made explicit here): the noise block
    ``z (n, noise_channels, h, w)`` is concatenated with the standardized label channel;
    a periodic 3x3 convolution to ``channels``; ``n_blocks`` residual blocks
    (:class:`ResidualBlock`); a sub-pixel upsampling by ``u`` (a periodic 3x3
    convolution to ``u^2 * out_channels`` channels and a pixel shuffle, Shi et al., CVPR
    2016, so each of the ``u^2`` sites of a noise cell gets its own features; ICNR
    initialization against checkerboard artefacts); batch
    normalization, LeakyReLU; a final periodic 3x3 convolution to 3 channels; L2
    normalization of every site. Two optional conditionings stronger than the paper's
    single input channel: with ``label_every_block`` the label channel is also
    concatenated to the input of every residual block; with ``film_hidden > 0`` every
    batch normalization is label-conditional (:class:`ConditionalBatchNorm2d`).

    Every layer is periodic and translation-equivariant (batch normalization in eval mode
    is a per-channel affine map), so shifting ``z`` by one cell shifts the state by ``u``
    sites, and a noise block ``s`` times larger gives a periodic state ``s`` times larger.

    Parameters
    ----------
    L : int
        Training lattice size; the default noise block is ``L / upsample`` on a side.
    noise_channels : int
        Channels of the noise block (paper: 63, plus one label channel).
    channels : int
        Width of the convolutions at the noise resolution.
    out_channels : int
        Width at the lattice resolution (before the final convolution).
    n_blocks : int
        Residual blocks at the noise resolution (paper: 3).
    upsample : int
        Upsampling factor ``u`` from the noise block to the lattice; ``L % u == 0``.
    negative_slope : float
        LeakyReLU slope.
    label_every_block : bool
        Feed the label channel to every residual block, not only the input.
    film_hidden : int
        Hidden width of the label MLP of conditional normalization; 0 for plain
        normalization.
    norm : {"batch", "pixel"}
        Batch normalization (the paper's) or per-site pixel normalization
        (:class:`PixelNorm`), which is the same in train and eval mode and at every
        lattice size.
    label_mean, label_std : float
        Standardization of the labels (energies per spin, units of J), fixed by the
        trainer from the training labels and stored with the model.
    upsampling : {"subpixel", "nearest"}
        ``subpixel``: a convolution to ``u^2 * out_channels`` channels and a pixel shuffle
        (each of the ``u^2`` sites of a noise cell gets its own weights; it can leave a
        period-``u`` sub-lattice pattern, seen as weight of ``S(q)`` at the zone boundary);
        ``nearest``: nearest-neighbour upsampling followed by a periodic convolution
        (resize-convolution, Odena, Dumoulin & Olah, Distill 2016), which treats the
        ``u^2`` sites alike up to their neighbourhoods.

    Attributes
    ----------
    hparams : dict
        The constructor arguments; ``RUGANGenerator(**hparams)`` rebuilds the model.

    Raises
    ------
    ValueError
        If ``L`` is not a positive multiple of ``upsample``, a size is not positive or
        ``label_std <= 0``.
    """

    def __init__(self, L: int, noise_channels: int = 63, channels: int = 64, out_channels: int = 32,
                 n_blocks: int = 3, upsample: int = 2, negative_slope: float = 0.2, label_every_block: bool = False,
                 film_hidden: int = 0, norm: str = "batch", label_mean: float = 0.0, label_std: float = 1.0,
                 upsampling: str = "subpixel"):
        super().__init__()
        if upsampling not in UPSAMPLINGS:
            raise ValueError(f"upsampling: expected one of {UPSAMPLINGS}, got {upsampling!r}")
        if norm not in NORMS:
            raise ValueError(f"norm: expected one of {NORMS}, got {norm!r}")
        if upsample < 1:
            raise ValueError(f"upsample: expected a positive int, got {upsample}")
        if L < upsample or L % upsample:
            raise ValueError(f"L: lattice size must be a positive multiple of upsample={upsample}, got L={L}")
        for name, value in (("noise_channels", noise_channels), ("channels", channels),
                            ("out_channels", out_channels)):
            if value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value}")
        if n_blocks < 0:
            raise ValueError(f"n_blocks: expected an int >= 0, got {n_blocks}")
        if film_hidden < 0:
            raise ValueError(f"film_hidden: expected an int >= 0, got {film_hidden}")
        if not label_std > 0:
            raise ValueError(f"label_std: expected a positive float, got {label_std}")
        self.hparams: dict[str, Any] = dict(L=int(L), noise_channels=int(noise_channels), channels=int(channels),
                                            out_channels=int(out_channels), n_blocks=int(n_blocks),
                                            upsample=int(upsample), negative_slope=float(negative_slope),
                                            label_every_block=bool(label_every_block), film_hidden=int(film_hidden),
                                            norm=str(norm), label_mean=float(label_mean), label_std=float(label_std),
                                            upsampling=str(upsampling))
        self.L, self.upsample = int(L), int(upsample)
        self.noise_channels = int(noise_channels)
        self.label_every_block = bool(label_every_block)
        self.label_mean, self.label_std = float(label_mean), float(label_std)
        extra = 1 if label_every_block else 0
        self.stem = CircularConv2d(noise_channels + 1, channels)
        self.mixers = nn.ModuleList()
        self.blocks = nn.ModuleList()
        for _ in range(n_blocks):
            self.mixers.append(CircularConv2d(channels + extra, channels) if extra else nn.Identity())
            self.blocks.append(ResidualBlock(channels, negative_slope, film_hidden, norm))
        self.up_norm = _Norm(channels, film_hidden, negative_slope, norm)
        if upsampling == "subpixel":
            self.up = nn.Sequential(nn.LeakyReLU(negative_slope),
                                    CircularConv2d(channels, upsample * upsample * out_channels),
                                    nn.PixelShuffle(upsample))
            _icnr_(self.up[1].conv, upsample)
        else:  # resize-convolution (Odena et al., Distill 2016): no sub-lattice of its own
            self.up = nn.Sequential(nn.LeakyReLU(negative_slope), nn.Upsample(scale_factor=upsample, mode="nearest"),
                                    CircularConv2d(channels, out_channels))
        self.head_norm = _Norm(out_channels, film_hidden, negative_slope, norm)
        self.head = nn.Sequential(nn.LeakyReLU(negative_slope), CircularConv2d(out_channels, 3))

    def noise_shape(self, scale: int = 1) -> tuple[int, int, int]:
        """Shape ``(noise_channels, s L / u, s L / u)`` of the noise block for a lattice ``s`` times larger.

        Raises
        ------
        ValueError
            If ``scale`` is not a positive int.
        """
        if int(scale) != scale or scale < 1:
            raise ValueError(f"scale: expected a positive int, got {scale}")
        side = int(scale) * self.L // self.upsample
        return (self.noise_channels, side, side)

    def normalize_labels(self, energies: Tensor) -> Tensor:
        """Standardized labels ``(e - label_mean) / label_std`` of energies per spin ``(n,)``."""
        return (energies - self.label_mean) / self.label_std

    def forward(self, z: Tensor, energies: Tensor) -> Tensor:
        """Generate states.

        Parameters
        ----------
        z : Tensor, shape (n, noise_channels, h, w)
            Noise block, standard normal; any ``h, w >= 1``.
        energies : Tensor, shape (n,)
            Requested energies per spin (units of J, *not* standardized).

        Returns
        -------
        Tensor, shape (n, 3, u h, u w)
            Unit vectors at every site.

        Raises
        ------
        ValueError
            On a wrongly shaped ``z`` or ``energies``.
        """
        if z.ndim != 4 or z.shape[1] != self.noise_channels:
            raise ValueError(f"z: expected shape (n, {self.noise_channels}, h, w), got {tuple(z.shape)}")
        labels = self.normalize_labels(_check_labels(energies, z.shape[0]))
        x = self.stem(torch.cat([z, _label_map(labels, z)], dim=1))
        for mixer, block in zip(self.mixers, self.blocks):
            if self.label_every_block:
                x = mixer(torch.cat([x, _label_map(labels, x)], dim=1))
            x = block(x, labels)
        x = self.up(self.up_norm(x, labels))
        x = self.head(self.head_norm(x, labels))
        return F.normalize(x, dim=1, eps=1e-8)


class RUGANCritic(nn.Module):
    """Size-agnostic conditional critic ``C(x, e) -> score`` with dropout.

    The state ``x (n, 3, H, W)`` and the standardized label channel -- and, with
    ``system`` given, the exact local energy density of ``x`` standardized like the labels
    (:func:`latentopt.physics.torch_physics.energy_density`, a physics-informed input that
    the paper's critic does not have) -- pass through, for each ``c`` in ``channels``, a
    periodic 3x3 convolution, LeakyReLU and dropout, with a 2x2 average pooling before
    every stage but the first (skipped once the lattice is a single site); the features
    are averaged over the lattice (``phi (n, channels[-1])``, the "second-to-last layer"
    of the consistency term) and scored as ``f(phi, label) + label * v.phi``: a linear
    (or, with ``head_hidden``, one-hidden-layer) head on ``phi`` and the label plus a
    projection term (Miyato & Koyama, ICLR 2018). No batch normalization, so the gradient
    penalty is per sample (Gulrajani et al. 2017).

    Parameters
    ----------
    channels : sequence of int
        Feature channels per stage.
    dropout : float
        Dropout probability after every convolution (consistency term, Wei et al. 2018).
    negative_slope : float
        LeakyReLU slope.
    head_hidden : int
        Hidden width of the score head; 0 for a linear head.
    system : dict, optional
        Hamiltonian (``L, J, D, dmi, K, B`` as in a ``system`` block) whose energy density
        is fed as an extra input channel; None (default) for the paper's critic.
    label_mean, label_std : float
        Label standardization (the generator's).

    Raises
    ------
    ValueError
        On an empty/non-positive ``channels``, ``dropout`` outside ``[0, 1)`` or
        ``label_std <= 0``.
    """

    def __init__(self, channels: Sequence[int] = (32, 64, 128), dropout: float = 0.1, negative_slope: float = 0.2,
                 head_hidden: int = 0, system: dict | None = None, label_mean: float = 0.0, label_std: float = 1.0):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if not channels or min(channels) < 1:
            raise ValueError(f"channels: expected a non-empty sequence of positive ints, got {channels}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1), got {dropout}")
        if not label_std > 0:
            raise ValueError(f"label_std: expected a positive float, got {label_std}")
        if head_hidden < 0:
            raise ValueError(f"head_hidden: expected an int >= 0, got {head_hidden}")
        self.magnet = ChiralMagnet.from_config(system) if system is not None else None
        self.hparams: dict[str, Any] = dict(channels=channels, dropout=float(dropout),
                                            negative_slope=float(negative_slope), head_hidden=int(head_hidden),
                                            system=None if system is None else dict(system),
                                            label_mean=float(label_mean), label_std=float(label_std))
        self.label_mean, self.label_std = float(label_mean), float(label_std)
        c0 = 4 + (self.magnet is not None)
        self.stages = nn.ModuleList()
        for c_in, c_out in zip((c0,) + channels[:-1], channels):
            self.stages.append(nn.Sequential(CircularConv2d(c_in, c_out), nn.LeakyReLU(negative_slope),
                                             nn.Dropout(dropout)))
        self.score = (nn.Sequential(nn.Linear(channels[-1] + 1, head_hidden), nn.LeakyReLU(negative_slope),
                                    nn.Linear(head_hidden, 1)) if head_hidden else nn.Linear(channels[-1] + 1, 1))
        self.project = nn.Linear(channels[-1], 1, bias=False)

    def features(self, x: Tensor, energies: Tensor) -> Tensor:
        """Pooled features ``phi (n, channels[-1])`` of states ``x (n, 3, H, W)`` with energies ``(n,)``."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"x: expected shape (n, 3, H, W), got {tuple(x.shape)}")
        labels = (_check_labels(energies, x.shape[0]) - self.label_mean) / self.label_std
        inputs = [x, _label_map(labels, x)]
        if self.magnet is not None:
            density = torch_physics.energy_density(x, self.magnet)
            inputs.append(((density - self.label_mean) / self.label_std).unsqueeze(1))
        h = torch.cat(inputs, dim=1)
        for k, stage in enumerate(self.stages):
            if k > 0 and min(h.shape[-2:]) >= 2:
                h = F.avg_pool2d(h, 2, ceil_mode=True)
            h = stage(h)
        return h.mean(dim=(-2, -1))

    def forward(self, x: Tensor, energies: Tensor, return_features: bool = False):
        """Critic scores.

        Parameters
        ----------
        x : Tensor, shape (n, 3, H, W)
            States of any size (H, W >= 1).
        energies : Tensor, shape (n,)
            Their labels, energies per spin (units of J).
        return_features : bool
            Also return the pooled features (for the consistency term).

        Returns
        -------
        score : Tensor, shape (n,)
        phi : Tensor, shape (n, channels[-1])
            Only with ``return_features``.
        """
        phi = self.features(x, energies)
        labels = (energies.to(phi.dtype) - self.label_mean) / self.label_std
        score = self.score(torch.cat([phi, labels[:, None]], dim=1)).squeeze(-1) + labels * self.project(phi).squeeze(-1)
        return (score, phi) if return_features else score


def save_generator(path: str | os.PathLike, generator: RUGANGenerator, extra: dict[str, Any] | None = None) -> None:
    """Atomically save a generator (state dict + hparams, incl. the label standardization).

    See :func:`latentopt.models.vae.save_model`; ``extra`` holds plain python types only.
    """
    save_model(path, generator, extra)


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> RUGANGenerator:
    """Rebuild a generator saved by :func:`save_generator` (``torch.load(weights_only=True)``), in eval mode.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`latentopt.models.vae.load_model`.
    """
    return load_model(path, device=device, cls=RUGANGenerator)


def noise_blocks(shape: tuple[int, int, int], seed: int, indices) -> Tensor:
    """Standard-normal noise blocks, one per sample index, each from its own stream.

    Sample ``i`` gets ``torch.randn(shape)`` from a ``torch.Generator`` seeded with
    ``numpy.random.SeedSequence([seed, i])``, so a state depends only on ``(seed, i)``
    and the scale, not on the batch size or the device (the generated state may still
    differ at float32 rounding level between batch sizes or devices).

    Returns
    -------
    Tensor, shape (len(indices), *shape), float32, on the CPU
    """
    out = torch.empty((len(indices), *shape))
    g = torch.Generator()
    for k, i in enumerate(indices):
        g.manual_seed(int(np.random.SeedSequence([int(seed), int(i)]).generate_state(1, dtype=np.uint64)[0] >> 1))
        out[k] = torch.randn(shape, generator=g)
    return out


@torch.no_grad()
def generate(generator: RUGANGenerator, energies, scale: int = 1, seed: int = 0,
             device: str | torch.device | None = None, batch_size: int = 128) -> np.ndarray:
    """States of requested energies at ``scale`` times the training size (eval mode).

    Parameters
    ----------
    generator : RUGANGenerator
        Put in eval mode (in place) and moved to ``device``.
    energies : array_like, shape (n,)
        Requested energies per spin (units of J).
    scale : int
        Linear upscaling factor: the noise block is :meth:`RUGANGenerator.noise_shape`
        ``(scale)`` and the states are ``(3, scale L, scale L)``.
    seed : int
        Noise seed (:func:`noise_blocks`, sample ``i`` uses index ``i``).
    device : str or torch.device, optional
        Defaults to the generator's device.
    batch_size : int

    Returns
    -------
    ndarray, shape (n, 3, scale L, scale L), float32
        Unit vectors at every site.
    """
    e = np.asarray(energies, dtype=np.float32)
    if e.ndim != 1:
        raise ValueError(f"energies: expected a 1-D array, got shape {e.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size}")
    dev = next(generator.parameters()).device if device is None else torch.device(device)
    generator.to(dev).eval()
    shape = generator.noise_shape(scale)
    side = scale * generator.L
    out = np.empty((len(e), 3, side, side), np.float32)
    for start in range(0, len(e), batch_size):
        idx = np.arange(start, min(start + batch_size, len(e)))
        z = noise_blocks(shape, seed, idx).to(dev)
        out[idx] = generator(z, torch.from_numpy(e[idx]).to(dev)).cpu().numpy()
    return out
