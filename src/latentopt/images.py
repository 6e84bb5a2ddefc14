"""Offline image data sets for the KL-schedule studies (Biswas et al. 2023, Secs. 3-4).

Two stand-ins for the paper's data, generated without any download:

- :func:`digits`: scikit-learn's bundled handwritten digits (1,797 images of 8 x 8
  pixels, values 0..16), upsampled with :func:`skimage.transform.resize`, placed in the
  middle of a larger canvas so that no corner is lost on rotation, and rotated in-plane
  by a random angle with :func:`skimage.transform.rotate` -- the stand-in for the
  paper's rotated MNIST (Sec. 3);
- :func:`particles`: synthetic images of ``c`` particles (Gaussian blobs or soft disks
  of random radius) in a random compact arrangement, randomly rotated, with Gaussian
  noise, labelled by the particle count ``c`` -- the stand-in for the SEM images of
  plasmonic gold nanoparticles (Sec. 4; 3 and 7 labels there).

Conventions: images are ``(n, H, W)`` float32 in ``[0, 1]`` (row 0 at the top); the
angle is the in-plane rotation in degrees, counter-clockwise as displayed
(:func:`skimage.transform.rotate`'s convention). Everything is drawn from a seeded
:class:`numpy.random.Generator`.

:func:`train_subset` picks the seeded subset that every BO evaluation trains on (the
paper trains the jrVAE on a random subset during BO and on the full set afterwards).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import numpy as np
from skimage.transform import resize, rotate

__all__ = ["DATASETS", "digits", "make_images", "particles", "train_subset"]

DATASETS = ("digits", "particles")


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), stream]))


def digits(classes: Sequence[int] = (0, 1, 4), size: int = 24, fill: float = 0.7, rotation: float = 360.0,
           copies: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """Rotated handwritten digits from scikit-learn's bundled set (no download).

    Each selected 8 x 8 digit is scaled to ``[0, 1]`` (divided by 16), resized to
    ``round(fill * size)`` pixels (bi-cubic, clipped to ``[0, 1]``), centred on a
    ``size x size`` black canvas and rotated counter-clockwise by an angle drawn
    uniformly from ``[-rotation / 2, rotation / 2]`` degrees (bilinear, black outside).
    With ``fill <= 1/sqrt(2)`` no ink leaves the canvas at any angle.

    Parameters
    ----------
    classes : sequence of int
        Digits to keep (distinct values in 0..9, at least one). Avoid 6 and 9 together:
        they are rotations of each other.
    size : int
        Output side ``H = W``, ``>= 8``.
    fill : float
        Side of the digit relative to the canvas, in ``(0, 1]``.
    rotation : float
        Width of the uniform angle range in degrees, in ``[0, 360]`` (0: no rotation).
    copies : int
        Rotated copies of every digit (each with its own angle), ``>= 1``.
    seed : int

    Returns
    -------
    dict
        ``images (n, size, size)`` float32 in [0, 1]; ``labels (n,)`` int64 digit
        values; ``angles (n,)`` float64 degrees. ``n = copies x`` (digits of the chosen
        classes; about 180 per class), in the order of the scikit-learn set.

    Raises
    ------
    ValueError
        On an out-of-range argument (the message names it).
    """
    from sklearn.datasets import load_digits

    classes = [int(c) for c in classes]
    if not classes or len(set(classes)) != len(classes) or not all(0 <= c <= 9 for c in classes):
        raise ValueError(f"classes: expected distinct digits in 0..9, got {classes}")
    if int(size) < 8:
        raise ValueError(f"size: expected an int >= 8, got {size}")
    if not 0 < fill <= 1:
        raise ValueError(f"fill: expected a value in (0, 1], got {fill}")
    if not 0 <= rotation <= 360:
        raise ValueError(f"rotation: expected degrees in [0, 360], got {rotation}")
    if int(copies) < 1:
        raise ValueError(f"copies: expected an int >= 1, got {copies}")
    size, copies = int(size), int(copies)
    data = load_digits()
    keep = np.isin(data.target, classes)
    raw = data.images[keep] / 16.0
    labels = data.target[keep].astype(np.int64)
    inner = max(1, int(round(fill * size)))
    a = (size - inner) // 2
    canvas = np.zeros((len(raw), size, size))
    for k, img in enumerate(raw):
        canvas[k, a:a + inner, a:a + inner] = np.clip(resize(img, (inner, inner), order=3, mode="edge",
                                                             anti_aliasing=False), 0.0, 1.0)
    canvas = np.tile(canvas, (copies, 1, 1))
    labels = np.tile(labels, copies)
    angles = _rng(seed, 0xD1).uniform(-rotation / 2, rotation / 2, size=len(canvas))
    images = np.stack([rotate(img, ang, order=1, mode="constant", cval=0.0) if ang else img
                       for img, ang in zip(canvas, angles)])
    return {"images": np.clip(images, 0.0, 1.0).astype(np.float32), "labels": labels, "angles": angles}


def particles(counts: Sequence[int] = (1, 2, 3), n_per_count: int = 150, size: int = 24,
              radius: Sequence[float] = (1.8, 2.8), spread: float = 0.3, shape: str = "blob",
              rotation: float = 360.0, noise: float = 0.03, seed: int = 0) -> dict[str, np.ndarray]:
    """Synthetic images of a few particles, labelled by their number.

    For every image with ``c`` particles: radii are uniform in ``radius`` (pixels);
    centres are drawn uniformly in a disk of radius ``spread * size`` around the image
    centre, rejecting draws where two particles would overlap (centre distance
    ``< r_i + r_j``; a jammed arrangement is restarted after every 100 rejections); the
    arrangement is shifted so its centroid is the image centre,
    then rotated counter-clockwise by an angle uniform in ``[-rotation/2, rotation/2]``
    degrees and rendered analytically (no interpolation) as

    - ``blob``: ``exp(-|x - x_i|^2 / (2 s_i^2))`` with ``s_i = r_i / 2``,
    - ``disk``: a soft disk ``1 / (1 + exp((|x - x_i| - r_i) / 0.5))``;

    overlapping contributions are combined by a maximum. Gaussian noise of standard
    deviation ``noise`` is added and the image clipped to ``[0, 1]``.

    Parameters
    ----------
    counts : sequence of int
        Particle counts (the labels; distinct, ``>= 1``). The paper uses 3 and 7 labels.
    n_per_count : int
        Images per count (balanced classes), ``>= 1``.
    size : int
        Image side, ``>= 8``.
    radius : (float, float)
        Range of particle radii in pixels, ``0 < low <= high``.
    spread : float
        Radius of the placement disk relative to ``size``, in ``(0, 0.5]``.
    shape : {"blob", "disk"}
    rotation : float
        Width of the angle range in degrees, ``[0, 360]``.
    noise : float
        Standard deviation of the additive Gaussian noise, ``>= 0``.
    seed : int

    Returns
    -------
    dict
        ``images (n, size, size)`` float32 in [0, 1]; ``labels (n,)`` int64 particle
        counts; ``angles (n,)`` float64 degrees; ``n = len(counts) * n_per_count``,
        shuffled.

    Raises
    ------
    ValueError
        On out-of-range arguments, or when the particles do not fit (more than 10,000
        rejected placements for one image, restarting the arrangement every 100: lower ``radius`` or raise ``spread``).
    """
    counts = [int(c) for c in counts]
    if not counts or len(set(counts)) != len(counts) or min(counts) < 1:
        raise ValueError(f"counts: expected distinct particle counts >= 1, got {counts}")
    lo, hi = (float(r) for r in radius)
    if not 0 < lo <= hi:
        raise ValueError(f"radius: expected 0 < low <= high, got {radius}")
    if int(size) < 8 or int(n_per_count) < 1:
        raise ValueError(f"size >= 8 and n_per_count >= 1 expected, got {size}, {n_per_count}")
    if not 0 < spread <= 0.5:
        raise ValueError(f"spread: expected a value in (0, 0.5], got {spread}")
    if shape not in ("blob", "disk"):
        raise ValueError(f"shape: expected 'blob' or 'disk', got {shape!r}")
    if not 0 <= rotation <= 360 or not noise >= 0:
        raise ValueError(f"rotation in [0, 360] and noise >= 0 expected, got {rotation}, {noise}")
    size, n_per = int(size), int(n_per_count)
    rng = _rng(seed, 0xA7)
    labels = np.repeat(np.array(counts, dtype=np.int64), n_per)
    labels = labels[rng.permutation(len(labels))]
    angles = rng.uniform(-rotation / 2, rotation / 2, size=len(labels))
    centre = (size - 1) / 2.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    images = np.zeros((len(labels), size, size))
    R = spread * size
    for k, (c, ang) in enumerate(zip(labels, angles)):
        r = rng.uniform(lo, hi, size=c)
        pos = np.zeros((0, 2))
        tries = 0
        while len(pos) < c:
            rho, th = R * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
            p = np.array([rho * np.cos(th), rho * np.sin(th)])
            if np.all(np.hypot(*(pos - p).T) >= r[len(pos)] + r[:len(pos)]):
                pos = np.vstack([pos, p])
            tries += 1
            if tries % 100 == 0:  # jammed: start the arrangement afresh
                pos = np.zeros((0, 2))
            if tries > 10000:
                raise ValueError(f"particles: cannot place {c} particles of radius {radius} within spread "
                                 f"{spread} x size {size}; lower radius or raise spread")
        pos -= pos.mean(axis=0)
        t = np.deg2rad(ang)
        # counter-clockwise as displayed (rows grow downwards): (x, -y) rotated by +t
        x = centre + np.cos(t) * pos[:, 0] + np.sin(t) * pos[:, 1]
        y = centre - np.sin(t) * pos[:, 0] + np.cos(t) * pos[:, 1]
        d = np.sqrt((xx[None] - x[:, None, None]) ** 2 + (yy[None] - y[:, None, None]) ** 2)
        if shape == "blob":
            img = np.exp(-d ** 2 / (2 * (r[:, None, None] / 2) ** 2))
        else:
            img = 1.0 / (1.0 + np.exp((d - r[:, None, None]) / 0.5))
        images[k] = img.max(axis=0)
    if noise > 0:
        images += rng.normal(0.0, noise, size=images.shape)
    return {"images": np.clip(images, 0.0, 1.0).astype(np.float32), "labels": labels, "angles": angles}


def make_images(spec: dict, seed: int) -> dict[str, np.ndarray]:
    """Build a data set from a config block ``{"name": "digits" | "particles", **keyword arguments}``.

    Raises
    ------
    ValueError
        For an unknown ``name`` or unknown keyword arguments (named in the message).
    """
    spec = dict(spec)
    name = spec.pop("name", None)
    if name not in DATASETS:
        raise ValueError(f"data.name: expected one of {DATASETS}, got {name!r}")
    fn = digits if name == "digits" else particles
    allowed = set(inspect.signature(fn).parameters) - {"seed"}
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(f"data: unknown keys {sorted(unknown)} for {name!r}; expected some of {sorted(allowed)}")
    return fn(**spec, seed=seed)


def train_subset(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Seeded random subset of ``n`` sample indices, stratified by label (sorted, int64).

    Each class contributes ``round(n * share)`` samples, its share of the full set
    (largest remainders first), so the subset keeps the class balance; ``n >=`` the set
    size returns every index.

    Raises
    ------
    ValueError
        If ``n < 1``.
    """
    labels = np.asarray(labels)
    if int(n) < 1:
        raise ValueError(f"n: expected a positive number of training images, got {n}")
    if n >= len(labels):
        return np.arange(len(labels), dtype=np.int64)
    rng = _rng(seed, 0x7A)
    classes, counts = np.unique(labels, return_counts=True)
    share = n * counts / counts.sum()
    take = np.floor(share).astype(int)
    order = np.argsort(-(share - take), kind="stable")
    take[order[: int(n) - take.sum()]] += 1
    picked = [rng.choice(np.flatnonzero(labels == c), size=k, replace=False) for c, k in zip(classes, take)]
    return np.sort(np.concatenate(picked)).astype(np.int64)
