"""Reading QONNX quantizer nodes (Quant / IntQuant / BipolarQuant) and constant tensors.

`QuantSpec.levels` reproduces qonnx's own int_quant float32 ops up to (but not including) the final
multiplication by the scale, so `levels(x) * scale` is bit for bit what QONNX execution returns.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from qonnx.custom_op.general.intquant import max_int, min_int

from compiler.ir.datatypes import range_dtype  # noqa: F401  (defined there; imported from here by callers)
from diagnostics.errors import CompileError
from compiler.sim.quant import bipolar_levels, int_levels

QUANT_OPS = ("Quant", "IntQuant", "BipolarQuant")
MAX_BITS = 8
CONST_MAX_BITS = 32      # quantizers applied to constants (biases) are evaluated at compile time


@dataclass
class QuantSpec:
    """One quantizer: integer levels, datatype and the float scale QONNX multiplies them by."""

    bipolar: bool
    scale: np.ndarray                 # float32, as stored in the graph (scalar or broadcastable)
    zeropt: np.ndarray | None = None
    bitwidth: np.ndarray | None = None
    signed: int = 1
    narrow: int = 0
    rounding_mode: str = "ROUND"

    def levels(self, x: np.ndarray) -> np.ndarray:
        """Integer levels (float array holding integers) exactly as qonnx computes them before scaling."""
        if self.bipolar:
            return bipolar_levels(x)
        return int_levels(x, self.scale, self.zeropt, self.bitwidth, self.signed, self.narrow, self.rounding_mode)

    @property
    def bits(self) -> int:
        return 1 if self.bipolar else int(np.asarray(self.bitwidth).item())

    @property
    def is_bipolar(self) -> bool:
        return self.bipolar or (self.bits == 1 and bool(self.signed))

    def level_range(self) -> tuple[int, int]:
        if self.is_bipolar:
            return -1, 1
        z = int(np.asarray(self.zeropt).item())
        return (int(min_int(self.signed, self.narrow, self.bits)) - z, int(max_int(self.signed, self.narrow, self.bits)) - z)

    def dtype(self) -> str:
        lo, hi = self.level_range()
        return "BIPOLAR" if self.is_bipolar else range_dtype(lo, hi)

    def scalar_scale(self) -> float | None:
        s = np.asarray(self.scale, dtype=np.float32)
        return float(s.reshape(-1)[0]) if s.size == 1 or np.all(s == s.reshape(-1)[0]) else None

    def to_op(self) -> dict[str, Any]:
        """Host-op form (see docs/ir.md, 'Host-side ops')."""
        if self.bipolar:
            return {"op": "bipolar_quant"}
        return {"op": "quant", "scale": np.asarray(self.scale, np.float32), "zeropt": np.asarray(self.zeropt, np.float32),
                "bitwidth": self.bits, "signed": int(self.signed), "narrow": int(self.narrow),
                "rounding_mode": self.rounding_mode}

    @classmethod
    def from_op(cls, op: dict[str, Any]) -> "QuantSpec":
        if op["op"] == "bipolar_quant":
            return cls(True, np.float32(1.0))
        return cls(False, np.asarray(op["scale"], np.float32), np.asarray(op["zeropt"], np.float32),
                   np.asarray(op["bitwidth"], np.float32), int(op["signed"]), int(op["narrow"]),
                   str(op.get("rounding_mode", "ROUND")))


def const_value(model, tensor: str) -> np.ndarray | None:
    """Value of a tensor that is an initializer or a quantizer applied to constants (e.g. quantized bias)."""
    init = model.get_initializer(tensor)
    if init is not None:
        return np.asarray(init)
    prod = model.find_producer(tensor)
    if prod is not None and prod.op_type in QUANT_OPS:
        q = read_quant(model, prod, max_bits=CONST_MAX_BITS)      # a constant's quantizer (e.g. an Int32 bias)
        x = const_value(model, prod.input[0])
        if x is not None and q is not None:
            return (q.levels(x) * q.scale).astype(np.float32)
    return None


def read_quant(model, node, max_bits: int = MAX_BITS) -> QuantSpec:
    """QuantSpec of a quantizer node whose parameters are constants (activations: at most MAX_BITS bits)."""
    from qonnx.custom_op.registry import getCustomOp

    params = [const_value(model, t) for t in node.input[1:]]
    if any(p is None for p in params):
        raise CompileError.at(node, "quantizer parameters (scale/zero point/bit width) are not constants",
                              hint="export with constant quantizer parameters (eval mode)")
    if node.op_type == "BipolarQuant":
        return QuantSpec(True, np.asarray(params[0], np.float32))
    scale, zeropt, bitwidth = (np.asarray(p, np.float32) for p in params)
    inst = getCustomOp(node)
    if bitwidth.size != 1 or float(bitwidth.item()) != int(bitwidth.item()):
        raise CompileError.at(node, f"bit width {bitwidth.ravel().tolist()} is not one integer")
    bits = int(bitwidth.item())
    if not 1 <= bits <= max_bits:
        raise CompileError.at(node, f"unsupported bit width {bits}", hint=f"bnnc supports 1..{max_bits}-bit quantizers")
    if zeropt.size != 1 or float(zeropt.item()) != round(float(zeropt.item())):
        raise CompileError.at(node, f"zero point {zeropt.ravel().tolist()[:4]} is not one integer",
                              hint="use a per-tensor integer zero point (symmetric quantizers have 0)")
    return QuantSpec(False, scale, zeropt, bitwidth, int(inst.get_nodeattr("signed")), int(inst.get_nodeattr("narrow")),
                     str(inst.get_nodeattr("rounding_mode")))


def quantized_weight(model, node, tensor: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Integer weights, their float32 scale (broadcastable to the weight) and datatype, for a MatMul/Gemm/Conv."""
    prod = model.find_producer(tensor)
    if prod is None or prod.op_type not in QUANT_OPS:
        raise CompileError.at(node, "weights are not quantized (no Quant/BipolarQuant on the weight tensor)",
                              hint="use brevitas QuantLinear/QuantConv2d with a weight quantizer")
    q = read_quant(model, prod)
    w = const_value(model, prod.input[0])
    if w is None:
        raise CompileError.at(prod, "weight quantizer input is not a constant")
    lv = q.levels(w)
    wi = lv.astype(np.int64)
    assert np.array_equal(wi, lv)
    return wi, np.broadcast_to(np.asarray(q.scale, np.float32), w.shape).astype(np.float32), q.dtype()
