"""JSON Schema of graph.json (docs/ir.md), checked on every load, and a formatter for jsonschema errors.

Why: graph.json is a file users and other tools edit; a missing field, a wrong type (`"pe": "4"`,
`"layers": null`) or a bad value must be reported as `FILE: field PATH: problem`, not as a KeyError or
TypeError deep inside the simulator or code generator. The layer attributes are not declared here: each kind
declares its own (`Kind.attrs`, `Kind.optional_attrs`, compiler.kinds) and the schema is built from the registry.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterable

import jsonschema

from compiler.ir.jsontypes import DTYPE, NAME, POS, SHAPE, JsonSchema

if TYPE_CHECKING:
    from compiler.kinds.base import Kind


def layer_schema(kinds: Iterable[Kind] | None = None) -> JsonSchema:
    """The schema of one layer; its kinds and attributes come from the kinds (default: every registered one).

    Each kind's `attrs` are required, with their schemas, on a layer of that kind; every kind's `optional_attrs`
    (and COMMON_OPTIONAL_ATTRS) are checked wherever they occur, as a layer may carry attributes its kind ignores.
    """
    from compiler import kinds as kind_registry        # here: schema_problems alone (boards.runtime) needs no kinds
    from compiler.kinds.base import COMMON_OPTIONAL_ATTRS

    kinds = kind_registry.all() if kinds is None else list(kinds)
    optional = dict(COMMON_OPTIONAL_ATTRS)
    for kind in kinds:
        for key, schema in kind.optional_attrs.items():
            if optional.setdefault(key, schema) != schema:
                raise ValueError(f"kind {kind.name}: optional attribute {key!r} has the schema {schema}, another "
                                 f"kind declares it as {optional[key]}")
    for kind in kinds:       # an optional attribute is checked on every layer: it must agree with required ones
        for key, schema in kind.attrs.items():
            if key in optional and optional[key] != schema:
                raise ValueError(f"kind {kind.name}: attribute {key!r} has the schema {schema}, another kind "
                                 f"declares it optional as {optional[key]}")
    return {
        "type": "object",
        "required": ["name", "kind", "in_shape", "out_shape", "in_dtype", "out_dtype", "attrs", "arrays"],
        "properties": {
            "name": NAME, "kind": {"enum": [kind.name for kind in kinds]},
            "in_shape": SHAPE, "out_shape": SHAPE, "in_dtype": DTYPE, "out_dtype": DTYPE,
            "attrs": {"type": "object", "properties": optional},
            "folding": {"type": "object", "properties": {"pe": POS, "simd": POS}, "additionalProperties": False},
            "arrays": {"type": "object", "additionalProperties": {"type": "string"}},
            "inputs": {"type": "array", "items": NAME, "minItems": 1},
            "outputs": {"type": "array", "items": NAME, "minItems": 1},
        },
        "allOf": [
            {"if": {"properties": {"kind": {"const": kind.name}}, "required": ["kind"]},
             "then": {"properties": {"attrs": {"required": list(kind.attrs), "properties": dict(kind.attrs)}}}}
            for kind in kinds
        ],
    }


OPS = {"type": "array", "items": {"type": "object", "required": ["op"], "properties": {"op": {"type": "string"}}}}


def graph_schema(kinds: Iterable[Kind] | None = None) -> JsonSchema:
    """The schema of graph.json, with the layers of `kinds` (default: every registered kind, see layer_schema)."""
    return {
        "type": "object",
        "required": ["format_version", "name", "input", "output", "layers"],
        "properties": {
            "format_version": {"type": "integer"},
            "name": NAME,
            "meta": {"type": "object"},
            "input": {"type": "object", "required": ["shape", "dtype", "pre"],
                      "properties": {"shape": SHAPE, "dtype": DTYPE, "pre": OPS}},
            "output": {"type": "object", "required": ["shape", "post"], "properties": {"shape": SHAPE, "post": OPS}},
            "layers": {"type": "array", "items": layer_schema(kinds), "minItems": 1},
        },
    }


def field_path(path) -> str:
    """jsonschema's absolute_path as `layers[0].attrs.MH` (`<top level>` for the document itself)."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<top level>"


def schema_problems(doc: Any, schema: dict, limit: int = 5) -> list[str]:
    """Up to `limit` problems of `doc` against `schema`, each 'field PATH: message', most specific first."""
    v = jsonschema.Draft202012Validator(schema)
    errors = sorted(v.iter_errors(doc), key=lambda e: (-len(e.absolute_path), list(map(str, e.absolute_path))))
    out = []
    for e in errors:
        if e.validator in ("allOf", "if", "then"):
            continue
        msg = f"field {field_path(e.absolute_path)}: {e.message}"
        if msg not in out:
            out.append(msg)
    return out[:limit]


def check_graph_json(doc: Any, file: str | os.PathLike) -> None:
    """Raise IRError naming `file` and each bad field when `doc` is not a valid graph.json document."""
    from diagnostics.errors import IRError

    problems = schema_problems(doc, graph_schema())
    if problems:
        raise IRError(f"{file}: not a valid graph.json:\n  " + "\n  ".join(problems))
