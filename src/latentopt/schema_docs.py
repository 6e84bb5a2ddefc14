"""The key tables of ``config/README.md``, generated from the config schema.

The schema (``workflow/schemas/config.schema.yaml`` and ``kinds/<kind>.schema.yaml``, merged
by :func:`latentopt.config.load_schema`) is the truth about config keys: their types,
defaults and ``description:``. ``config/README.md`` is hand-written prose around tables of
keys; each table stands between a marker line and ``<!-- end keys -->`` and is generated::

    <!-- keys: NODE [KEY ...] -->
    | key | type | default | meaning |
    ...
    <!-- end keys -->

``NODE`` is ``config`` (the top level) or a ``$defs`` name; ``NODE/VALUE`` selects the
``allOf`` branch of that node whose ``if`` asks for the constant VALUE (its keys beyond the
node's own). Without KEYs the table lists every property of the node; with KEYs only those,
each expanded into its sub-keys (``objective.name``). Inline objects are always expanded;
a property given as a ``$ref`` is one row unless it is a listed KEY. Run it from the
repository root::

    python -m latentopt.schema_docs config/README.md          # exit 1 and a diff when stale
    python -m latentopt.schema_docs config/README.md --write  # rewrite the tables in place

Conventions: ``docs/design.md``, "Config".
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path
from typing import Any, Iterator

from latentopt.config import load_schema

SCHEMA = Path("workflow/schemas/config.schema.yaml")
MARKER = re.compile(r"^<!-- keys: (?P<spec>[^>]*?) -->\n(?P<table>.*?)^<!-- end keys -->$", re.S | re.M)
HEADER = "| key | type | default | meaning |\n| --- | --- | --- | --- |\n"

#: a row of a key table: dotted key, type, default, description (markdown cells)
Row = tuple[str, str, str, str]


def resolve(schema: dict, node: Any) -> Any:
    """``node`` with a local ``$ref`` replaced by its target, the node's own keywords winning.

    Raises
    ------
    KeyError
        If the ``$ref`` names no definition.
    """
    if not isinstance(node, dict) or "$ref" not in node:
        return node
    target = schema
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    own = {k: v for k, v in node.items() if k != "$ref"}
    return {**resolve(schema, target), **own}


def literal(value: Any) -> str:
    """A config value as YAML flow text: ``null``, ``true``, ``1e-8``, ``[0.0, 1.0]``, ``{kind: skyrmion}``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return re.sub(r"e([+-])0*(\d)", lambda m: f"e{m[1].replace('+', '')}{m[2]}", repr(value))
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    return str(value)


def _bounds(node: dict) -> str:
    """The numeric bounds of a node: ``>= 1``, ``> 0``, ``2 to 512``, ``in (0, 1]``."""
    lo = ("[", node["minimum"]) if "minimum" in node else ("(", node.get("exclusiveMinimum"))
    hi = ("]", node["maximum"]) if "maximum" in node else (")", node.get("exclusiveMaximum"))
    if lo[1] is not None and hi[1] is not None:
        if lo[0] + hi[0] == "[]":
            return f" {literal(lo[1])} to {literal(hi[1])}"
        return f" in {lo[0]}{literal(lo[1])}, {literal(hi[1])}{hi[0]}"
    if lo[1] is not None:
        return f" {'>=' if lo[0] == '[' else '>'} {literal(lo[1])}"
    if hi[1] is not None:
        return f" {'<=' if hi[0] == ']' else '<'} {literal(hi[1])}"
    return ""


def type_of(schema: dict, node: Any) -> str:
    """What a key takes, in words: ``int >= 1``, `` `fp32` \\| `bf16` ``, ``list of 3 numbers``, ``mapping``."""
    node = resolve(schema, node)
    if not isinstance(node, dict):
        return ""
    if "const" in node:
        return f"`{literal(node['const'])}`"
    if "enum" in node:
        return " \\| ".join(f"`{literal(v)}`" for v in node["enum"])
    if "oneOf" in node or "anyOf" in node:
        return " or ".join(dict.fromkeys(type_of(schema, alt) for alt in node.get("oneOf", node.get("anyOf"))))
    kinds = node.get("type")
    if isinstance(kinds, list):
        return " or ".join(type_of(schema, {**node, "type": k}) for k in kinds)
    if kinds == "integer":
        return "int" + _bounds(node)
    if kinds == "number":
        return "number" + _bounds(node)
    if kinds == "boolean":
        return "bool"
    if kinds == "string":
        return "string"
    if kinds == "null":
        return "null"
    if kinds == "array":
        item = type_of(schema, node.get("items", {})) or "value"
        words = item.split(" ", 1)
        item = " ".join([words[0] + ("s" if words[0] in ("int", "number", "string", "bool") else ""), *words[1:]])
        size = node.get("minItems") if node.get("minItems") == node.get("maxItems") else None
        distinct = "distinct " if node.get("uniqueItems") else ""
        return f"list of {f'{size} ' if size else ''}{distinct}{item}"
    if kinds == "object" or "properties" in node:
        return "mapping"
    return ""


def _children(schema: dict, node: dict) -> list[tuple[str, dict, list]]:
    """The sub-key groups of an object node: ``(infix, properties, required)``, or none for a leaf."""
    node = resolve(schema, node)
    groups = []
    if "properties" in node:
        groups.append(("", node["properties"], node.get("required", [])))
    for alt in node.get("oneOf", []) + node.get("anyOf", []):
        alt = resolve(schema, alt)
        if isinstance(alt, dict) and "properties" in alt:
            groups.append(("", alt["properties"], alt.get("required", [])))
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and "$ref" not in extra and "properties" in extra:
        groups.append(("<name>.", extra["properties"], extra.get("required", [])))
    return groups


def _row(schema: dict, key: str, node: Any, required: bool, defaults: list) -> Row:
    """One table row; ``defaults`` are the ``allOf`` branches' defaults, used when the node has none."""
    target = resolve(schema, node)
    if "default" in target:
        defaults = [target["default"]]
    if required:
        default = "required"
    elif defaults and all(d == defaults[0] for d in defaults):
        default = f"`{literal(defaults[0])}`"
    else:
        default = ""
    description = " ".join(str(target.get("description", "")).split()).replace("|", "\\|")
    return f"`{key}`", type_of(schema, target), default, description


def key_rows(schema: dict, node: dict, prefix: str = "", keys: list[str] | None = None,
             branch_defaults: dict | None = None) -> Iterator[Row]:
    """Rows for the properties of ``node`` (all, or the listed ``keys`` expanded), sub-keys dotted.

    Parameters
    ----------
    schema : dict
        The merged schema (:func:`latentopt.config.load_schema`).
    node : dict
        An object node of it.
    prefix : str
        Prepended to every key (``evaluate.``).
    keys : list of str, optional
        Only these properties, each expanded even when given as a ``$ref``.
    branch_defaults : dict, optional
        Key -> defaults set by the node's ``allOf`` branches (shown when they agree).

    Raises
    ------
    KeyError
        If a listed key is not a property of the node.
    """
    node = resolve(schema, node)
    props, required = node.get("properties", {}), node.get("required", [])
    for name in keys or []:
        if name not in props:
            raise KeyError(f"{name!r} is not a key of this node; it has {sorted(props)}")
    for name, sub in props.items():
        if sub is True or (keys is not None and name not in keys):
            continue
        groups = _children(schema, sub) if (keys is not None or "$ref" not in sub) else []
        if not groups or resolve(schema, sub).get("description"):
            yield _row(schema, prefix + name, sub, name in required, (branch_defaults or {}).get(name, []))
        for infix, sub_props, sub_required in groups:
            yield from key_rows(schema, {"properties": sub_props, "required": sub_required}, f"{prefix}{name}.{infix}")


def _dedupe(rows: Iterator[Row]) -> list[Row]:
    """Rows in order with repeated keys (a key of several ``oneOf`` alternatives) listed once."""
    return list({row[0]: row for row in rows}.values())


def _branch_defaults(node: dict) -> dict[str, list]:
    """Key -> the defaults the node's ``allOf`` branches give its own properties (one per branch that sets one)."""
    branches = [b["then"].get("properties", {}) for b in node.get("allOf", []) if "then" in b]
    return {k: [b[k]["default"] for b in branches if isinstance(b.get(k), dict) and "default" in b[k]]
            for k in node.get("properties", {})}


def _branch_properties(node: dict, value: str) -> dict:
    """The properties the ``allOf`` branch for the constant ``value`` adds to the node's own.

    Raises
    ------
    KeyError
        If no branch asks for ``value``.
    """
    for branch in node.get("allOf", []):
        asks = branch.get("if", {}).get("properties", {}).values()
        if any(isinstance(p, dict) and p.get("const") == value for p in asks):
            return {k: v for k, v in branch["then"]["properties"].items() if k not in node.get("properties", {})}
    raise KeyError(f"no allOf branch for {value!r}")


def table(schema: dict, spec: str) -> str:
    """The markdown table a marker ``<!-- keys: SPEC -->`` stands for.

    Raises
    ------
    KeyError
        If the node, branch or a key does not exist.
    """
    name, *keys = spec.split()
    name, _, value = name.partition("/")
    node = schema if name == "config" else schema["$defs"][name]
    if value:
        rows = key_rows(schema, {"properties": _branch_properties(node, value)})
    elif keys:
        rows = key_rows(schema, node, keys=keys, branch_defaults=_branch_defaults(node))
    else:
        rows = (row for _, props, required in _children(schema, node)
                for row in key_rows(schema, {"properties": props, "required": required},
                                    branch_defaults=_branch_defaults(node)))
    return HEADER + "".join("| " + " | ".join(row) + " |\n" for row in _dedupe(rows))


def fill(text: str, schema: dict) -> str:
    """``text`` with every marked key table regenerated from ``schema``."""
    def one(match: re.Match) -> str:
        spec = match["spec"]
        return f"<!-- keys: {spec} -->\n{table(schema, spec)}<!-- end keys -->"

    return MARKER.sub(one, text)


def main(argv: list[str] | None = None) -> int:
    """Check (or with ``--write`` rewrite) the key tables of a markdown file; 1 when they are stale."""
    parser = argparse.ArgumentParser(prog="python -m latentopt.schema_docs", description=__doc__.split("\n\n")[0])
    parser.add_argument("doc", type=Path, help="markdown file with <!-- keys: ... --> markers")
    parser.add_argument("--schema", type=Path, default=SCHEMA, help=f"top-level schema (default {SCHEMA})")
    parser.add_argument("--write", action="store_true", help="rewrite the tables instead of checking them")
    args = parser.parse_args(argv)
    text = args.doc.read_text()
    new = fill(text, load_schema(args.schema))
    if new == text:
        return 0
    if args.write:
        args.doc.write_text(new)
        return 0
    sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True), str(args.doc), "generated"))
    print(f"{args.doc}: key tables differ from the schema; rerun with --write", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
