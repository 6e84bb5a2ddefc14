"""Configuration validation: the JSON schema plus the checks a schema cannot express.

:func:`validate_config` is called by the Snakefile before any job is scheduled, so a bad
config fails fast with a message naming the offending key, e.g.
``studies.labyrinth.system.L: 60 is not divisible by 16``.

Every study has a ``kind`` (:mod:`latentopt.studies`); a study that does not write it
gets the kind implied by ``system.model``. The schema is
``workflow/schemas/config.schema.yaml`` plus one file per kind,
``workflow/schemas/kinds/<kind>.schema.yaml`` (:func:`load_schema` merges them), and the
semantic checks of each kind are its ``check`` hook (:meth:`latentopt.studies.Kind.check`,
``latentopt.studies.hooks.<kind>``), which may use the shared checks here
(:func:`check_training_split`, :func:`check_families`).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from latentopt.studies import KINDS, infer_kind, kind_of


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


def check_training_split(prefix: str, n: int, n_key: str, vae: dict, what: str = "samples") -> None:
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


def check_families(prefix: str, families: dict) -> None:
    """Every family is registered with valid ranges, and some family has a positive weight."""
    from latentopt.families import family_ranges

    for name, fam in families.items():
        try:
            family_ranges(name, fam.get("ranges"))
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"{prefix}.trajectories.families.{name}: {exc.args[0]}") from exc
    if not any(f.get("weight", 1.0) > 0 for f in families.values()):
        raise ConfigError(f"{prefix}.trajectories.families: all weights are 0")


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
        if name in KINDS:
            raise ConfigError(f"studies.{name}: a study may not be named like a study kind (the outputs of the "
                              f"{name} studies are in results/{name}/); choose another name")
        kind_of(study).check(f"studies.{name}", study, Path(root), cfg["studies"])
    return canonical(cfg)


def canonical(obj: Any) -> Any:
    """Recursively sort mapping keys, so that reordering a config file changes no rule's params
    (Snakemake reruns a job when the representation of its params changes)."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj

