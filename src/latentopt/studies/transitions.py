"""The steps of a transitions study (``kind: transitions``), one function per workflow rule.

end states (relaxed) -> initial path (geodesic, or decoded from a latent interpolation) ->
GNEB with climbing image per method -> saddle check (tangent-space Hessian) -> meta-learned
(gamma, mu, beta) on the single-spin benchmark -> metrics. Bushuev & Lobanov, Nanosystems 11,
642 (2020); Bessarab, Uzdin, Jonsson, Comp. Phys. Commun. 196, 335 (2015) (GNEB).

Every function takes validated config blocks (:func:`check_config` fills the defaults of
:data:`DEFAULTS` and rejects bad values naming the key) and arrays, and returns the arrays
or dicts of its output file:

- ``results/<study>/transitions/<run>.h5`` (:func:`transition_datasets`): ``path (m, 3, L, L)``,
  ``energy (m,)`` total energies relative to the initial state (J), ``arc (m,)`` geodesic
  arc length (rad), ``profile_s``, ``profile_e`` (Hermite-interpolated profile), ``barrier``
  (J), ``saddle_index``, ``hessian_lowest (k,)`` (J/rad^2), ``force_history (iterations + 1,)``
  (J/rad), plus ``W (m,)``, ``slope (m,)``, ``iterations``, ``force_evaluations``,
  ``wall_time``, ``negative_modes``, ``converged``;
- ``results/<study>/meta/params.json`` (:func:`meta_learning`): learned gamma, mu, beta with
  train/test loss; ``results/<study>/meta/benchmark.h5``: ``delta_initial``, ``delta_learned``
  ``(record + 1, P)``, ``iterations_initial``, ``iterations_learned (P,)``, ``train_loss``,
  ``test_loss``, ``param_history``;
- ``metrics.json`` (:func:`metrics`).

Sign conventions: energies in units of J; the skyrmion of :func:`latentopt.physics.states.skyrmion`
with ``polarity = -1`` has its core along -z in a +z background and ``W = -1``; with the field
along +z the collapse takes ``W`` from -1 to 0.
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from latentopt.optimizers import meta_neb, neb
from latentopt.physics import spheres, states
from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.physics.minimize import chiral_magnet_energy_fn, minimize
from latentopt.physics.torch_physics import topological_charge

END_STATE_KINDS = ("skyrmion", "ferromagnet", "npy", "h5")
INITIAL_PATHS = ("geodesic", "latent")

#: Defaults of the ``transitions:`` block (see the module docstring and ``check_config``).
DEFAULTS: dict[str, Any] = {
    "end_states": {
        "initial": {"kind": "skyrmion", "radius": 5.0, "helicity": "auto"},
        "final": {"kind": "ferromagnet"},
        "relax": {"tol": 1e-8, "max_iter": 20000},
    },
    "images": 16,
    "initial_path": "geodesic",
    "latent_study": None,
    "climbing": True,
    "tol": 1e-6,
    "max_iter": 20000,
    "max_step": 0.2,
    "runs": {
        "vp": {"method": "vp", "tangent": "improved", "dt": 0.2, "mu": 1.0},
        "paper": {"method": "paper", "tangent": "smooth", "gamma": 0.1, "mu": 1.0, "beta": 3.0},
        "learned": {"method": "paper", "tangent": "smooth", "params": "meta", "max_iter": 1000},
    },
    "double_images": True,
    "hessian": {"k": 6, "threshold": 1e-5},
    "meta": {
        "initial": [0.01, 1.0, 3.0], "learn": ["gamma", "mu", "beta"], "epochs": 5, "steps_per_epoch": 10,
        "n_paths": 30, "n_test": 30, "images": [8, 14], "perturbation": 0.05, "bend": 0.0, "K": 5,
        "optimizer": "bb", "lr": 0.05, "seed": 0,
        "benchmark": {"n_paths": 50, "record": 60, "max_iter": 3000, "threshold": 1e-6, "perturbation": 0.05,
                      "bend": 0.05, "seed": 1},
    },
}

#: ``config/paper.yaml`` sizes of the meta-learning (Bushuev & Lobanov 2020: 100 paths, 200 epochs of 20 steps).
PAPER_META = {"epochs": 200, "steps_per_epoch": 20, "n_paths": 100, "n_test": 100,
              "benchmark": {"n_paths": 100, "record": 60, "max_iter": 5000}}

_METHOD_KEYS = {"method", "tangent", "gamma", "mu", "beta", "dt", "mass", "params", "climbing", "tol", "max_iter",
                "max_step", "climb_after", "initial_path"}


def _merge(defaults: dict, given: dict | None) -> dict:
    out = copy.deepcopy(defaults)
    for k, v in (given or {}).items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def _positive(value, key: str, integer: bool = False, minimum: float | None = None):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if integer:
        ok = ok and float(value).is_integer()
    lo = 0 if minimum is None else minimum
    if not ok or (value <= lo if minimum is None else value < lo):
        what = "an integer" if integer else "a number"
        bound = f"> {lo}" if minimum is None else f">= {lo}"
        raise ValueError(f"{key}: expected {what} {bound}, got {value!r}")


def check_config(block: dict | None, system: dict, prefix: str = "transitions") -> dict:
    """Fill the defaults of a ``transitions:`` block and reject bad values, naming the key.

    Parameters
    ----------
    block : dict or None
        The study's ``transitions:`` block.
    system : dict
        The study's ``system:`` block (``L`` is needed to check end states).
    prefix : str
        Key path used in error messages (e.g. ``studies.collapse.transitions``).

    Returns
    -------
    dict
        The block with every default filled in.

    Raises
    ------
    ValueError
        E.g. ``images < 3``, an unknown method or tangent, an unknown end-state kind, end
        states whose lattice size differs from ``system.L`` (``.npy`` files are read here),
        a latent initial path without ``latent_study``.
    """
    cfg = _merge(DEFAULTS, block)
    if block and "runs" in block:  # a user's runs replace the default ones (no merge)
        cfg["runs"] = copy.deepcopy(block["runs"])
    L = int(system.get("L", 0))
    _positive(cfg["images"], f"{prefix}.images", integer=True, minimum=3)
    for key in ("tol", "max_step"):
        _positive(cfg[key], f"{prefix}.{key}")
    _positive(cfg["max_iter"], f"{prefix}.max_iter", integer=True)
    if cfg["initial_path"] not in INITIAL_PATHS:
        raise ValueError(f"{prefix}.initial_path: expected one of {INITIAL_PATHS}, got {cfg['initial_path']!r}")
    if cfg["initial_path"] == "latent" and not cfg.get("latent_study"):
        raise ValueError(f"{prefix}.latent_study: required with initial_path: latent "
                         "(the spin study whose VAE encodes and decodes)")
    shapes = {}
    for which in ("initial", "final"):
        es = cfg["end_states"][which]
        key = f"{prefix}.end_states.{which}"
        kind = es.get("kind")
        if kind not in END_STATE_KINDS:
            raise ValueError(f"{key}.kind: expected one of {END_STATE_KINDS}, got {kind!r}")
        if kind == "skyrmion":
            _positive(es.get("radius", 5.0), f"{key}.radius")
            h = es.get("helicity", "auto")
            if h != "auto" and not isinstance(h, (int, float)):
                raise ValueError(f"{key}.helicity: expected 'auto' or an angle in radians, got {h!r}")
        if kind in ("npy", "h5") and not es.get("path"):
            raise ValueError(f"{key}.path: required for kind {kind!r}")
        if kind == "npy" and Path(es["path"]).exists():
            shapes[which] = tuple(np.load(es["path"], mmap_mode="r").shape)
        elif kind in ("skyrmion", "ferromagnet"):
            shapes[which] = (3, L, L)
    for which, shp in shapes.items():
        if len(shp) != 3 or shp[0] != 3 or shp[1] != shp[2]:
            raise ValueError(f"{prefix}.end_states.{which}: expected a state (3, L, L), got shape {shp}")
    if len(shapes) == 2 and shapes["initial"] != shapes["final"]:
        raise ValueError(f"{prefix}.end_states: initial and final states have different sizes "
                         f"{shapes['initial']} and {shapes['final']}")
    for which, shp in shapes.items():
        if L and shp[-1] != L:
            raise ValueError(f"{prefix}.end_states.{which}: lattice {shp[-1]} differs from system.L = {L}")
    runs = cfg["runs"]
    if not isinstance(runs, dict) or not runs:
        raise ValueError(f"{prefix}.runs: expected a mapping run name -> method settings")
    for name, run in runs.items():
        key = f"{prefix}.runs.{name}"
        if not isinstance(run, dict):
            raise ValueError(f"{key}: expected a mapping of method settings, got {run!r}")
        unknown = set(run) - _METHOD_KEYS
        if unknown:
            raise ValueError(f"{key}: unknown keys {sorted(unknown)} (allowed: {sorted(_METHOD_KEYS)})")
        if run.get("method") not in neb.METHODS:
            raise ValueError(f"{key}.method: expected one of {neb.METHODS}, got {run.get('method')!r}")
        if run.get("tangent", "improved") not in neb.TANGENTS:
            raise ValueError(f"{key}.tangent: expected one of {neb.TANGENTS}, got {run.get('tangent')!r}")
        if run.get("initial_path", cfg["initial_path"]) not in INITIAL_PATHS:
            raise ValueError(f"{key}.initial_path: expected one of {INITIAL_PATHS}, got {run.get('initial_path')!r}")
        if "params" in run and run["params"] != "meta":
            raise ValueError(f"{key}.params: expected 'meta' (use the learned gamma, mu, beta), got {run['params']!r}")
        for p in ("gamma", "mu", "beta", "dt", "mass"):
            if p in run:
                _positive(run[p], f"{key}.{p}")
    dbl = cfg["double_images"]
    if dbl is True:
        cfg["double_images"] = next(iter(runs))
    elif dbl not in (None, False) and dbl not in runs:
        raise ValueError(f"{prefix}.double_images: expected true (the first run), a run name {sorted(runs)} or "
                         f"false, got {dbl!r}")
    _positive(cfg["hessian"]["k"], f"{prefix}.hessian.k", integer=True, minimum=1)
    _positive(cfg["hessian"]["threshold"], f"{prefix}.hessian.threshold")
    meta = cfg["meta"]
    if len(meta["initial"]) != 3:
        raise ValueError(f"{prefix}.meta.initial: expected [gamma, mu, beta], got {meta['initial']!r}")
    for v, p in zip(meta["initial"], meta_neb.PARAMS):
        _positive(v, f"{prefix}.meta.initial ({p})")
    for p in ("epochs", "steps_per_epoch", "n_paths", "n_test", "K"):
        _positive(meta[p], f"{prefix}.meta.{p}", integer=True, minimum=1)
    if meta["optimizer"] not in meta_neb.META_OPTIMIZERS:
        raise ValueError(f"{prefix}.meta.optimizer: expected one of {meta_neb.META_OPTIMIZERS}, "
                         f"got {meta['optimizer']!r}")
    if len(meta["images"]) != 2 or not 3 <= meta["images"][0] <= meta["images"][1]:
        raise ValueError(f"{prefix}.meta.images: expected [lo, hi] with 3 <= lo <= hi, got {meta['images']!r}")
    return cfg


# --------------------------------------------------------------------------- rule: end states


def _load_state(es: dict, key: str) -> np.ndarray:
    if es["kind"] == "npy":
        arr = np.load(es["path"])
    else:
        from latentopt.io import read_h5
        name = es.get("dataset", "best_spins")
        arr = read_h5(es["path"], [name])[name]
        if es.get("index") is not None:
            arr = arr[int(es["index"])]
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[0] != 3:
        raise ValueError(f"{key}: expected a state (3, L, L) in {es['path']}, got shape {arr.shape}")
    return arr


def prepare_end_states(system: dict, cfg: dict, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Build and relax the two end states (rule ``end_states``).

    A skyrmion with ``helicity: auto`` is relaxed with helicity 0 and pi and the lower-energy
    one that keeps ``W = -1`` is taken (for the interfacial DMI convention of design.md it is pi).
    Both states are relaxed with :func:`latentopt.physics.minimize.minimize`.

    Returns
    -------
    dict
        ``initial``, ``final`` (3, L, L) relaxed states; ``energy`` (2,) total energies (J);
        ``W`` (2,); ``iterations`` (2,); ``max_torque`` (2,); ``wall_time``.

    Raises
    ------
    ValueError
        If a relaxed skyrmion loses its charge (the field is too strong for it to be
        metastable), or the states have different sizes.
    """
    model = ChiralMagnet.from_config(system)
    L = model.L
    E = chiral_magnet_energy_fn(model)
    relax = cfg["end_states"]["relax"]
    t0 = time.perf_counter()
    out_states, info = [], []
    for which in ("initial", "final"):
        es = cfg["end_states"][which]
        key = f"transitions.end_states.{which}"
        if es["kind"] == "skyrmion":
            h = es.get("helicity", "auto")
            hel = (0.0, math.pi) if h == "auto" else (float(h),)
            cand = np.stack([states.skyrmion(L, float(es.get("radius", 5.0)), helicity=x,
                                             polarity=int(es.get("polarity", -1))) for x in hel])
        elif es["kind"] == "ferromagnet":
            cand = states.ferromagnet(L, es.get("direction", (0.0, 0.0, 1.0)))[None]
        else:
            cand = _load_state(es, key)[None]
        if cand.shape[-1] != L:
            raise ValueError(f"{key}: lattice {cand.shape[-1]} differs from system.L = {L}")
        res = minimize(E, torch.as_tensor(cand, device=device), tol=relax["tol"], max_iter=relax["max_iter"])
        W = topological_charge(torch.as_tensor(res.states)).numpy()
        j = 0
        if es["kind"] == "skyrmion":
            target = float(es.get("polarity", -1))
            keep = np.flatnonzero(np.abs(W - target) < 0.5)
            if not len(keep):
                raise ValueError(f"{key}: the relaxed skyrmion lost its charge (W = {W.round(3).tolist()}); "
                                 "it is not metastable at this field, lower system.B or raise D")
            j = int(keep[np.argmin(res.energy[keep])])
        out_states.append(res.states[j])
        info.append((res.energy[j], W[j], res.iterations[j], res.max_torque[j]))
    return dict(initial=out_states[0], final=out_states[1], energy=np.array([i[0] for i in info]),
                W=np.array([i[1] for i in info]), iterations=np.array([i[2] for i in info]),
                max_torque=np.array([i[3] for i in info]), wall_time=time.perf_counter() - t0)


# --------------------------------------------------------------------------- rule: initial path


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
    """The starting path of GNEB (rule ``initial_path``).

    Parameters
    ----------
    initial, final : ndarray, shape (3, L, L)
        Relaxed end states.
    n_images : int
    kind : {"geodesic", "latent"}
        Geodesic interpolation spin by spin (:func:`latentopt.physics.spheres.geodesic_path`)
        or :func:`latent_initial_path` (needs ``encode`` and ``decode``).

    Returns
    -------
    ndarray, shape (n_images, 3, L, L)
    """
    if kind == "geodesic":
        return spheres.geodesic_path(torch.as_tensor(initial, dtype=torch.float64),
                                     torch.as_tensor(final, dtype=torch.float64), int(n_images)).numpy()
    if kind == "latent":
        if encode is None or decode is None:
            raise ValueError("initial_path: 'latent' needs the encode and decode callables of a trained spin VAE")
        return latent_initial_path(encode, decode, initial, final, n_images)
    raise ValueError(f"initial_path: expected one of {INITIAL_PATHS}, got {kind!r}")


# --------------------------------------------------------------------------- rule: NEB run


def method_settings(cfg: dict, run: str, meta_params: dict | None = None) -> dict:
    """Keyword arguments of :func:`latentopt.optimizers.neb.run_neb` for run ``run`` of the block.

    ``params: meta`` takes gamma, mu, beta from ``meta_params`` (``meta/params.json``).

    Raises
    ------
    ValueError
        If the run uses the learned parameters and ``meta_params`` is missing.
    """
    r = dict(cfg["runs"][run])
    kw = dict(method=r["method"], tangent=r.get("tangent", "improved"), climbing=r.get("climbing", cfg["climbing"]),
              tol=r.get("tol", cfg["tol"]), max_iter=r.get("max_iter", cfg["max_iter"]),
              max_step=r.get("max_step", cfg["max_step"]), climb_after=r.get("climb_after", 0))
    if r.get("params") == "meta":
        if meta_params is None:
            raise ValueError(f"transitions.runs.{run}.params: 'meta' needs the learned parameters (meta/params.json)")
        kw.update(gamma=float(meta_params["gamma"]), mu=float(meta_params["mu"]), beta=float(meta_params["beta"]))
    for p in ("gamma", "mu", "beta", "dt", "mass"):
        if p in r:
            kw[p] = float(r[p])
    return kw


def run_transition(system: dict, path: np.ndarray, settings: dict, checkpoint=None, device="cpu") -> neb.NEBResult:
    """Relax ``path`` to the MEP with GNEB (rule ``neb``; :func:`latentopt.optimizers.neb.run_neb`).

    Parameters
    ----------
    system : dict
    path : ndarray, shape (m, 3, L, L)
    settings : dict
        :func:`method_settings` output.
    checkpoint : path, optional

    Returns
    -------
    NEBResult
        Energies in units of J (total energy of the lattice).
    """
    model = ChiralMagnet.from_config(system)
    x = torch.as_tensor(np.asarray(path), dtype=torch.float64, device=device)
    if x.ndim != 4 or x.shape[1] != 3 or x.shape[-1] != model.L:
        raise ValueError(f"path: expected images (m, 3, {model.L}, {model.L}), got {tuple(x.shape)}")
    ctx = dict(system={k: system[k] for k in sorted(system) if k != "model"})
    return neb.run_neb(chiral_magnet_energy_fn(model), x, checkpoint=checkpoint, context=ctx, **settings)


def double_images(path: np.ndarray) -> np.ndarray:
    """Insert the geodesic midpoint between neighbouring images: ``m -> 2m - 1`` images (the refinement check)."""
    x = torch.as_tensor(np.asarray(path), dtype=torch.float64)
    mid = spheres.slerp(x[:-1], x[1:], 0.5)
    out = torch.empty((2 * len(x) - 1,) + tuple(x.shape[1:]), dtype=x.dtype)
    out[0::2], out[1::2] = x, mid
    return out.numpy()


# --------------------------------------------------------------------------- rule: saddle check


def saddle_check(system: dict, result: neb.NEBResult, k: int = 6, threshold: float = 1e-5,
                 tol: float = 1e-10) -> dict[str, Any]:
    """Hessian on the tangent space at the climbing image (rule ``saddle``).

    Returns
    -------
    dict
        ``hessian_lowest (k,)`` (J/rad^2), ``negative_modes``, ``unstable_mode (3, L, L)`` (the
        eigenvector of the lowest eigenvalue), ``saddle_force`` (largest per-spin force on the
        climbing image, J/rad), ``is_first_order_saddle`` (exactly one negative mode), ``wall_time``.
    """
    model = ChiralMagnet.from_config(system)
    t0 = time.perf_counter()
    s = torch.as_tensor(result.path[result.saddle_index], dtype=torch.float64)
    h = neb.tangent_hessian(chiral_magnet_energy_fn(model), s, k=k, threshold=threshold, tol=tol)
    E = chiral_magnet_energy_fn(model)
    e, g = neb.path_energy_gradient(E, torch.as_tensor(result.path, dtype=torch.float64)[None])
    f = neb.neb_forces(torch.as_tensor(result.path, dtype=torch.float64)[None], e, g,
                       tangent=result.settings.get("tangent", "improved"), mu=result.settings.get("mu", 1.0),
                       beta=result.settings.get("beta", 3.0), climbing=result.settings.get("climbing", True))
    f_ci = float(neb.image_force_norm(f.force)[0, result.saddle_index])
    return dict(hessian_lowest=h.eigenvalues, negative_modes=h.negative_modes, unstable_mode=h.eigenvectors[0],
                saddle_force=f_ci, is_first_order_saddle=h.negative_modes == 1, wall_time=time.perf_counter() - t0)


def path_charge(path: np.ndarray) -> np.ndarray:
    """Topological charge W of every image, ``(m, 3, L, L) -> (m,)`` (design.md, Berg-Luscher)."""
    return topological_charge(torch.as_tensor(np.asarray(path), dtype=torch.float64)).numpy()


def transition_datasets(result: neb.NEBResult, saddle: dict | None = None) -> dict[str, np.ndarray]:
    """The arrays of ``results/<study>/transitions/<run>.h5`` (module docstring).

    Energies are stored relative to the first (initial) image, so ``energy[saddle_index] == barrier``.
    """
    e0 = float(result.energy[0])
    d = result.datasets()
    d["energy"] = result.energy - e0
    d["energy_initial"] = np.float64(e0)
    d["profile_e"] = result.profile_e - e0
    d["W"] = path_charge(result.path)
    d["path"] = result.path.astype(np.float32)
    if saddle is not None:
        d["hessian_lowest"] = np.asarray(saddle["hessian_lowest"])
        d["negative_modes"] = np.int64(saddle["negative_modes"])
        d["saddle_force"] = np.float64(saddle["saddle_force"])
        d["unstable_mode"] = np.asarray(saddle["unstable_mode"], dtype=np.float32)
    return d


# --------------------------------------------------------------------------- rule: meta-learning


def meta_learning(meta: dict, checkpoint=None, progress: Callable | None = None) -> tuple[dict, dict[str, np.ndarray]]:
    """Meta-learn (gamma, mu, beta) on the single-spin benchmark and measure the speed-up (rule ``meta``).

    Training as in :func:`latentopt.optimizers.meta_neb.meta_learn`; then both the initial and
    the learned parameters run on the same held-out set of bent paths
    (:func:`latentopt.optimizers.meta_neb.convergence_benchmark`).

    Returns
    -------
    params : dict
        ``meta/params.json``: learned ``gamma``, ``mu``, ``beta``, ``initial``, train/test loss,
        ``median_iterations_initial``, ``median_iterations_learned``, ``speedup`` (ratio of
        the medians of the iterations to ``Delta < threshold``), ``threshold``, timings.
    arrays : dict
        ``meta/benchmark.h5``: ``train_loss``, ``test_loss``, ``param_history``,
        ``delta_initial``, ``delta_learned`` (record + 1, P), ``iterations_initial``,
        ``iterations_learned`` (P,).
    """
    t0 = time.perf_counter()
    res = meta_neb.meta_learn(initial=tuple(meta["initial"]), learn=tuple(meta["learn"]), epochs=meta["epochs"],
                              steps_per_epoch=meta["steps_per_epoch"], n_paths=meta["n_paths"],
                              n_test=meta["n_test"], images=tuple(meta["images"]),
                              perturbation=meta["perturbation"], bend=meta["bend"], K=meta["K"],
                              optimizer=meta["optimizer"], lr=meta["lr"], seed=meta["seed"], checkpoint=checkpoint,
                              progress=progress)
    t1 = time.perf_counter()
    bm = meta["benchmark"]
    paths = meta_neb.path_set(bm["n_paths"], tuple(meta["images"]), perturbation=bm["perturbation"], bend=bm["bend"],
                              seed=bm["seed"] + 7919 * (meta["seed"] + 1))
    kw = dict(max_iter=bm["max_iter"], record=bm["record"], threshold=bm["threshold"])
    before = meta_neb.convergence_benchmark(res.initial, paths, **kw)
    after = meta_neb.convergence_benchmark(res.params, paths, **kw)
    params = res.as_json()
    speedup = before.median_iterations / after.median_iterations if after.median_iterations > 0 else math.inf
    params.update(median_iterations_initial=before.median_iterations, median_iterations_learned=after.median_iterations,
                  speedup=speedup, threshold=bm["threshold"],
                  reached_initial=int(np.isfinite(before.iterations_to_threshold).sum()),
                  reached_learned=int(np.isfinite(after.iterations_to_threshold).sum()),
                  n_benchmark_paths=len(before.iterations_to_threshold), train_seconds=t1 - t0,
                  benchmark_seconds=time.perf_counter() - t1)
    arrays = dict(train_loss=res.train_loss, test_loss=res.test_loss, param_history=res.param_history,
                  delta_initial=before.delta, delta_learned=after.delta,
                  iterations_initial=before.iterations_to_threshold, iterations_learned=after.iterations_to_threshold)
    return params, arrays


# --------------------------------------------------------------------------- rule: metrics


def metrics(runs: dict[str, dict], meta_params: dict | None = None, system: dict | None = None,
            end_states: dict | None = None) -> dict[str, Any]:
    """``metrics.json`` of a transitions study.

    Parameters
    ----------
    runs : dict
        Run name -> ``transition_datasets`` dict (with the saddle check) plus optional
        ``initial_path`` (str) and ``doubled_barrier`` (float).
    meta_params : dict, optional
        ``meta/params.json``.

    Returns
    -------
    dict
        Per run ``barrier`` (J), ``iterations``, ``force_evaluations``, ``wall_time``,
        ``negative_modes``, ``saddle_force``, ``converged``, ``W_initial``, ``W_final``,
        ``initial_path``, ``barrier_doubled`` and ``barrier_change_doubled`` when present; the
        system (J, D, B, L, dmi), ``D_over_J``; and the benchmark's ``speedup`` with the learned
        parameters.
    """
    out: dict[str, Any] = {"runs": {}}
    for name, d in runs.items():
        r = dict(barrier=float(d["barrier"]), iterations=int(d["iterations"]),
                 force_evaluations=int(d["force_evaluations"]), wall_time=float(d["wall_time"]),
                 converged=bool(d["converged"]), saddle_index=int(d["saddle_index"]),
                 W_initial=float(d["W"][0]), W_final=float(d["W"][-1]))
        if "negative_modes" in d:
            r.update(negative_modes=int(d["negative_modes"]), saddle_force=float(d["saddle_force"]),
                     hessian_lowest=[float(v) for v in d["hessian_lowest"]])
        for k in ("initial_path", "barrier_doubled", "images"):
            if k in d:
                r[k] = d[k] if isinstance(d[k], str) else float(d[k])
        if "barrier_doubled" in d:
            r["barrier_change_doubled"] = float(d["barrier_doubled"]) - r["barrier"]
        out["runs"][name] = r
    if system is not None:
        out["system"] = {k: system[k] for k in ("L", "J", "D", "dmi", "K", "B") if k in system}
        out["D_over_J"] = float(system.get("D", 0.3)) / float(system.get("J", 1.0))
    if end_states is not None:
        out["end_states"] = dict(energy_difference=float(end_states["energy"][1] - end_states["energy"][0]),
                                 W=[float(w) for w in end_states["W"]])
    if meta_params is not None:
        out["meta"] = {k: meta_params[k] for k in ("gamma", "mu", "beta", "speedup", "median_iterations_initial",
                                                   "median_iterations_learned", "initial_test_loss", "final_test_loss")
                       if k in meta_params}
        out["speedup"] = meta_params.get("speedup")
    return out
