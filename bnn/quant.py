"""Quantizer choices for bnnc models.

Every scale is 1.0 (binary) or a power of two (k-bit), so the float arithmetic of the Brevitas module and of
QONNX execution is exact on the integer grid; that is what lets the compiler promise bit-exact hardware.
Bit widths are parameters: `None` means float.
"""
from __future__ import annotations

from brevitas.quant import (
    Int8ActPerTensorFixedPoint,
    Int8WeightPerTensorFixedPoint,
    SignedBinaryActPerTensorConst,
    SignedBinaryWeightPerTensorConst,
    Uint8ActPerTensorFixedPoint,
)

MAX_BITS = 8


class BinaryWeight(SignedBinaryWeightPerTensorConst):
    """Weights in {-1, +1}; latent weights clipped to [-1, 1] (the BNN recipe), sign with a straight-through gradient."""

    scaling_const = 1.0


class BinaryAct(SignedBinaryActPerTensorConst):
    """Activations in {-1, +1}: sign forward, hard-tanh straight-through estimator backward."""


def _check_bits(bits: int | None, what: str) -> None:
    if bits is not None and (not isinstance(bits, int) or not 1 <= bits <= MAX_BITS):
        raise ValueError(f"{what} bit width must be 1..{MAX_BITS} or None (float), got {bits!r}")


def weight_quant(bits: int | None):
    """Brevitas weight quantizer for `bits` (1: binary, k>=2: signed narrow-range k-bit, power-of-two scale)."""
    _check_bits(bits, "weight")
    if bits is None:
        return None
    if bits == 1:
        return BinaryWeight
    return Int8WeightPerTensorFixedPoint.let(bit_width=bits)


def act_quant(bits: int | None):
    """Brevitas activation quantizer for `bits` (1: bipolar sign, k>=2: signed k-bit, learned power-of-two scale)."""
    _check_bits(bits, "activation")
    if bits is None:
        return None
    if bits == 1:
        return BinaryAct
    return Int8ActPerTensorFixedPoint.let(bit_width=bits)


def relu_act_quant(bits: int | None):
    """Brevitas quantizer for a QuantReLU (k>=2: unsigned k-bit, learned power-of-two scale). A signed quantizer
    after BatchNorm is nearly linear at 4 bits; a network ending in a global average pool needs the rectifier
    (a linear conv stack averaged over the image sees little more than its mean intensity)."""
    _check_bits(bits, "activation")
    if bits is None or bits == 1:
        raise ValueError(f"relu_act_quant needs 2..{MAX_BITS} bits, got {bits!r} (use act_quant for 1 bit / float)")
    return Uint8ActPerTensorFixedPoint.let(bit_width=bits)


def parse_bits(spec: str) -> tuple[int | None, int | None]:
    """'w1a1' -> (1, 1); 'w2a2' -> (2, 2); 'float' -> (None, None)."""
    s = spec.strip().lower()
    if s in ("float", "fp32", "none"):
        return None, None
    import re

    m = re.fullmatch(r"w(\d+)a(\d+)", s)
    if not m:
        raise ValueError(f"bits spec {spec!r}: expected like 'w1a1', 'w1a2', 'w2a2' or 'float'")
    w, a = int(m.group(1)), int(m.group(2))
    _check_bits(w, "weight"), _check_bits(a, "activation")
    return w, a
