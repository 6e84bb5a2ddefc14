"""Initial paths of GNEB between two end states, and the refinement of a path.

A path is an array of images ``(m, 3, L, L)`` of unit spins (docs/design.md, "Physics
conventions"); its first and last images are the relaxed end states, which stay fixed in
GNEB (:func:`latentopt.optimizers.neb.run_neb`; Bessarab, Uzdin, Jonsson, Comp. Phys.
Commun. 196, 335 (2015)).

- ``"geodesic"``: every spin rotated along its great circle from the initial to the final
  state (:func:`latentopt.physics.spheres.geodesic_path`), the usual GNEB start;
- ``"latent"``: the images decoded from the straight line between the end states' latent
  codes of a trained generative model (:func:`latent_initial_path`), a start shaped by the
  states the model has learned;
- :func:`double_images`: ``m -> 2 m - 1`` images by geodesic midpoints, the image-count
  check of a converged path.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from latentopt.physics import spheres

__all__ = ["INITIAL_PATHS", "double_images", "initial_path", "latent_initial_path"]

#: The kinds of initial path :func:`initial_path` builds.
INITIAL_PATHS = ("geodesic", "latent")


def latent_initial_path(encode: Callable[[torch.Tensor], torch.Tensor], decode: Callable[[torch.Tensor], torch.Tensor],
                        initial: np.ndarray, final: np.ndarray, n_images: int) -> np.ndarray:
    """Initial path decoded from the straight line between the end states' latent codes.

    ``z_k = (1 - t_k) z_A + t_k z_B`` with ``t_k = k / (m - 1)``, ``z_A, z_B = encode(A, B)``;
    the images are ``decode(z_k)`` normalized spin by spin, and the two end images are then
    replaced by the relaxed end states themselves (they stay fixed in GNEB).

    Parameters
    ----------
    encode : callable
        ``(n, 3, L, L) -> (n, N)`` codes (e.g. the posterior means of a trained
        :class:`latentopt.models.vae.SpinVAE`).
    decode : callable
        ``(n, N) -> (n, 3, L, L)`` states.
    initial, final : ndarray, shape (3, L, L)
    n_images : int
        At least 3.

    Returns
    -------
    ndarray, shape (n_images, 3, L, L), float64

    Raises
    ------
    ValueError
        On ``n_images < 3``, end states of different shapes, or a decoder whose output does
        not match the end states' lattice.
    """
    a, b = np.asarray(initial, dtype=np.float64), np.asarray(final, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 3 or a.shape[0] != 3:
        raise ValueError(f"end states: expected two states (3, L, L) of equal size, got {a.shape} and {b.shape}")
    if int(n_images) < 3:
        raise ValueError(f"n_images: expected at least 3, got {n_images}")
    with torch.no_grad():
        ends = torch.as_tensor(np.stack([a, b]), dtype=torch.float32)
        z = encode(ends).double()
        if z.ndim != 2 or z.shape[0] != 2:
            raise ValueError(f"encode: expected codes (2, N), got {tuple(z.shape)}")
        t = torch.linspace(0.0, 1.0, int(n_images), dtype=torch.float64)[:, None]
        zs = (1.0 - t) * z[0] + t * z[1]
        x = decode(zs.to(torch.float32)).double()
    if tuple(x.shape[1:]) != a.shape:
        raise ValueError(f"decode: expected states {(int(n_images),) + a.shape}, got {tuple(x.shape)}")
    x = spheres.normalize(x).numpy()
    x[0], x[-1] = a, b
    return x


def initial_path(initial: np.ndarray, final: np.ndarray, n_images: int, kind: str = "geodesic",
                 encode: Callable | None = None, decode: Callable | None = None) -> np.ndarray:
    """The starting path of GNEB between two relaxed end states, of kind ``geodesic`` or ``latent``.

    Parameters
    ----------
    initial, final : ndarray, shape (3, L, L)
        Relaxed end states.
    n_images : int
    kind : {"geodesic", "latent"}
        Geodesic interpolation spin by spin (:func:`latentopt.physics.spheres.geodesic_path`)
        or :func:`latent_initial_path` (needs ``encode`` and ``decode``).
    encode, decode : callable, optional
        See :func:`latent_initial_path`.

    Returns
    -------
    ndarray, shape (n_images, 3, L, L)

    Raises
    ------
    ValueError
        On an unknown ``kind``, or ``"latent"`` without ``encode`` and ``decode``.
    """
    if kind == "geodesic":
        return spheres.geodesic_path(torch.as_tensor(initial, dtype=torch.float64),
                                     torch.as_tensor(final, dtype=torch.float64), int(n_images)).numpy()
    if kind == "latent":
        if encode is None or decode is None:
            raise ValueError("initial_path: 'latent' needs the encode and decode callables of a trained spin VAE")
        return latent_initial_path(encode, decode, initial, final, n_images)
    raise ValueError(f"initial_path: expected one of {INITIAL_PATHS}, got {kind!r}")


def double_images(path: np.ndarray) -> np.ndarray:
    """Insert the geodesic midpoint between neighbouring images: ``m -> 2m - 1`` images (the refinement check).

    Parameters
    ----------
    path : ndarray, shape (m, 3, L, L)

    Returns
    -------
    ndarray, shape (2 m - 1, 3, L, L), float64
        The images of ``path`` at the even positions, the midpoints
        (:func:`latentopt.physics.spheres.slerp` at ``t = 1/2``) between them.
    """
    x = torch.as_tensor(np.asarray(path), dtype=torch.float64)
    mid = spheres.slerp(x[:-1], x[1:], 0.5)
    out = torch.empty((2 * len(x) - 1,) + tuple(x.shape[1:]), dtype=x.dtype)
    out[0::2], out[1::2] = x, mid
    return out.numpy()
