"""JSON Schema of graph.json (docs/ir.md), checked on every load, and a formatter for jsonschema errors.

Why: graph.json is a file users and other tools edit; a missing field, a wrong type (`"pe": "4"`,
`"layers": null`) or a bad value must be reported as `FILE: field PATH: problem`, not as a KeyError or
TypeError deep inside the simulator or code generator.
"""
from __future__ import annotations

import os
from typing import Any

import jsonschema

from compiler.ir.names import MAX_NAME

NAME = {"type": "string", "pattern": r"^[A-Za-z0-9_/][A-Za-z0-9_.:/+-]*$", "maxLength": MAX_NAME}
POS = {"type": "integer", "minimum": 1}
NONNEG = {"type": "integer", "minimum": 0}
SHAPE = {"type": "array", "items": POS, "minItems": 1}
PAIR = {"type": "array", "items": POS, "minItems": 2, "maxItems": 2}
DTYPE = {"type": "string", "minLength": 1}

# attrs each layer kind must carry (docs/ir.md "Layer kinds"), with their JSON types
KIND_ATTRS: dict[str, dict[str, Any]] = {
    "MVTU": {"MW": POS, "MH": POS, "num_vectors": POS, "binary_xnor": {"type": "boolean"},
             "noact": {"type": "boolean"}, "weight_dtype": DTYPE, "acc_dtype": DTYPE},
    "Thresholding": {"num_channels": POS, "num_vectors": POS},
    "SlidingWindow": {"ifm_dim": PAIR, "channels": POS, "kernel": PAIR, "stride": PAIR, "ofm_dim": PAIR,
                      "pad": {"type": "array", "items": NONNEG, "minItems": 4, "maxItems": 4},
                      "pad_value": {"type": "integer"}},
    "MaxPool": {"ifm_dim": PAIR, "channels": POS, "kernel": PAIR, "stride": PAIR, "ofm_dim": PAIR},
    "LabelSelect": {"num_labels": POS, "k": POS},
    "AvgPool": {"ifm_dim": PAIR, "channels": POS, "kernel": PAIR, "stride": PAIR, "ofm_dim": PAIR,
                "pad": {"type": "array", "items": NONNEG, "minItems": 4, "maxItems": 4},
                "acc_dtype": DTYPE, "out_bias": {"type": "integer"}, "noact": {"type": "boolean"}},
    "DuplicateStreams": {"num_channels": POS, "num_vectors": POS},
    "AddStreams": {"num_channels": POS, "num_vectors": POS, "in1_dtype": DTYPE, "acc_dtype": DTYPE,
                   "shift": {"type": "array", "items": NONNEG, "minItems": 2, "maxItems": 2},
                   "out_bias": {"type": "integer"}, "noact": {"type": "boolean"}},
    "ConcatStreams": {"channels": PAIR, "num_vectors": POS, "in1_dtype": DTYPE,
                      "shift": {"type": "array", "items": NONNEG, "minItems": 2, "maxItems": 2}},
    "VVAU": {"channels": POS, "kernel": PAIR, "num_vectors": POS, "weight_dtype": DTYPE, "acc_dtype": DTYPE,
             "out_bias": {"type": "integer"}, "noact": {"type": "boolean"}},
}
OPTIONAL_ATTRS = {"out_bias": {"type": "integer"}, "weight_ram": {"enum": ["uram"]},
                  "mult": {"type": "array", "items": POS, "minItems": 2, "maxItems": 2}}

LAYER = {
    "type": "object",
    "required": ["name", "kind", "in_shape", "out_shape", "in_dtype", "out_dtype", "attrs", "arrays"],
    "properties": {
        "name": NAME, "kind": {"enum": list(KIND_ATTRS)},
        "in_shape": SHAPE, "out_shape": SHAPE, "in_dtype": DTYPE, "out_dtype": DTYPE,
        "attrs": {"type": "object", "properties": OPTIONAL_ATTRS},
        "folding": {"type": "object", "properties": {"pe": POS, "simd": POS}, "additionalProperties": False},
        "arrays": {"type": "object", "additionalProperties": {"type": "string"}},
        "inputs": {"type": "array", "items": NAME, "minItems": 1},
        "outputs": {"type": "array", "items": NAME, "minItems": 1},
    },
    "allOf": [
        {"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
         "then": {"properties": {"attrs": {"required": list(attrs), "properties": attrs}}}}
        for kind, attrs in KIND_ATTRS.items()
    ],
}
OPS = {"type": "array", "items": {"type": "object", "required": ["op"], "properties": {"op": {"type": "string"}}}}
GRAPH_SCHEMA = {
    "type": "object",
    "required": ["format_version", "name", "input", "output", "layers"],
    "properties": {
        "format_version": {"type": "integer"},
        "name": NAME,
        "meta": {"type": "object"},
        "input": {"type": "object", "required": ["shape", "dtype", "pre"],
                  "properties": {"shape": SHAPE, "dtype": DTYPE, "pre": OPS}},
        "output": {"type": "object", "required": ["shape", "post"], "properties": {"shape": SHAPE, "post": OPS}},
        "layers": {"type": "array", "items": LAYER, "minItems": 1},
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

    problems = schema_problems(doc, GRAPH_SCHEMA)
    if problems:
        raise IRError(f"{file}: not a valid graph.json:\n  " + "\n  ".join(problems))
