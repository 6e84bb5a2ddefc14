"""Heat-bath simulated annealing in torch: checkerboard sweeps batched over samples (CPU or CUDA).

The same Markov chain as :mod:`latentopt.physics.heatbath` (docs/design.md, "Physics
conventions"), written as whole-tensor operations so that a GPU updates one sublattice of
all samples at once:

- the local field of every site of one checkerboard sublattice, ``h = J sum_j s_j +
  (s_{x+1} - s_{x-1}) x D_x + (s_{y+1} - s_{y-1}) x D_y + B``
  (:func:`latentopt.physics.hamiltonian.local_field`), from its four neighbours gathered
  with precomputed periodic index tables;
- the heat-bath draw of Miyatake et al., J. Phys. C 19, 2539 (1986): with ``x = beta |h|``
  and uniforms ``r1, r2``, ``cos(theta) = 1 + log1p(r1 expm1(-2x)) / x`` (``2 r1 - 1``
  for ``x < 1e-10``), azimuth ``2 pi r2``, rotated into the orthonormal frame of Duff et
  al., J. Comput. Graph. Tech. 6, 1 (2017) about ``h / |h|``;
- for ``K != 0`` the independence Metropolis-Hastings correction: the draw ``s'`` replaces
  ``s`` with probability ``min(1, exp(beta K (s'_z^2 - s_z^2)))`` (a third uniform), which
  samples ``exp(beta (h.s + K s_z^2))`` exactly.

A half-sweep updates all sites of one sublattice (no two of them are neighbours), a sweep
both, at the temperature of that sweep.

Randomness: every sample owns a counter-based stream (:class:`SampleStreams`): its k-th
uniform is the splitmix64 output ``mix(key + (k + 1) * 0x9E3779B97F4A7C15)`` (Steele,
Lea & Flood, OOPSLA 2014) of a 64-bit key drawn from
``numpy.random.SeedSequence([seed, 0x70C4, sample_index])``, computed with integer tensor
operations. A sample's draws therefore depend only on (seed, sample index) and on how
many draws came before, as in the numba kernel: a sample's result does not depend on the
batch (the shard) it is annealed in, and the uniforms are the same on the CPU and a GPU
(the states may still differ there in floating-point rounding). The streams are not
those of the numba kernel, so the two kernels sample the same distribution (tested) but
not the same numbers.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .hamiltonian import ChiralMagnet


def _sublattice_tables(L: int, device: torch.device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """For parity 0 and 1: ``(sites (L^2/2,), neighbours (4, L^2/2))`` as flat indices ``y L + x``.

    Neighbour rows: +x, -x, +y, -y (periodic). Parity p holds the sites with ``(x + y) % 2 == p``.
    """
    y, x = np.divmod(np.arange(L * L), L)
    tables = []
    for parity in range(2):
        sel = (x + y) % 2 == parity
        ys, xs = y[sel], x[sel]
        nbr = np.stack([ys * L + (xs + 1) % L, ys * L + (xs - 1) % L, ((ys + 1) % L) * L + xs, ((ys - 1) % L) * L + xs])
        tables.append((torch.as_tensor(ys * L + xs, device=device), torch.as_tensor(nbr, device=device)))
    return tables


def _cross_const(u: torch.Tensor, d: tuple[float, float, float]) -> torch.Tensor:
    """``u x d`` for ``u (n, 3, m)`` and a constant vector ``d``."""
    ux, uy, uz = u[:, 0], u[:, 1], u[:, 2]
    return torch.stack([uy * d[2] - uz * d[1], uz * d[0] - ux * d[2], ux * d[1] - uy * d[0]], dim=1)


def heatbath_directions(h: torch.Tensor, beta: float, r1: torch.Tensor, r2: torch.Tensor) -> torch.Tensor:
    """Unit vectors drawn from ``P(s) ~ exp(beta h.s)`` (Miyatake et al. 1986) given uniforms.

    Parameters
    ----------
    h : Tensor, shape (n, 3, m)
        Local fields (energy units).
    beta : float
        Inverse temperature ``1 / T``.
    r1, r2 : Tensor, shape (n, m)
        Uniforms in [0, 1): polar (inverse CDF) and azimuth ``2 pi r2``.

    Returns
    -------
    Tensor, shape (n, 3, m)
        For ``beta |h| < 1e-10`` (or ``h = 0``) the draw is uniform on the sphere, in the lab frame.
    """
    hn = torch.sqrt((h * h).sum(dim=1))
    x = beta * hn
    flat = (x < 1e-10) | (hn < 1e-150)
    x_safe = torch.where(flat, torch.ones_like(x), x)
    cos_t = 1.0 + torch.log1p(r1 * torch.expm1(-2.0 * x_safe)) / x_safe
    cos_t = torch.where(flat, 2.0 * r1 - 1.0, cos_t).clamp(-1.0, 1.0)
    sin_t = torch.sqrt((1.0 - cos_t * cos_t).clamp_min(0.0))
    phi = (2.0 * math.pi) * r2
    a, b = sin_t * torch.cos(phi), sin_t * torch.sin(phi)
    n = torch.where(flat.unsqueeze(1), torch.zeros_like(h), h / torch.where(flat, 1.0, hn).unsqueeze(1))
    nx, ny, nz = n[:, 0], n[:, 1], torch.where(flat, 1.0, n[:, 2])
    sign = (nz >= 0.0).to(h.dtype) * 2.0 - 1.0
    c = -1.0 / (sign + nz)
    d = nx * ny * c
    return torch.stack([a * (1.0 + sign * nx * nx * c) + b * d + cos_t * nx,
                        a * (sign * d) + b * (sign + ny * ny * c) + cos_t * ny,
                        -a * sign * nx - b * ny + cos_t * nz], dim=1)


_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB


def _int64(c: int) -> int:
    """The int64 with the bits of the uint64 ``c`` (torch has no uint64 arithmetic)."""
    return c - (1 << 64) if c >= 1 << 63 else c


def _srl(x: torch.Tensor, k: int) -> torch.Tensor:
    """Logical right shift of int64 bit patterns (``>>`` on int64 is arithmetic)."""
    return (x >> k) & ((1 << (64 - k)) - 1)


def splitmix64(x: torch.Tensor) -> torch.Tensor:
    """The splitmix64 finalizer on int64 tensors holding uint64 bit patterns (products wrap modulo 2^64)."""
    x = (x ^ _srl(x, 30)) * _int64(_MIX1)
    x = (x ^ _srl(x, 27)) * _int64(_MIX2)
    return x ^ _srl(x, 31)


class SampleStreams:
    """Independent counter-based uniform streams, one per sample (module docstring).

    Parameters
    ----------
    seed : int
        The study's seed (``simulate.seed``).
    indices : array_like of int, shape (n,)
        Global sample indices; stream ``i`` is keyed by ``SeedSequence([seed, 0x70C4, indices[i]])``.
    device : torch.device or str, optional

    Attributes
    ----------
    drawn : int
        Uniforms drawn so far by every sample.
    """

    def __init__(self, seed: int, indices, device=None):
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        keys = np.array([np.random.SeedSequence([int(seed), 0x70C4, int(i)]).generate_state(1, np.uint64)[0]
                         for i in indices], dtype=np.uint64)
        self.keys = torch.as_tensor(keys.view(np.int64), device=device)
        self.drawn = 0

    def uniform(self, shape: tuple[int, ...], dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """The next ``prod(shape)`` uniforms in [0, 1) of every sample, as a tensor ``(shape[0], n, *shape[1:])``.

        Sample ``i`` gets the next ``prod(shape)`` values of its stream in C order of ``shape``.
        """
        count = int(np.prod(shape))
        k = torch.arange(self.drawn + 1, self.drawn + 1 + count, device=self.keys.device, dtype=torch.int64)
        self.drawn += count
        bits = splitmix64(self.keys.view(-1, 1) + k.view(1, -1) * _int64(_GOLDEN))  # (n, count)
        if dtype == torch.float64:
            u = _srl(bits, 11).to(torch.float64) * 2.0 ** -53
        else:
            u = (_srl(bits, 40).to(torch.float64) * 2.0 ** -24).to(dtype)
        return u.view(-1, *shape).movedim(1, 0) if len(shape) > 1 else u.view(-1, count).movedim(1, 0)


def _half_sweep(s: torch.Tensor, sites: torch.Tensor, nbr: torch.Tensor, beta: float, model: ChiralMagnet,
                dmi: tuple, field: torch.Tensor, streams: SampleStreams) -> None:
    """Heat-bath moves on one sublattice of ``s (n, 3, L^2)`` (flattened states), in place.

    ``dmi``: the D vectors of the +x and +y bonds as float tuples; ``field``: B as a ``(1, 3, 1)``
    tensor on the device (no host-to-device copy inside the sweep loop).
    """
    a, b, c, d = (s.index_select(2, nbr[k]) for k in range(4))
    h = model.J * (a + b + c + d) + _cross_const(a - b, dmi[0]) + _cross_const(c - d, dmi[1]) + field
    r = streams.uniform((3 if model.K != 0.0 else 2, sites.numel()), dtype=s.dtype)
    new = heatbath_directions(h, beta, r[0], r[1])
    if model.K != 0.0:
        old = s.index_select(2, sites)
        log_acc = (beta * model.K) * (new[:, 2] ** 2 - old[:, 2] ** 2)
        keep = r[2] < torch.exp(log_acc.clamp_max(0.0))
        new = torch.where(keep.unsqueeze(1), new, old)
    s.index_copy_(2, sites, new)


def random_states(L: int, streams: SampleStreams, dtype=torch.float64) -> torch.Tensor:
    """Uniformly random unit vectors (infinite temperature), shape ``(n, 3, L, L)``, one state per stream."""
    r = streams.uniform((2, L, L), dtype=dtype)
    cos_t = 2.0 * r[0] - 1.0
    sin_t = torch.sqrt((1.0 - cos_t * cos_t).clamp_min(0.0))
    phi = (2.0 * math.pi) * r[1]
    return torch.stack([sin_t * torch.cos(phi), sin_t * torch.sin(phi), cos_t], dim=1)


def sweeps(spins: torch.Tensor, model: ChiralMagnet, temperatures, streams: SampleStreams) -> torch.Tensor:
    """Checkerboard heat-bath sweeps of a batch of states, one sweep per temperature.

    Parameters
    ----------
    spins : Tensor, shape (n, 3, L, L)
        Unit-vector states (float32 or float64) on the device of ``streams``; not modified.
    model : ChiralMagnet
        Hamiltonian; ``model.L`` must equal ``L`` and be even.
    temperatures : sequence of float, shape (n_sweeps,)
        Temperature of each sweep (units of J), all positive.
    streams : SampleStreams
        One stream per state (same device as ``spins``); advanced by the sweeps.

    Returns
    -------
    Tensor, shape (n, 3, L, L)
        The states after the sweeps.

    Raises
    ------
    ValueError
        On a wrongly shaped ``spins``, odd ``L`` or a non-positive temperature.
    """
    L = model.L
    if L % 2:
        raise ValueError(f"system.L: checkerboard updates need an even L, got {L}")
    if spins.ndim != 4 or tuple(spins.shape[1:]) != (3, L, L):
        raise ValueError(f"spins: expected shape (n, 3, {L}, {L}), got {tuple(spins.shape)}")
    temps = np.asarray(temperatures, dtype=np.float64).reshape(-1)
    if not np.all(temps > 0):
        raise ValueError("temperatures: expected positive temperatures")
    s = spins.reshape(spins.shape[0], 3, L * L).clone()
    tables = _sublattice_tables(L, s.device)
    dmi = tuple(tuple(float(v) for v in row) for row in model.dmi_vectors())
    field = torch.as_tensor(model.B, dtype=s.dtype, device=s.device).view(1, 3, 1)
    for T in temps:
        beta = 1.0 / float(T)
        for sites, nbr in tables:
            _half_sweep(s, sites, nbr, beta, model, dmi, field, streams)
    return s.view(spins.shape)


def anneal(model: ChiralMagnet, indices, seed: int, temperatures: np.ndarray, initial: np.ndarray | None = None,
           device=None, dtype: torch.dtype = torch.float64) -> np.ndarray:
    """Simulated annealing by heat-bath Monte Carlo in torch: drop-in for :func:`latentopt.physics.heatbath.anneal`.

    Parameters
    ----------
    model : ChiralMagnet
        Hamiltonian; even ``L``.
    indices : array_like of int, shape (n,)
        Global sample indices (with ``seed`` they key the samples' streams, see the module docstring).
    seed : int
        Random seed of the study (``simulate.seed``).
    temperatures : ndarray, shape (n_sweeps,)
        Temperature of each sweep (e.g. :func:`latentopt.physics.heatbath.geometric_schedule`).
    initial : ndarray, shape (n, 3, L, L), optional
        Starting states; uniformly random states from the samples' streams when omitted.
    device : str or torch.device, optional
        Where to run (e.g. ``"cuda"``); CPU by default.
    dtype : torch.dtype
        ``torch.float64`` (default, as the numba kernel) or ``torch.float32``.

    Returns
    -------
    ndarray, shape (n, 3, L, L), float64
        Final states (unit vectors), on the host.

    Raises
    ------
    ValueError
        On odd ``L``, non-positive temperatures or a wrongly shaped ``initial``.
    """
    L = model.L
    if L % 2:
        raise ValueError(f"system.L: checkerboard updates need an even L, got {L}")
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    device = torch.device(device) if device is not None else torch.device("cpu")
    streams = SampleStreams(seed, indices, device)
    if initial is None:
        spins = random_states(L, streams, dtype=dtype)
    else:
        initial = np.asarray(initial)
        if initial.shape != (len(indices), 3, L, L):
            raise ValueError(f"initial: expected shape {(len(indices), 3, L, L)}, got {initial.shape}")
        spins = torch.as_tensor(initial, dtype=dtype, device=device)
    out = sweeps(spins, model, temperatures, streams)
    return out.to("cpu", torch.float64).numpy()
