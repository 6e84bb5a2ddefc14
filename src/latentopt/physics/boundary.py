"""Boundary-condition maps S_BC for the C_BC objective (Park et al. 2022, Fig. 5d-e).

A map is an array ``(3, L, L)``: unit vectors on the sites where the boundary condition
is imposed and zero vectors elsewhere. It is either generated from settings
(:func:`ring_map`) or loaded from a ``.npy`` file (:func:`load_map`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentopt.errors import UnreadableFileError

RING_DIRECTIONS = ("up", "down", "radial_out", "radial_in")


def ring_map(L: int, radius: float = 0.35, width: float = 2.0, direction: str = "up") -> np.ndarray:
    """A narrow ring of fixed spins, like the round strip of the paper's Fig. 5e.

    Parameters
    ----------
    L : int
        Lattice size.
    radius : float
        Ring radius as a fraction of L (0 < radius < 0.5); centre at the lattice centre.
    width : float
        Ring width in lattice constants: sites with ``|r - radius * L| < width / 2``.
    direction : {"up", "down", "radial_out", "radial_in"}
        Spin on the ring: along +z, -z, or in-plane pointing away from / towards the centre
        (the edge tilt that interfacial DMI imposes on a confined disk).

    Returns
    -------
    ndarray, shape (3, L, L), float64

    Raises
    ------
    ValueError
        On a radius outside (0, 0.5), a non-positive width, an unknown direction, or a
        ring that contains no site.
    """
    if not 0.0 < radius < 0.5:
        raise ValueError(f"boundary.radius: expected a fraction in (0, 0.5), got {radius}")
    if width <= 0:
        raise ValueError(f"boundary.width: expected > 0, got {width}")
    if direction not in RING_DIRECTIONS:
        raise ValueError(f"boundary.direction: expected one of {RING_DIRECTIONS}, got {direction!r}")
    c = (L - 1) / 2.0
    y, x = np.mgrid[0:L, 0:L].astype(np.float64)
    dx, dy = x - c, y - c
    r = np.hypot(dx, dy)
    on_ring = np.abs(r - radius * L) < width / 2.0
    if not on_ring.any():
        raise ValueError(f"boundary: ring radius={radius}, width={width} contains no site of an L={L} lattice")
    s = np.zeros((3, L, L))
    if direction in ("up", "down"):
        s[2] = 1.0 if direction == "up" else -1.0
    else:
        sign = 1.0 if direction == "radial_out" else -1.0
        s[0] = sign * dx / np.maximum(r, 1e-12)
        s[1] = sign * dy / np.maximum(r, 1e-12)
    return s * on_ring[None]


def load_map(path: str | Path, L: int) -> np.ndarray:
    """Load a boundary map saved with ``numpy.save`` (shape ``(3, L, L)``, zero where undefined).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    UnreadableFileError
        If the file is not a readable numeric ``.npy`` file.
    ValueError
        If the array has the wrong shape, non-finite or non-unit defined vectors, or defines no site.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"boundary.file: {path} does not exist")
    fix = "write it with numpy.save(path, array) as described in config/README.md"
    try:
        s = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise UnreadableFileError(path, f"not a readable .npy file ({exc})", fix) from exc
    if s.dtype.kind not in "fiu":
        raise UnreadableFileError(path, f"expected a numeric array, got dtype {s.dtype}", fix)
    s = s.astype(np.float64)
    if s.shape != (3, L, L):
        raise ValueError(f"boundary.file {path}: expected shape (3, {L}, {L}), got {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError(f"boundary.file {path}: contains NaN or inf")
    norm = np.linalg.norm(s, axis=0)
    defined = norm > 0
    if not defined.any():
        raise ValueError(f"boundary.file {path}: defines no site")
    if not np.allclose(norm[defined], 1.0, atol=1e-4):
        raise ValueError(f"boundary.file {path}: defined vectors must be unit vectors")
    return s


def boundary_from_config(boundary: dict, L: int, root: str | Path = ".") -> np.ndarray:
    """Build S_BC from a run's ``boundary:`` block: ``{file: path}`` or ring settings.

    Parameters
    ----------
    boundary : dict
        Either ``{"file": "resources/..."}`` (relative to ``root``) or
        ``{"shape": "ring", "radius": ..., "width": ..., "direction": ...}``.
    L : int
    root : path
        Folder that relative file paths are resolved against (the repository root).

    Returns
    -------
    ndarray, shape (3, L, L)
    """
    if "file" in boundary:
        return load_map(Path(root) / boundary["file"], L)
    return ring_map(L, radius=boundary.get("radius", 0.35), width=boundary.get("width", 2.0),
                    direction=boundary.get("direction", "up"))
