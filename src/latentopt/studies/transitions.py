"""The steps of a transitions study (``kind: transitions``), one function per workflow rule.

end states (relaxed) -> initial path (geodesic, or decoded from a latent interpolation) ->
GNEB with climbing image per method -> saddle check (tangent-space Hessian) -> meta-learned
(gamma, mu, beta) on the single-spin benchmark -> metrics. Bushuev & Lobanov, Nanosystems 11,
642 (2020); Bessarab, Uzdin, Jonsson, Comp. Phys. Commun. 196, 335 (2015) (GNEB).

Every function takes the study's validated settings (:func:`settings`; the schema
``workflow/schemas/kinds/transitions.schema.yaml`` holds the defaults and
``latentopt.config`` the checks) and arrays, and returns the arrays or dicts of its output
file:

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

Initial paths and the image doubling are :mod:`latentopt.optimizers.neb_initial`, the end
states' building blocks :mod:`latentopt.physics.states`.

Sign conventions: energies in units of J; the skyrmion of :func:`latentopt.physics.states.skyrmion`
with ``polarity = -1`` has its core along -z in a +z background and ``W = -1``; with the field
along +z the collapse takes ``W`` from -1 to 0.
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path  # noqa: F401 (annotations)
from typing import Any, Callable

import numpy as np
import torch

from latentopt.errors import SettingError
from latentopt.optimizers import meta_neb, neb
from latentopt.optimizers.neb_initial import (  # noqa: F401 (INITIAL_PATHS, latent_initial_path: re-exported)
    INITIAL_PATHS, double_images, initial_path, latent_initial_path)
from latentopt.physics import states
from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.physics.minimize import chiral_magnet_energy_fn, minimize
from latentopt.physics.torch_physics import topological_charge
from latentopt.tables import Heading, Paragraph, Table

END_STATE_KINDS = ("skyrmion", "ferromagnet", "npy", "h5")


def settings(study: dict) -> dict[str, Any]:
    """The settings of a validated transitions study (``latentopt.config``) as one flat block.

    Returns
    -------
    dict
        ``end_states``, ``runs``, ``meta`` and the ``neb`` keys (``images``, ``initial_path``,
        ``latent_study``, ``climbing``, ``tol``, ``max_iter``, ``max_step``, ``double_images``
        (a run name or False), ``hessian``), the block the functions below take.
    """
    return {**copy.deepcopy(study["neb"]), "end_states": copy.deepcopy(study["end_states"]),
            "runs": copy.deepcopy(study["runs"]), "meta": copy.deepcopy(study["meta"])}


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
    """Build and relax the two end states (rule ``transitions_end_states``).

    A skyrmion with ``helicity: auto`` is relaxed with helicity 0 and pi and the lower-energy
    one that keeps ``W = -1`` is taken (for the interfacial DMI convention of docs/design.md it is pi).
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
        if "erase" in es:
            cand = states.erase_disc(cand, es["erase"]["center"], es["erase"]["radius"],
                                     es.get("direction", (0.0, 0.0, 1.0)))
        if cand.shape[-1] != L:
            raise ValueError(f"{key}: lattice {cand.shape[-1]} differs from system.L = {L}")
        res = minimize(E, torch.as_tensor(cand, device=device), tol=relax["tol"], max_iter=relax["max_iter"])
        W = topological_charge(torch.as_tensor(res.states)).numpy()
        j = 0
        if es["kind"] == "skyrmion":
            target = float(es.get("polarity", -1))
            keep = np.flatnonzero(np.abs(W - target) < 0.5)
            if not len(keep):
                raise SettingError(f"{key}: the relaxed skyrmion lost its charge (W = {W.round(3).tolist()}); "
                                 "it is not metastable at this field, lower system.B or raise D")
            j = int(keep[np.argmin(res.energy[keep])])
        out_states.append(res.states[j])
        info.append((res.energy[j], W[j], res.iterations[j], res.max_torque[j]))
    return dict(initial=out_states[0], final=out_states[1], energy=np.array([i[0] for i in info]),
                W=np.array([i[1] for i in info]), iterations=np.array([i[2] for i in info]),
                max_torque=np.array([i[3] for i in info]), wall_time=time.perf_counter() - t0)


# --------------------------------------------------------------------------- rule: NEB run
# (the initial paths: latentopt.optimizers.neb_initial)


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
    """Relax ``path`` to the MEP with GNEB (rule ``transitions_neb``; :func:`latentopt.optimizers.neb.run_neb`).

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


# --------------------------------------------------------------------------- rule: saddle check


def saddle_check(system: dict, result: neb.NEBResult, k: int = 6, threshold: float = 1e-5,
                 tol: float = 1e-10) -> dict[str, Any]:
    """Hessian on the tangent space at the climbing image (rule ``transitions_neb``).

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
    """Topological charge W of every image, ``(m, 3, L, L) -> (m,)`` (docs/design.md, Berg-Luscher)."""
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
    """Meta-learn (gamma, mu, beta) on the single-spin benchmark and measure the speed-up (rule ``transitions_meta_learn``).

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


# =========================================================================== one function per workflow rule
# (file level: read the rule's inputs, return what its outputs hold; the scripts in
# workflow/scripts/transitions/ only write them)
def end_states(system: dict, study_settings: dict, paths: dict[str, str | Path] | None = None,
               device: str | torch.device = "cpu") -> dict[str, np.ndarray]:
    """Rule ``transitions_end_states``: the relaxed end states (``transitions/end_states.h5``).

    ``paths`` maps ``initial``/``final`` to the file of an ``npy``/``h5`` end state as the
    workflow resolved it (``results/...`` in the working directory, other paths in the
    repository).
    """
    cfg = copy.deepcopy(study_settings)
    for which, p in (paths or {}).items():
        cfg["end_states"][which]["path"] = str(p)
    out = prepare_end_states(system, cfg, device)
    return {k: np.asarray(v) for k, v in out.items()}


def make_initial_path(end_states_path: str | Path, study_settings: dict, kind: str,
                      vae_path: str | Path | None = None, device: str | torch.device = "cpu") -> dict[str, np.ndarray]:
    """Rule ``transitions_initial_path``: the starting path of kind ``geodesic`` or ``latent`` (``transitions/initial_<kind>.h5``).

    The latent path encodes the relaxed end states with the spin VAE ``vae_path`` (posterior
    means), decodes the straight line between the codes, and puts the relaxed end states at
    the ends (:func:`latentopt.optimizers.neb_initial.latent_initial_path`).

    Returns
    -------
    dict
        ``path (m, 3, L, L)``, ``energy (m,)`` total energies relative to the first image (J),
        ``W (m,)``.
    """
    from latentopt.io import read_h5

    ends = read_h5(end_states_path, ["initial", "final"])
    encode = decode = None
    if kind == "latent":
        from latentopt.latent import load_decoder

        vae, decode_fn = load_decoder(vae_path, device)
        encode = lambda x: vae.encode(x.to(device))[0].cpu()  # noqa: E731  (posterior means)
        decode = lambda z: decode_fn(z.to(device)).cpu()  # noqa: E731
    path = initial_path(ends["initial"], ends["final"], int(study_settings["images"]), kind, encode, decode)
    return {"path": path, "W": path_charge(path)}


def neb_run(system: dict, study_settings: dict, run: str, path_file: str | Path, meta_file: str | Path | None = None,
            *, checkpoint=None, device: str | torch.device = "cpu", doubled: bool = False) -> dict[str, np.ndarray]:
    """Rule ``transitions_neb`` (and ``transitions_neb_doubled``): GNEB of one run from its initial path, with the saddle check.

    With ``doubled`` the path in ``path_file`` is a converged ``transitions/<run>.h5``, refined to
    ``2 m - 1`` images (:func:`latentopt.optimizers.neb_initial.double_images`) before the NEB: the image-count check.

    Returns
    -------
    dict
        :func:`transition_datasets` with the Hessian check at the climbing image.
    """
    import json

    from latentopt.io import read_h5

    meta_params = json.loads(Path(meta_file).read_text()) if meta_file else None
    path = read_h5(path_file, ["path"])["path"].astype(np.float64)
    if doubled:
        path = double_images(path)
    kw = method_settings(study_settings, run, meta_params)
    res = run_transition(system, path, kw, checkpoint=checkpoint, device=device)
    sad = saddle_check(system, res, k=study_settings["hessian"]["k"], threshold=study_settings["hessian"]["threshold"])
    d = transition_datasets(res, sad)
    d["images"] = np.int64(len(path))
    return d


def evaluate(*, system: dict, study_settings: dict, end_states_path: str | Path, runs: dict[str, str | Path],
             doubled: dict[str, str | Path], initial_paths: dict[str, str | Path], meta_params_path: str | Path,
             meta_arrays_path: str | Path, snapshots: int = 5) -> tuple[dict, dict]:
    """Rule ``transitions_evaluate``: ``metrics.json`` (:func:`metrics`) and the study's figures.

    Figures: ``energy_paths`` (every run's energy along the path, images and interpolation, with
    its barrier), ``path_snapshots`` (end states and the saddle of the first run),
    ``path_charge`` (W along the paths), ``meta_loss``, ``meta_convergence`` (Fig. 2 bands),
    ``methods_table``.
    """
    import json

    from latentopt.io import read_h5
    from latentopt.plots.transitions import (plot_convergence_bands, plot_energy_path, plot_meta_loss,
                                             plot_methods_table, plot_path_charge, plot_path_snapshots)

    ends = read_h5(end_states_path)
    data = {name: read_h5(p) for name, p in runs.items()}
    for name, p in doubled.items():
        d = read_h5(p, ["barrier", "iterations", "images"])
        data[name]["barrier_doubled"] = float(d["barrier"])
    for name, d in data.items():
        d["initial_path"] = study_settings["runs"][name].get("initial_path", study_settings["initial_path"])
    meta_params = json.loads(Path(meta_params_path).read_text())
    meta_arrays = read_h5(meta_arrays_path)
    out = metrics(data, meta_params, system, ends)
    for kind, p in initial_paths.items():
        out.setdefault("initial_paths", {})[kind] = {"W": read_h5(p, ["W"])["W"].tolist()}
    first = next(iter(data))
    figures = {
        "energy_paths": plot_energy_path(data, title=f"minimum energy paths, L = {system['L']}, D/J = "
                                                     f"{out['D_over_J']:.3g}, B = {system['B']} J"),
        "path_snapshots": plot_path_snapshots(data[first]["path"], int(data[first]["saddle_index"]),
                                              data[first]["energy"], data[first]["W"],
                                              n_between=max(0, (snapshots - 3) // 2)),
        "path_charge": plot_path_charge(data),
        "meta_loss": plot_meta_loss(meta_arrays["train_loss"], meta_arrays["test_loss"],
                                    study_settings["meta"]["steps_per_epoch"]),
        "meta_convergence": plot_convergence_bands(
            meta_arrays["delta_initial"], meta_arrays["delta_learned"],
            params={"initial": meta_params["initial"], "learned": {k: meta_params[k] for k in ("gamma", "mu", "beta")}}),
        "methods_table": plot_methods_table(out, title="methods"),
    }
    return out, figures


def metrics_table(metrics: dict, study: str) -> list:
    """The report's metrics table (:func:`latentopt.tables.html_page`): runs, the saddle check, the meta-learning."""
    header, *rows = _methods_rows(metrics)
    s = metrics.get("system", {})
    meta = metrics.get("meta", {})
    meta_line = (f"Single-spin benchmark: learned gamma = {meta['gamma']:.4g}, mu = {meta['mu']:.4g}, "
                 f"beta = {meta['beta']:.4g}; median iterations to Delta < 1e-6 on held-out bent paths "
                 f"{meta['median_iterations_initial']:.0f} (initial) -> {meta['median_iterations_learned']:.0f} "
                 f"(learned): {metrics['speedup']:.1f}x faster (paper: ~20x).") if meta else ""
    return [Heading(f"{study}: transition of L = {s.get('L')}, J = {s.get('J')}, D/J = "
                    f"{metrics.get('D_over_J', float('nan')):.3g}, K = {s.get('K')}, B = {s.get('B')} (energies in J)"),
            Table(header, rows), Paragraph(meta_line)]


def _methods_rows(metrics: dict) -> list[list[str]]:
    from latentopt.plots.transitions import methods_table_rows

    return methods_table_rows(metrics)
