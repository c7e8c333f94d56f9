"""Helpers of the per-kind FINN exports (compiler.backends.finn.export): FINN's node convention and datatype names.

finn-plus streams BIPOLAR activations as BINARY bits (-1 -> 0, +1 -> 1), the {0, 1} codes its
ConvertBipolarMatMulToXnorPopcount and its thresholds (ActVal = 0) produce; `finn_dtype` gives that annotation.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from compiler.ir.datatypes import range_dtype
from diagnostics.errors import IRError

if TYPE_CHECKING:     # the kinds' layer protocol, for annotations only: the kinds import this module
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


def intermediate(inits: dict, tensor: str, shape: tuple[int, ...]) -> str:
    """Record the per-frame (NHWC, no batch) shape of a tensor between two of a kind's own FINN nodes (FINN's
    executor wants every tensor's shape); compiler.backends.finn.export writes it as value_info."""
    inits.setdefault("__shapes__", {})[tensor] = tuple(int(d) for d in shape)
    return tensor


def producer_attrs(inits: dict, tensor: str, **attrs) -> None:
    """Ask for attributes on the FINN node producing `tensor` (e.g. FINN's VVAU needs its ConvolutionInputGenerator
    in depthwise mode); compiler.backends.finn.export sets them once every layer is exported."""
    inits.setdefault("__producer_attrs__", {}).setdefault(tensor, {}).update(attrs)


def window_sum_dtype(in_dtype: str, k: int) -> str:
    """The datatype FINN gives the sum of k values of in_dtype (Pool AccPool, GlobalAccPool): the smallest one
    holding k * min and k * max."""
    from compiler.ir.datatypes import datatype

    d = datatype(in_dtype)
    return range_dtype(int(k * d.min()), int(k * d.max()))


def thresholding_node(name: str, x: str, y: str, thresholds: np.ndarray, channels: int, pe: int, in_dtype: str,
                      out_dtype: str, out_bias: int, vectors, inits: dict) -> tuple[object, dict[str, str]]:
    """A FINN Thresholding node (thresholds broadcast to (channels, steps), stored as `<name>_T`) from an integer
    tensor of in_dtype to out_dtype (BIPOLAR travels as BINARY bits with ActVal 0)."""
    t = np.broadcast_to(thresholds, (channels, thresholds.shape[1]))
    inits[f"{name}_T"] = t.astype(np.float32)
    wdt = range_name(t)
    return (node("Thresholding", name, [x, f"{name}_T"], [y], NumChannels=channels, PE=pe, numSteps=int(t.shape[1]),
                 inputDataType=in_dtype, weightDataType=wdt, outputDataType=finn_dtype(out_dtype),
                 ActVal=0 if out_dtype == "BIPOLAR" else int(out_bias), numInputVectors=[1, *vectors]),
            {f"{name}_T": wdt})
