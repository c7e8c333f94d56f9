"""Helpers of the per-kind FINN exports (compiler.finn_export): FINN's node convention and datatype names."""
from __future__ import annotations

import numpy as np

from compiler.datatypes import range_dtype

FINN_DOMAIN = "finn.custom_op.fpgadataflow"


def node(op: str, name: str, ins: list[str], outs: list[str], **attrs):
    """A FINN fpgadataflow node (onnx is imported only when exporting)."""
    from onnx import helper

    return helper.make_node(op, ins, outs, name=name, domain=FINN_DOMAIN, backend="fpgadataflow", **attrs)


def range_name(v: np.ndarray) -> str:
    """Smallest qonnx integer datatype name holding every value of v (INT2 for an empty array)."""
    return range_dtype(int(v.min()), int(v.max())) if v.size else "INT2"
