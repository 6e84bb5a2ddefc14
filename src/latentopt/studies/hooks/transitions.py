"""Hooks of the transition studies (``kind: transitions``, GNEB and meta-learned NEB): config check,
resources, rule inputs.

Light (numpy only), like every hooks module (:mod:`latentopt.studies.hooks`). A latent initial path
decodes with another study's VAE: its file is found through that study's kind
(:func:`latentopt.studies.kind_of`), not by importing the spins hooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from latentopt import cluster
from latentopt.config import ConfigError
from latentopt.studies import KINDS, kind_of

KIND = KINDS["transitions"]


# ------------------------------------------------------------------ config check
def _state_shape(path: Path, es: dict) -> tuple | None:
    """Shape of the state an end-state file holds (read cheaply), or None for a workflow output not yet made."""
    if not path.exists():
        return None
    try:
        if es["kind"] == "npy":
            return tuple(np.load(path, mmap_mode="r", allow_pickle=False).shape)
        import h5py

        with h5py.File(path, "r") as f:
            shape = f[es.get("dataset", "best_spins")].shape
        return shape[1:] if es.get("index") is not None else shape
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"{path}: cannot read the end state ({exc})") from exc


def check(prefix: str, study: dict[str, Any], root: Path, studies: Mapping) -> None:
    """End-state files that exist (or are workflow outputs) and hold a state of the lattice, run names that
    leave the folder's own files alone, a spins study of the same L for a latent initial path, a valid
    ``double_images`` (true is filled in as the first run) and an ordered ``meta.images``.

    Raises
    ------
    ConfigError
        Naming the key.
    """
    L = study["system"]["L"]
    for which in ("initial", "final"):
        es = study["end_states"][which]
        key = f"{prefix}.end_states.{which}"
        if es["kind"] in ("npy", "h5"):
            if "path" not in es:
                raise ConfigError(f"{key}.path: required for an end state of kind {es['kind']}")
            path = Path(es["path"]) if Path(es["path"]).is_absolute() else root / es["path"]
            produced = Path(es["path"]).parts[:1] == ("results",)
            if not path.exists() and not produced:
                raise ConfigError(f"{key}.path: {es['path']} does not exist")
            shape = _state_shape(path, es)
            if shape is not None and shape != (3, L, L):
                raise ConfigError(f"{key}.path: {es['path']} holds a state of shape {shape}; the lattice of "
                                  f"system.L = {L} needs (3, {L}, {L})")
        elif any(k in es for k in ("path", "dataset", "index")):
            raise ConfigError(f"{key}: path, dataset and index are for npy and h5 end states, not {es['kind']}")
        if "erase" in es and not all(0 <= c < L for c in es["erase"]["center"]):
            raise ConfigError(f"{key}.erase.center: {es['erase']['center']} is outside the {L} x {L} lattice")
    neb, runs = study["neb"], study["runs"]
    for name in runs:
        if name in ("end_states", "doubled") or name.startswith("initial_"):
            raise ConfigError(f"{prefix}.runs.{name}: the name is taken by another file in transitions/; "
                              "choose another run name")
    latent = [name for name, r in runs.items() if r.get("initial_path", neb["initial_path"]) == "latent"]
    if latent:
        other = neb["latent_study"]
        if other is None:
            raise ConfigError(f"{prefix}.neb.latent_study: required by the latent initial path of run "
                              f"{latent[0]!r} (the spins study whose VAE decodes it)")
        if other not in studies or studies[other].get("kind") != "spins":
            raise ConfigError(f"{prefix}.neb.latent_study: {other!r} is not a spins study of this config")
        if studies[other]["system"]["L"] != L:
            raise ConfigError(f"{prefix}.neb.latent_study: {other!r} has L = {studies[other]['system']['L']}, "
                              f"this study L = {L}; the VAE must decode states of the same lattice")
    dbl = neb["double_images"]
    if dbl is True:
        neb["double_images"] = next(iter(runs))
    elif dbl is not False and dbl not in runs:
        raise ConfigError(f"{prefix}.neb.double_images: {dbl!r} is not a run; expected true (the first run), "
                          f"false or one of {sorted(runs)}")
    lo, hi = study["meta"]["images"]
    if lo > hi:
        raise ConfigError(f"{prefix}.meta.images: [{lo}, {hi}] is reversed; expected [fewest, most] images")


# ------------------------------------------------------------------ resources (latentopt.cluster's model)
#: seconds per image, spin and NEB iteration (energy and autograd gradient on one thread; measured ~1.2e-6)
SEC_PER_IMAGE_SPIN_ITERATION = 3e-6


def end_states(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """The two end states (relaxed), or an initial path between them."""
    L = study["system"]["L"]
    return {"mem_mb": cluster.mb(50 * cluster.state_mb(L, 2, 8)), "runtime": cluster.minutes(L * L * 5e-3)}


def meta_learn(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """Meta-learning the NEB step's (gamma, mu, beta) on the single-spin benchmark."""
    m = study["meta"]
    seconds = 0.2 * m["epochs"] * m["steps_per_epoch"] * m["n_paths"] / 30 + 0.01 * m["benchmark"]["max_iter"]
    return {"mem_mb": cluster.mb(500), "runtime": cluster.minutes(seconds)}


def neb(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """One NEB run (up to ``max_iter`` iterations, 2 m - 1 images for the doubled check) and the Hessian."""
    L, n = study["system"]["L"], study["neb"]
    images = 2 * n["images"] - 1
    seconds = min(n["max_iter"], 5000) * images * L * L * SEC_PER_IMAGE_SPIN_ITERATION
    return {"mem_mb": cluster.mb(30 * cluster.state_mb(L, images, 8)), "runtime": cluster.minutes(seconds, gpu)}


def evaluate(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """Metrics and figures of the runs and the meta-learning."""
    return {"mem_mb": cluster.mb(500), "runtime": cluster.minutes(60)}


#: the estimator of each rule ``transitions_<step>``
ESTIMATES = {"end_states": end_states, "initial_path": end_states, "meta_learn": meta_learn, "neb": neb,
             "neb_doubled": neb, "evaluate": evaluate}


# ------------------------------------------------------------------ rule inputs and params
def end_state_inputs(wc, studies: Mapping, repo: Path) -> dict[str, str]:
    """The npy / h5 files of file end states: ``results/...`` in the working directory, others in the repository."""
    out = {}
    for which in ("initial", "final"):
        es = studies[wc.study]["end_states"][which]
        if es["kind"] in ("npy", "h5"):
            out[which] = es["path"] if es["path"].startswith("results/") else str(repo / es["path"])
    return out


def neb_settings(wc, studies: Mapping, repo: Path) -> dict:
    """The ``neb`` block with the end states, the runs and the meta-learning (what a NEB run reads)."""
    s = studies[wc.study]
    return {**s["neb"], "end_states": s["end_states"], "runs": s["runs"], "meta": s["meta"]}


def _path_kind(study: Mapping, run: str) -> str:
    return study["runs"][run].get("initial_path", study["neb"]["initial_path"])


def _meta(wc, studies: Mapping) -> list[str]:
    """The learned NEB parameters, for a run with ``params: meta``."""
    meta = studies[wc.study]["runs"][wc.run].get("params") == "meta"
    return [KIND.path(wc.study, "meta", "params.json")] if meta else []


def neb_inputs(wc, studies: Mapping, repo: Path) -> dict[str, Any]:
    """The run's initial path, plus the learned parameters of a ``params: meta`` run."""
    inputs = {"path": KIND.path(wc.study, "transitions", f"initial_{_path_kind(studies[wc.study], wc.run)}.h5")}
    if _meta(wc, studies):
        inputs["meta"] = _meta(wc, studies)[0]
    return inputs


def neb_doubled_inputs(wc, studies: Mapping, repo: Path) -> dict[str, Any]:
    """The run's converged path, plus the learned parameters of a ``params: meta`` run."""
    return {"path": KIND.path(wc.study, "transitions", f"{wc.run}.h5"), "meta": _meta(wc, studies)}


def initial_path_inputs(wc, studies: Mapping, repo: Path) -> dict[str, str]:
    """The end states, plus the VAE of ``neb.latent_study`` for a latent path."""
    inputs = {"end_states": KIND.path(wc.study, "transitions", "end_states.h5")}
    if wc.path_kind == "latent":
        other = studies[wc.study]["neb"]["latent_study"]
        inputs["vae"] = kind_of(studies[other]).path(other, "vae", "model.pt")
    return inputs


def evaluate_inputs(wc, studies: Mapping, repo: Path) -> dict[str, Any]:
    """End states, every run and its doubled check, the initial paths and the meta-learning."""
    s = studies[wc.study]
    kinds = sorted({_path_kind(s, r) for r in s["runs"]})
    doubled = [s["neb"]["double_images"]] if s["neb"]["double_images"] else []
    return {"end_states": KIND.path(wc.study, "transitions", "end_states.h5"),
            "runs": [KIND.path(wc.study, "transitions", f"{r}.h5") for r in KIND.runs(s)],
            "doubled": [KIND.path(wc.study, "transitions", "doubled", f"{r}.h5") for r in doubled],
            "initial_paths": [KIND.path(wc.study, "transitions", f"initial_{k}.h5") for k in kinds],
            "meta_params": KIND.path(wc.study, "meta", "params.json"),
            "meta_arrays": KIND.path(wc.study, "meta", "benchmark.h5")}
