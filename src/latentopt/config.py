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
from pathlib import Path
from typing import Any

import jsonschema
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
        raise ConfigError(f"{_key(err.absolute_path)}: {err.message}")
    for name, study in cfg["studies"].items():
        _check_study(f"studies.{name}", study, Path(root))
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
    from latentopt.families import family_ranges

    system, traj, latent = study["system"], study["trajectories"], study["latent"]
    for name, fam in traj["families"].items():
        try:
            family_ranges(name, fam.get("ranges"))
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"{prefix}.trajectories.families.{name}: {exc.args[0]}") from exc
    if not any(f.get("weight", 1.0) > 0 for f in traj["families"].values()):
        raise ConfigError(f"{prefix}.trajectories.families: all weights are 0")
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
    n_val = round(traj["n"] * study["vae"]["val_fraction"])
    if study["vae"]["val_fraction"] > 0:
        n_val = max(n_val, 1)  # as latentopt.trainers.common.split_indices
    if traj["n"] - n_val < 2:
        raise ConfigError(f"{prefix}.vae.val_fraction: fewer than 2 training trajectories remain")
    for run_name, run in study["optimize"].items():
        if run["n_initial"] > n_points:
            raise ConfigError(f"{prefix}.optimize.{run_name}.n_initial: {run['n_initial']} initial points for a "
                              f"grid of {n_points}")


def _check_study(prefix: str, study: dict[str, Any], root: Path) -> None:
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
    n_val = round(sim["n_samples"] * vae["val_fraction"])
    if vae["val_fraction"] > 0 and n_val < 1:
        raise ConfigError(f"{prefix}.vae.val_fraction: {vae['val_fraction']} of {sim['n_samples']} samples "
                          "leaves no validation state")
    if sim["n_samples"] - n_val < 2:
        raise ConfigError(f"{prefix}.vae.val_fraction: fewer than 2 training states remain")
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


#: the semantic checks of each study kind: ``check(prefix, study, root)`` raises :class:`ConfigError`
CHECKS = {"spins": _check_spins, "trajectories": _check_trajectories}
