"""Helpers of the per-kind FINN exports (compiler.finn_export): FINN's node convention and datatype names.

finn-plus streams BIPOLAR activations as BINARY bits (-1 -> 0, +1 -> 1), the {0, 1} codes its
ConvertBipolarMatMulToXnorPopcount and its thresholds (ActVal = 0) produce; `finn_dtype` gives that annotation.
"""
from __future__ import annotations

import numpy as np

from compiler.datatypes import range_dtype
from compiler.errors import IRError
from compiler.kinds.base import LayerData

FINN_DOMAIN = "finn.custom_op.fpgadataflow"


def node(op: str, name: str, ins: list[str], outs: list[str], **attrs):
    """A FINN fpgadataflow node (onnx is imported only when exporting)."""
    from onnx import helper

    return helper.make_node(op, ins, outs, name=name, domain=FINN_DOMAIN, backend="fpgadataflow", **attrs)


def range_name(v: np.ndarray) -> str:
    """Smallest qonnx integer datatype name holding every value of v (INT2 for an empty array)."""
    return range_dtype(int(v.min()), int(v.max())) if v.size else "INT2"


def finn_dtype(name: str) -> str:
    """The datatype FINN gives a dataflow tensor of IR datatype `name`: BIPOLAR activations travel as BINARY bits."""
    return "BINARY" if name == "BIPOLAR" else name


def xnor_popcount_dtype(mw: int) -> str:
    """The datatype of an XNOR MVAU's popcount output (0..MW) in FINN."""
    return range_name(np.array([0, mw]))


def no_bipolar_values(layer: LayerData, what: str) -> None:
    """Refuse a layer that would need the -1/+1 values of a BIPOLAR input FINN only holds as 0/1 bits."""
    if layer.in_dtype == "BIPOLAR":
        raise IRError(f"layer {layer.name!r}: FINN carries BIPOLAR activations as BINARY bits, so {what} on them "
                      "cannot be expressed as FINN dataflow nodes")
