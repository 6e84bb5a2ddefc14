"""Configuration validation: the JSON schema plus the checks a schema cannot express.

:func:`validate_config` is called by the Snakefile before any job is scheduled, so a bad
config fails fast with a message naming the offending key, e.g.
``studies.labyrinth.system.L: 60 is not divisible by 16``.

Every study has a ``kind`` (:mod:`latentopt.studies`); a study that does not write it
gets the kind implied by ``system.model``. The schema is
``workflow/schemas/config.schema.yaml`` plus one file per kind,
``workflow/schemas/kinds/<kind>.schema.yaml`` (:func:`load_schema` merges them), and the
semantic checks of each kind are the ``_check_<kind>`` functions below.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import yaml

from latentopt.physics.boundary import boundary_from_config
from latentopt.studies import KINDS, infer_kind

#: direction used when a run does not give one
DEFAULT_DIRECTION = {"energy": "min", "W": "max", "Mz": "max", "C": "max", "C_BC": "max"}
DEFAULT_BOUNDARY = {"shape": "ring", "radius": 0.35, "width": 2.0, "direction": "up"}


class ConfigError(ValueError):
    """An invalid configuration; the message starts with the dotted key path."""


def _with_defaults(validator_class, root: dict):
    """A validator that fills ``default`` values of ``properties`` (jsonschema FAQ recipe).

    A property given as a local ``{"$ref": "#/$defs/name"}`` takes the default of the
    referenced definition.
    """
    validate_properties = validator_class.VALIDATORS["properties"]

    def default_of(sub):
        if isinstance(sub, dict) and "default" not in sub and str(sub.get("$ref", "")).startswith("#/"):
            node = root
            for part in sub["$ref"][2:].split("/"):
                node = node[part]
            return default_of(node)
        return sub

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                sub = default_of(sub)
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<config>"


#: the schema keywords of a number's bounds
_BOUNDS = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")


def _accepted_range(err: jsonschema.exceptions.ValidationError) -> str:
    """``"; accepted range [lo, hi]"`` for a number outside its bounds (``(`` / ``)``: exclusive), else ``""``.

    jsonschema's own message names only the bound that was crossed.
    """
    if err.validator not in _BOUNDS:
        return ""
    s = err.schema
    lo = f"[{s['minimum']}" if "minimum" in s else f"({s.get('exclusiveMinimum', '-inf')}"
    hi = f"{s['maximum']}]" if "maximum" in s else f"{s.get('exclusiveMaximum', 'inf')})"
    return f"; accepted range {lo}, {hi}"


def load_schema(path: str | Path) -> dict:
    """Read the config schema and merge in the ``$defs`` of its per-kind files.

    Parameters
    ----------
    path : path
        ``workflow/schemas/config.schema.yaml``; the kinds' schemas are the files
        ``kinds/*.schema.yaml`` next to it.

    Raises
    ------
    ValueError
        If two files define the same ``$defs`` entry.
    """
    path = Path(path)
    with open(path) as fh:
        schema = yaml.safe_load(fh)
    defs = schema.setdefault("$defs", {})
    for kind_file in sorted((path.parent / "kinds").glob("*.schema.yaml")):
        with open(kind_file) as fh:
            extra = (yaml.safe_load(fh) or {}).get("$defs", {})
        clash = sorted(set(extra) & set(defs))
        if clash:
            raise ValueError(f"{kind_file}: $defs {clash} are already defined by another schema file")
        defs.update(extra)
    return schema


def _check_finite(obj: Any, path: tuple = ()) -> None:
    """Every number in the config must be finite (YAML's ``.nan`` and ``.inf`` are floats a schema accepts)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ConfigError(f"{_key(path)}: {obj} is not a finite number")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_finite(v, path + (k,))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_finite(v, path + (i,))


def _check_training_split(prefix: str, n: int, n_key: str, vae: dict, what: str = "samples") -> None:
    """The ``vae`` block's validation split of ``n`` samples leaves data to train on, in batches that fit.

    As :func:`latentopt.trainers.common.split_indices`: ``round(n * val_fraction)`` samples (at least one when
    ``val_fraction > 0``) are held out; at least two must remain for training, and ``batch_size`` may not exceed
    them (``n_key`` names the setting that gives ``n``).
    """
    n_val = round(n * vae["val_fraction"])
    if vae["val_fraction"] > 0:
        n_val = max(n_val, 1)
    n_train = n - n_val
    if n_train < 2:
        raise ConfigError(f"{prefix}.vae.val_fraction: {vae['val_fraction']} of {n} {what} ({n_key}) leaves "
                          f"{n_train} to train on; expected at least 2")
    if "batch_size" in vae and vae["batch_size"] > n_train:
        raise ConfigError(f"{prefix}.vae.batch_size: {vae['batch_size']} is larger than the {n_train} training "
                          f"{what} ({n_key} = {n} minus the validation split); expected at most {n_train}")


def _study_keys(schema: dict, kind: str) -> set[str]:
    """The top-level keys a study of ``kind`` takes, from its ``<kind>_study`` schema."""
    return set(schema["$defs"].get(f"{kind}_study", {}).get("properties", {}))


def _check_kind_keys(prefix: str, study: dict, schema: dict) -> None:
    """Name a key that belongs to another kind (clearer than the schema's 'additional property')."""
    kind = study["kind"]
    if kind not in KINDS:
        return  # the schema names the unknown kind
    allowed = _study_keys(schema, kind)
    for key in study:
        if key in allowed:
            continue
        owners = sorted(k for k in KINDS if key in _study_keys(schema, k))
        where = f"a key of {', '.join(owners)} studies" if owners else "an unknown key"
        raise ConfigError(f"{prefix}.{key}: not a key of a {kind} study ({where}); a {kind} study takes "
                          f"{sorted(allowed)}")


def validate_config(config: dict, schema: dict | str | Path, root: str | Path = ".") -> dict:
    """Validate a workflow config and return a copy with all defaults filled in.

    Parameters
    ----------
    config : dict
        The parsed ``config/config.yaml`` (or any ``--configfile``).
    schema : dict or path
        The schema (``workflow/schemas/config.schema.yaml``).
    root : path
        Repository root, against which resource paths (boundary files) are resolved.

    Returns
    -------
    dict
        The config, keys sorted (:func:`canonical`), with defaults (including each study's ``kind``, each run's
        ``direction``, ``a`` for C and ``boundary`` for C_BC) filled in.

    Raises
    ------
    ConfigError
        On the first problem found; the message names the key and what was expected.
    """
    if not isinstance(schema, dict):
        schema = load_schema(schema)
    if not isinstance(config, dict):
        raise ConfigError(f"<config>: expected a mapping, got {type(config).__name__}")
    cfg = copy.deepcopy(config)
    _check_finite(cfg)
    studies = cfg.get("studies")
    if isinstance(studies, dict):
        for name, study in studies.items():
            if isinstance(study, dict):
                study.setdefault("kind", infer_kind(study))
                _check_kind_keys(f"studies.{name}", study, schema)
    validator_cls = _with_defaults(jsonschema.validators.validator_for(schema), schema)
    errors = sorted(validator_cls(schema).iter_errors(cfg), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        raise ConfigError(f"{_key(err.absolute_path)}: {err.message}{_accepted_range(err)}")
    for name, study in cfg["studies"].items():
        _check_study(f"studies.{name}", study, Path(root), cfg["studies"])
    return canonical(cfg)


def canonical(obj: Any) -> Any:
    """Recursively sort mapping keys, so that reordering a config file changes no rule's params
    (Snakemake reruns a job when the representation of its params changes)."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


#: largest grid for which ``ground_truth`` defaults to true (the lecture's 100 x 100)
GROUND_TRUTH_MAX_POINTS = 10_000


def _check_trajectories(prefix: str, study: dict[str, Any], root: Path) -> None:
    from latentopt.physics.ferrosim import FerroSim

    system, traj, latent = study["system"], study["trajectories"], study["latent"]
    _check_families(prefix, traj["families"])
    bounds = latent["constraints"]
    if bounds["min"] is not None and bounds["max"] is not None and not bounds["min"] < bounds["max"]:
        raise ConfigError(f"{prefix}.latent.constraints: min must be below max ({bounds['min']} >= {bounds['max']})")
    try:
        model = FerroSim.from_config(system)
    except ValueError as exc:
        raise ConfigError(f"{prefix}.system: {exc}") from exc
    field_max = max([abs(b) for b in (bounds["min"], bounds["max"]) if b is not None], default=20.0)
    defect_max = system["defects"]["strength"] if system["defects"]["fraction"] > 0 else 0.0
    bound = model.stability(field_max, defect_max)
    if bound >= 1.0:
        unit = system["field_unit"]
        raise ConfigError(f"{prefix}.system.dt: explicit Euler with gamma dt lambda_max <= {bound:.3g} at fields "
                          f"up to {field_max} {unit} (plus defects of {defect_max} {unit}) is inaccurate or unstable "
                          "(must be < 1); decrease dt")
    n_points = latent["grid"] ** study["vae"]["latent_dim"]
    if n_points > 1_000_000:
        raise ConfigError(f"{prefix}.latent.grid: {latent['grid']}^{study['vae']['latent_dim']} = {n_points} "
                          "points; expected at most 1,000,000")
    study.setdefault("ground_truth", n_points <= GROUND_TRUTH_MAX_POINTS)
    _check_training_split(prefix, traj["n"], "trajectories.n", study["vae"], "trajectories")
    for run_name, run in study["optimize"].items():
        if run["n_initial"] > n_points:
            raise ConfigError(f"{prefix}.optimize.{run_name}.n_initial: {run['n_initial']} initial points for a "
                              f"grid of {n_points}")


def _check_study(prefix: str, study: dict[str, Any], root: Path, all_studies: dict) -> None:
    if study["kind"] == "transitions":  # may name another study (the VAE of a latent initial path)
        _check_transitions(prefix, study, all_studies, root)
    else:
        CHECKS[study["kind"]](prefix, study, root)


def _check_spins(prefix: str, study: dict[str, Any], root: Path) -> None:
    system, sim, vae = study["system"], study["simulate"], study["vae"]
    L = system["L"]
    if L % 16:
        raise ConfigError(f"{prefix}.system.L: {L} is not divisible by 16 (the VAE pools four times by 2)")
    if not sim["T_end"] < sim["T_start"]:
        raise ConfigError(f"{prefix}.simulate.T_end: must be below T_start ({sim['T_end']} >= {sim['T_start']})")
    if sim["shards"] > sim["n_samples"]:
        raise ConfigError(f"{prefix}.simulate.shards: {sim['shards']} shards for {sim['n_samples']} samples; "
                          "expected shards <= n_samples")
    _check_training_split(prefix, sim["n_samples"], "simulate.n_samples", vae, "states")
    for run_name, run in study.get("optimize", {}).items():
        key = f"{prefix}.optimize.{run_name}"
        run.setdefault("direction", DEFAULT_DIRECTION[run["objective"]])
        if run["objective"] == "C":
            run.setdefault("a", [1, 0])
        if run["objective"] == "C_BC":
            run.setdefault("boundary", {})
            if "file" not in run["boundary"]:
                run["boundary"] = {**DEFAULT_BOUNDARY, **run["boundary"]}
            try:
                boundary_from_config(run["boundary"], L, root)
            except (ValueError, FileNotFoundError) as exc:
                raise ConfigError(f"{key}.boundary: {exc}") from exc
        if run["algorithm"] == "genetic" and run["elitism"] >= run["population"]:
            raise ConfigError(f"{key}.elitism: must be below population ({run['elitism']} >= {run['population']})")


def _check_families(prefix: str, families: dict) -> None:
    """Every family is registered with valid ranges, and some family has a positive weight."""
    from latentopt.families import family_ranges

    for name, fam in families.items():
        try:
            family_ranges(name, fam.get("ranges"))
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"{prefix}.trajectories.families.{name}: {exc.args[0]}") from exc
    if not any(f.get("weight", 1.0) > 0 for f in families.values()):
        raise ConfigError(f"{prefix}.trajectories.families: all weights are 0")


def _check_schedules(prefix: str, study: dict[str, Any], root: Path) -> None:
    from latentopt.families import sample_training_set

    traj, jrvae, latent, data = study["trajectories"], study["jrvae"], study["latent"], study["data"]
    N = jrvae["epochs"]
    if traj.setdefault("steps", N) != N:
        raise ConfigError(f"{prefix}.trajectories.steps: beta_c(i) has one value per jrVAE epoch, so N = "
                          f"{traj['steps']} must equal jrvae.epochs = {N}")
    _check_families(prefix, traj["families"])
    lo, hi = latent["constraints"]["min"], latent["constraints"]["max"]
    if not lo < hi:
        raise ConfigError(f"{prefix}.latent.constraints: the bounds of beta_c are reversed (min {lo} >= max {hi})")
    x = sample_training_set(traj["families"], traj["n"], N, traj["seed"])["trajectories"]
    if x.min() < lo or x.max() > hi:
        raise ConfigError(f"{prefix}.trajectories.families: the training trajectories span [{x.min():.4g}, "
                          f"{x.max():.4g}], outside the bounds latent.constraints [{lo}, {hi}]; narrow the families' "
                          "ranges or widen the bounds")
    _check_training_split(prefix, traj["n"], "trajectories.n", study["vae"], "trajectories")
    name = data["name"]
    other = {"digits": ("counts", "n_per_count", "radius", "spread", "shape", "noise"),
             "particles": ("classes", "fill", "copies")}[name]
    wrong = sorted(k for k in other if k in data)
    if wrong:
        raise ConfigError(f"{prefix}.data.{wrong[0]}: not a setting of the {name!r} images")
    if data["train_subset"] is not None and jrvae["batch_size"] > data["train_subset"]:
        raise ConfigError(f"{prefix}.jrvae.batch_size: {jrvae['batch_size']} is larger than data.train_subset = "
                          f"{data['train_subset']} images; expected at most {data['train_subset']}")
    n_points = latent["grid"] ** study["vae"]["latent_dim"]
    if n_points > 1_000_000:
        raise ConfigError(f"{prefix}.latent.grid: {latent['grid']}^{study['vae']['latent_dim']} = {n_points} "
                          "points; expected at most 1,000,000")
    if not study["optimize"]:
        raise ConfigError(f"{prefix}.optimize: a schedules study needs at least one BO run")
    for run_name, run in study["optimize"].items():
        key = f"{prefix}.optimize.{run_name}"
        if run["iterations"] % run["q"]:
            raise ConfigError(f"{key}.iterations: {run['iterations']} is not a multiple of q = {run['q']}; rounds "
                              "must be full so that raising iterations only adds rounds")
        budget = run["n_initial"] + run["iterations"]
        if budget > n_points:
            raise ConfigError(f"{key}.iterations: {budget} evaluations (n_initial + iterations) for a grid of "
                              f"{n_points} points")
        if run["random_pool"] is not None and run["random_pool"] < budget:
            raise ConfigError(f"{key}.random_pool: {run['random_pool']} random points for a budget of {budget} "
                              "(n_initial + iterations); expected at least the budget")


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


def _check_transitions(prefix: str, study: dict[str, Any], all_studies: dict, root: Path) -> None:
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
        if other not in all_studies or all_studies[other].get("kind") != "spins":
            raise ConfigError(f"{prefix}.neb.latent_study: {other!r} is not a spins study of this config")
        if all_studies[other]["system"]["L"] != L:
            raise ConfigError(f"{prefix}.neb.latent_study: {other!r} has L = {all_studies[other]['system']['L']}, "
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


def _check_upscaling(prefix: str, study: dict[str, Any], root: Path) -> None:
    sim, gan, ev = study["simulate"], study["gan"], study["evaluate"]
    L, u = study["system"]["L"], gan["upsample"]
    if L % u or (L // u) % 2:
        raise ConfigError(f"{prefix}.system.L: {L} must be an even multiple of gan.upsample = {u} (the noise block "
                          f"has L / upsample cells a side, an even number for the seam check)")
    if sim["T_min"] > sim["T_max"]:
        raise ConfigError(f"{prefix}.simulate.T_min: must not exceed T_max ({sim['T_min']} > {sim['T_max']})")
    if sim["T_start"] < sim["T_max"]:
        raise ConfigError(f"{prefix}.simulate.T_start: the anneal starts at or above T_max "
                          f"({sim['T_start']} < {sim['T_max']})")
    if sim["shards"] > sim["n_samples"]:
        raise ConfigError(f"{prefix}.simulate.shards: {sim['shards']} shards for {sim['n_samples']} samples; "
                          "expected shards <= n_samples")
    if gan["batch_size"] > sim["n_samples"]:
        raise ConfigError(f"{prefix}.gan.batch_size: {gan['batch_size']} is larger than the training set "
                          f"(simulate.n_samples = {sim['n_samples']})")
    if ev["heatbath_scale"] is None:
        ev["heatbath_scale"] = max(ev["scales"])
    elif ev["heatbath_scale"] not in ev["scales"]:
        raise ConfigError(f"{prefix}.evaluate.heatbath_scale: {ev['heatbath_scale']} is not among "
                          f"evaluate.scales {ev['scales']}")


#: the semantic checks of each study kind: ``check(prefix, study, root)`` raises :class:`ConfigError`
CHECKS = {"spins": _check_spins, "trajectories": _check_trajectories, "schedules": _check_schedules,
          "transitions": _check_transitions, "upscaling": _check_upscaling}
