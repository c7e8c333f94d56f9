"""JSON Schema of the values graph.json holds (docs/ir.md): names, shapes, datatypes, positive integers, pairs.

Why: one vocabulary for the two places that describe graph.json: compiler.ir.schema (the document and the layer
fields) and each layer kind's `attrs` / `optional_attrs` (compiler.kinds), from which the schema takes every kind's
attributes, so each attribute is declared once, on its kind.
"""
from __future__ import annotations

from typing import Any

from compiler.ir.names import MAX_NAME

#: a JSON Schema fragment (a plain dict, as jsonschema takes it)
JsonSchema = dict[str, Any]

NAME: JsonSchema = {"type": "string", "pattern": r"^[A-Za-z0-9_/][A-Za-z0-9_.:/+-]*$", "maxLength": MAX_NAME}
INT: JsonSchema = {"type": "integer"}
POS: JsonSchema = {"type": "integer", "minimum": 1}
NONNEG: JsonSchema = {"type": "integer", "minimum": 0}
BOOL: JsonSchema = {"type": "boolean"}
DTYPE: JsonSchema = {"type": "string", "minLength": 1}
SHAPE: JsonSchema = {"type": "array", "items": POS, "minItems": 1}


def array_of(items: JsonSchema, n: int) -> JsonSchema:
    """A list of exactly `n` values of `items`."""
    return {"type": "array", "items": items, "minItems": n, "maxItems": n}


#: [height, width] of a window, stride or image; [m0, m1] multipliers; [C0, C1] channels
PAIR: JsonSchema = array_of(POS, 2)
#: [k0, k1] left shifts of two inputs
SHIFTS: JsonSchema = array_of(NONNEG, 2)
#: [top, left, bottom, right] padding
PADS: JsonSchema = array_of(NONNEG, 4)
