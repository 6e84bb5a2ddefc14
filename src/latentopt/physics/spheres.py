"""Geometry of the product of unit spheres (the configuration space of a spin system), batched torch.

A state of N classical spins is a point of ``(S^2)^N``; here it is a tensor whose spin axis
(length 3, channels ``(s_x, s_y, s_z)``) is ``dim`` (default 1, i.e. a batch ``(n, 3, L, L)``
or ``(n, 3)`` single spins, docs/design.md); every other axis after the spin axis indexes sites.
The tangent space at ``S`` is the product of the planes ``{v_i : v_i . s_i = 0}``; the
metric is the Euclidean one of the embedding, so the geodesic distance between two states is

    d(A, B) = sqrt( sum_i theta_i^2 ),   theta_i = angle(a_i, b_i) = atan2(|a_i x b_i|, a_i . b_i)

(Bessarab, Uzdin, Jonsson, Comp. Phys. Commun. 196, 335 (2015), Eq. 7: the geodesic
distance of GNEB). Every function works on any device and dtype and keeps autograd.

Antiparallel spins (``a_i = -b_i``) have no unique geodesic; :func:`log_map` and
:func:`slerp` then rotate through the direction ``P_a(e) / |P_a(e)|`` with ``e = x_hat``
(``y_hat`` when ``a_i`` is within 0.1 rad of +-x), so the choice is deterministic.
"""

from __future__ import annotations

import torch

__all__ = ["spin_norm", "dot", "normalize", "project_tangent", "angle", "distance_per_spin", "geodesic_distance",
           "exp_map", "log_map", "slerp", "geodesic_path", "tangent_basis", "ANTIPARALLEL_TOL"]

ANTIPARALLEL_TOL = 1e-12
"""``|P_a(b)|`` below which spins with ``a.b < 0`` are treated as exactly antiparallel."""


def _tiny(x: torch.Tensor) -> float:
    return torch.finfo(x.dtype).tiny


def _check_spin_axis(s: torch.Tensor, dim: int, name: str = "state") -> None:
    if s.ndim < 1 or s.shape[dim] != 3:
        raise ValueError(f"{name}: expected a spin axis of length 3 at dim {dim}, got shape {tuple(s.shape)}")


def spin_norm(v: torch.Tensor, dim: int = 1, keepdim: bool = False) -> torch.Tensor:
    """Length of every spin vector, ``|v_i|`` (``sqrt`` of a sum: much faster than ``Tensor.norm`` over a
    non-contiguous axis on the CPU)."""
    return torch.sqrt((v * v).sum(dim=dim, keepdim=keepdim))


def dot(a: torch.Tensor, b: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Per-spin dot product ``a_i . b_i`` (the spin axis ``dim`` is kept with length 1)."""
    return (a * b).sum(dim=dim, keepdim=True)


def normalize(s: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Scale every spin to unit length, ``s_i / |s_i|``.

    Raises
    ------
    ValueError
        If a spin has zero length (a direction cannot be recovered).
    """
    _check_spin_axis(s, dim)
    n = spin_norm(s, dim, keepdim=True)
    if bool((n == 0).any()):
        raise ValueError("state: contains a zero-length spin, cannot normalize")
    return s / n


def project_tangent(s: torch.Tensor, v: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Project ``v`` onto the tangent space at ``s``: ``v_i - (v_i . s_i) s_i`` for every spin.

    Parameters
    ----------
    s : Tensor, shape (..., 3, ...)
        Unit spins (spin axis ``dim``).
    v : Tensor, same shape (or broadcastable)

    Returns
    -------
    Tensor, shape of ``v``
        Orthogonal to ``s`` spin by spin (Bessarab et al. 2015, Eq. 8: the projection that
        turns a 3N-vector into a tangent vector of ``(S^2)^N``).
    """
    return v - dot(v, s, dim) * s


def angle(a: torch.Tensor, b: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Angle between corresponding unit spins, ``2 atan2(|a_i - b_i|, |a_i + b_i|)`` in ``[0, pi]``.

    The spin axis is kept with length 1.

    For unit vectors ``|a - b| = 2 sin(theta/2)`` and ``|a + b| = 2 cos(theta/2)``; unlike
    ``acos(a.b)`` this is accurate for nearly parallel and nearly antiparallel spins. Its
    gradient at exactly parallel spins is set to zero (subgradient).
    """
    d, s = a - b, a + b
    dd, ss = (d * d).sum(dim=dim, keepdim=True), (s * s).sum(dim=dim, keepdim=True)
    return 2.0 * torch.atan2(torch.sqrt(dd + _tiny(dd)), torch.sqrt(ss + _tiny(ss)))


def distance_per_spin(a: torch.Tensor, b: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Geodesic distance of every spin, ``theta_i`` in radians; shape of ``a`` without the spin axis."""
    _check_spin_axis(a, dim, "a")
    _check_spin_axis(b, dim, "b")
    return angle(a, b, dim).squeeze(dim)


def geodesic_distance(a: torch.Tensor, b: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Geodesic distance between states on ``(S^2)^N``, ``sqrt(sum_i theta_i^2)``.

    Parameters
    ----------
    a, b : Tensor, shape (*batch, 3, *sites)
        Unit spins; the spin axis is ``dim`` (``dim == len(batch)``).

    Returns
    -------
    Tensor, shape ``batch``
        Radians (Bessarab et al. 2015, Eq. 7).
    """
    th = distance_per_spin(a, b, dim)
    sq = th * th
    if th.ndim > dim:  # sum over the site axes (none for single spins; sum(dim=()) would sum everything)
        sq = sq.sum(dim=tuple(range(dim, th.ndim)))
    return torch.sqrt(sq + _tiny(th))


def exp_map(s: torch.Tensor, v: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Move every spin along its great circle: ``exp_s(v) = cos|v_i| s_i + sin|v_i| v_i / |v_i|``.

    ``v`` is first projected onto the tangent space at ``s``, so any 3N-vector is accepted.
    The result is renormalized, so ``|S_i| = 1`` holds to machine precision after any number
    of steps (the retraction of GNEB updates; Bessarab et al. 2015, Sec. 3.2, rotation of
    each spin about ``s_i x v_i``). Differentiable everywhere, including ``v_i = 0``.

    Parameters
    ----------
    s : Tensor, shape (..., 3, ...)
        Unit spins.
    v : Tensor, same shape
        Displacement; ``|v_i|`` is the rotation angle of spin i (radians).

    Returns
    -------
    Tensor, shape of ``s``
    """
    v = project_tangent(s, v, dim)
    n2 = (v * v).sum(dim=dim, keepdim=True)
    n = torch.sqrt(n2 + _tiny(n2))
    out = torch.cos(n) * s + torch.sinc(n / torch.pi) * v  # sinc(x/pi) = sin(x)/x
    return out / spin_norm(out, dim, keepdim=True)


def _fallback_direction(a: torch.Tensor, dim: int) -> torch.Tensor:
    """Unit tangent at ``a`` used to leave an antiparallel partner: ``P_a(x_hat)``, or ``P_a(y_hat)`` near +-x."""
    shape = [1] * a.ndim
    shape[dim] = 3
    ex = torch.tensor([1.0, 0.0, 0.0], dtype=a.dtype, device=a.device).reshape(shape)
    ey = torch.tensor([0.0, 1.0, 0.0], dtype=a.dtype, device=a.device).reshape(shape)
    near_x = a.select(dim, 0).abs().unsqueeze(dim) > torch.cos(torch.tensor(0.1, dtype=a.dtype))
    e = torch.where(near_x, ey, ex)
    w = project_tangent(a, e, dim)
    return w / spin_norm(w, dim, keepdim=True)


def log_map(a: torch.Tensor, b: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Tangent vector at ``a`` pointing to ``b`` along the shortest great circle, length ``theta_i``.

    ``exp_map(a, log_map(a, b)) == b``. Antiparallel spins use the deterministic direction of
    the module docstring.

    Returns
    -------
    Tensor, shape of ``a``
        ``theta_i u_i`` with ``u_i = P_a(b_i) / |P_a(b_i)|``.
    """
    _check_spin_axis(a, dim, "a")
    _check_spin_axis(b, dim, "b")
    p = project_tangent(a, b, dim)
    pn2 = (p * p).sum(dim=dim, keepdim=True)
    pn = torch.sqrt(pn2 + _tiny(pn2))
    th = torch.atan2(pn, dot(a, b, dim))
    anti = (pn < ANTIPARALLEL_TOL) & (dot(a, b, dim) < 0)
    u = torch.where(anti, _fallback_direction(a, dim), p / pn.clamp_min(ANTIPARALLEL_TOL))
    # for parallel spins p = 0 and th = 0; th / pn * p keeps the exact zero
    return torch.where(anti, torch.pi * u, th * u)


def slerp(a: torch.Tensor, b: torch.Tensor, t, dim: int = 1) -> torch.Tensor:
    """Geodesic (spherical linear) interpolation spin by spin, ``exp_a(t log_a(b))``.

    Parameters
    ----------
    a, b : Tensor, shape (*batch, 3, *sites)
    t : float or Tensor
        Interpolation parameter in [0, 1] (broadcast against ``a`` with the spin axis of
        length 1, e.g. shape ``(*batch, 1, *[1]*len(sites))``).

    Returns
    -------
    Tensor, shape of ``a``
        ``t = 0`` gives ``a``, ``t = 1`` gives ``b`` (to rounding); every spin moves at constant
        angular speed, so the states are equally spaced in the geodesic distance.
    """
    return exp_map(a, t * log_map(a, b, dim), dim)


def geodesic_path(a: torch.Tensor, b: torch.Tensor, n_images: int, dim: int = 0) -> torch.Tensor:
    """``n_images`` states equally spaced on the geodesic from state ``a`` to state ``b``.

    Parameters
    ----------
    a, b : Tensor, shape (3, *sites)
        End states (spin axis first, ``dim = 0``).
    n_images : int
        At least 2; the first and last images are exactly ``a`` and ``b``.

    Returns
    -------
    Tensor, shape (n_images, 3, *sites)

    Raises
    ------
    ValueError
        If ``n_images < 2`` or the shapes differ.
    """
    if int(n_images) < 2:
        raise ValueError(f"n_images: expected at least 2, got {n_images}")
    if a.shape != b.shape:
        raise ValueError(f"end states: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}")
    _check_spin_axis(a, dim)
    t = torch.linspace(0.0, 1.0, int(n_images), dtype=a.dtype, device=a.device)
    t = t.reshape((-1,) + (1,) * a.ndim)
    path = slerp(a.unsqueeze(0), b.unsqueeze(0), t, dim=dim + 1)
    path = path.clone()
    path[0], path[-1] = a, b
    return path


def tangent_basis(s: torch.Tensor, dim: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Two orthonormal tangent vectors per spin, ``(e1_i, e2_i)`` with ``e1 x e2 = s``.

    ``e1 = P_s(x_hat)`` normalized (``P_s(y_hat)`` within 0.1 rad of +-x), ``e2 = s x e1``.
    The basis of the 2N-dimensional tangent space used for the Hessian
    (:func:`latentopt.optimizers.neb.tangent_hessian`).

    Returns
    -------
    e1, e2 : Tensor, shape of ``s``
    """
    _check_spin_axis(s, dim)
    e1 = _fallback_direction(s, dim)
    e2 = torch.linalg.cross(s, e1, dim=dim)
    return e1, e2
