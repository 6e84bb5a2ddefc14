"""File I/O: atomic writes and the HDF5 data contracts of ``docs/design.md``.

Every writer goes through :func:`atomic_path`: the file is written under a temporary
name in the destination folder and renamed into place only when complete, so a crash
never leaves a half-written output.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping

import h5py
import numpy as np

from latentopt import __version__
from latentopt.errors import UnreadableFileError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    The temporary file is removed if the block raises. Parent folders are created.

    Parameters
    ----------
    path : str or PathLike
        Final destination.

    Yields
    ------
    pathlib.Path
        Temporary path (same folder, same suffix) to write to.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.exists():  # mkstemp creates 0600; give the file the usual umask-based mode
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _attr_value(value: Any) -> Any:
    """HDF5 attributes take scalars, strings and arrays; anything else is stored as JSON."""
    if isinstance(value, (str, int, float, bool, np.integer, np.floating, np.bool_)):
        return value
    if isinstance(value, np.ndarray):
        return value
    return json.dumps(value, sort_keys=True)


def write_h5(path: str | os.PathLike, datasets: Mapping[str, Any], attrs: Mapping[str, Any] | None = None,
             compress: bool = True) -> None:
    """Atomically write ``datasets`` (name -> array) and ``attrs`` to an HDF5 file.

    Non-scalar attribute values (dicts, lists) are stored as JSON strings. The package
    version is recorded as the ``latentopt_version`` attribute.

    Parameters
    ----------
    path : str or PathLike
        Output file.
    datasets : mapping of str to array_like
        Arrays to store; arrays of 4 or more dimensions are chunked per sample and
        gzip-compressed when ``compress``.
    attrs : mapping, optional
        File-level attributes (the settings that made the file).
    compress : bool
        Compress large arrays (gzip level 4).
    """
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for name, value in datasets.items():
                arr = np.asarray(value)
                kwargs = {}
                if compress and arr.ndim >= 2 and arr.size >= 4096:
                    kwargs = dict(compression="gzip", compression_opts=4,
                                  chunks=(1,) + arr.shape[1:] if arr.ndim >= 3 else True)
                f.create_dataset(name, data=arr, **kwargs)
            f.attrs["latentopt_version"] = __version__
            for key, value in (attrs or {}).items():
                f.attrs[key] = _attr_value(value)


@contextlib.contextmanager
def open_h5(path: str | os.PathLike) -> Iterator[h5py.File]:
    """Open an HDF5 file for reading; a missing, truncated or corrupt file raises one clear error.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UnreadableFileError
        If the file is not a readable HDF5 file or a dataset cannot be read (truncated by a
        full disk, damaged); the message names the file and says to delete it and rerun.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise UnreadableFileError(path, f"not a readable HDF5 file, truncated or corrupt ({_h5_reason(exc)})") from exc
    try:
        with f:
            yield f
    except OSError as exc:  # a chunk that cannot be read or decompressed
        raise UnreadableFileError(path, f"damaged HDF5 data ({_h5_reason(exc)})") from exc


def _h5_reason(exc: OSError) -> str:
    """The informative part of an h5py error (they start with 'Unable to synchronously ...')."""
    text = str(exc)
    return text[text.find("(") + 1:text.rfind(")")] if "(" in text and text.endswith(")") else text


def read_h5(path: str | os.PathLike, names: list[str] | None = None,
            shapes: Mapping[str, tuple] | None = None) -> dict[str, np.ndarray]:
    """Read datasets from an HDF5 file into a dict of numpy arrays.

    Parameters
    ----------
    path : str or PathLike
    names : list of str, optional
        Dataset names to read; all top-level datasets when omitted.
    shapes : mapping of str to tuple, optional
        Expected shape per dataset, ``None`` for any extent along an axis, e.g.
        ``{"spins": (None, 3, None, None)}``; checked before the data are read.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UnreadableFileError
        If the file is truncated or corrupt, a requested dataset is missing, or a dataset
        has the wrong shape (the message names file and dataset, and the fix).
    """
    with open_h5(path) as f:
        keys = names if names is not None else [k for k in f.keys() if isinstance(f[k], h5py.Dataset)]
        out = {}
        for k in keys:
            if k not in f:
                raise UnreadableFileError(path, f"dataset {k!r} missing (has {sorted(f.keys())}); the file was "
                                                "written by another version or is damaged")
            expected = (shapes or {}).get(k)
            if expected is not None:
                shape = f[k].shape
                if len(shape) != len(expected) or any(e is not None and e != n for e, n in zip(expected, shape)):
                    want = "(" + ", ".join("n" if e is None else str(e) for e in expected) + ")"
                    raise UnreadableFileError(path, f"dataset {k!r} has shape {shape}, expected {want}")
            out[k] = f[k][()]
        return out


def read_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """Return the file-level attributes of an HDF5 file (JSON strings decoded).

    Raises
    ------
    FileNotFoundError, UnreadableFileError
        As :func:`read_h5`.
    """
    with open_h5(path) as f:
        out = {}
        for k, v in f.attrs.items():
            if isinstance(v, bytes):
                v = v.decode()
            if isinstance(v, str):
                try:
                    v = json.loads(v)
                except json.JSONDecodeError:
                    pass
            out[k] = v
        return out


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (identifies e.g. the trained model a checkpoint was made with)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def array_digest(arr: np.ndarray | None) -> str | None:
    """SHA-256 of an array's dtype, shape and bytes; None for None."""
    if arr is None:
        return None
    a = np.ascontiguousarray(arr)
    return hashlib.sha256(f"{a.dtype}{a.shape}".encode() + a.tobytes()).hexdigest()


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON (numpy scalars converted)."""

    def default(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(f"not JSON serialisable: {type(o)}")

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=default) + "\n")
