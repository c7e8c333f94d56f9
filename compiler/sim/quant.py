"""Integer levels of a QONNX quantizer, in NumPy only: the host's input quantizer (docs/ir.md 'Host-side ops').

The same float32 operations, in the same order, as qonnx's `int_quant` up to (but not including) the final
multiplication by the scale, so `levels * scale` is bit for bit what QONNX execution returns. Written out
here because the board runtime must not import qonnx/onnx (no onnxruntime wheel on a Pynq's armv7);
tests/compiler/sim/test_quant_levels.py checks it against qonnx's own functions.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from diagnostics.errors import IRError


def min_int(signed, narrow, bitwidth):
    """Smallest integer level (qonnx.custom_op.general.intquant.min_int)."""
    if signed and narrow:
        return -(2 ** (bitwidth - 1)) + 1
    if signed:
        return -(2 ** (bitwidth - 1))
    return 0 * bitwidth


def max_int(signed, narrow, bitwidth):
    """Largest integer level (qonnx.custom_op.general.intquant.max_int)."""
    if not signed and not narrow:
        return (2**bitwidth) - 1
    if not signed:
        return (2**bitwidth) - 2
    return (2 ** (bitwidth - 1)) - 1


def level_range(signed, narrow, bitwidth) -> tuple[int, int]:
    """The levels a quantizer produces before its zero point is taken off: +-1 for a signed 1-bit one (int_levels'
    sign step), else [min_int, max_int]."""
    if int(bitwidth) == 1 and signed:
        return -1, 1
    return min_int(signed, narrow, bitwidth), max_int(signed, narrow, bitwidth)


ROUNDING_MODES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "ROUND": np.round, "HALF_EVEN": np.round, "CEIL": np.ceil, "FLOOR": np.floor, "DOWN": np.fix,
    "UP": lambda x: np.sign(x) * np.ceil(np.abs(x)),
    "HALF_UP": lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5),
    "HALF_DOWN": lambda x: np.sign(x) * np.ceil(np.abs(x) - 0.5),
}


def rounding(mode: str) -> Callable[[np.ndarray], np.ndarray]:
    try:
        return ROUNDING_MODES[mode.upper()]
    except KeyError:
        raise IRError(f"unknown rounding mode {mode!r}; known: {', '.join(ROUNDING_MODES)}") from None


def bipolar_levels(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    ones = np.ones(x.shape, dtype=x.dtype)
    return np.where(x >= 0.0, ones, -ones)


def int_levels(x: np.ndarray, scale, zeropt, bitwidth, signed: int, narrow: int, rounding_mode: str, *,
               overwrite: bool = False) -> np.ndarray:
    """Integer levels (a float array holding integers) exactly as qonnx computes them before re-scaling.

    `overwrite`: x is the caller's scratch array, the levels may be computed in it (no new pages to touch).
    """
    x = np.asarray(x, dtype=np.float32)
    # a new array (or the scratch x): the steps below write into it
    y = _into(np.divide, x, scale) if overwrite else np.asarray(x / scale)
    y = _into(np.add, y, zeropt)
    if int(np.asarray(bitwidth).item()) == 1 and signed:
        ones = np.ones(y.shape, dtype=y.dtype)
        y = np.where(y >= 0.0, ones, -ones)
    else:
        lo, hi = min_int(signed, narrow, bitwidth), max_int(signed, narrow, bitwidth)
        # np.where(y > hi, hi, y) then np.where(y < lo, lo, y), written into y with the same bits: NaN stays NaN,
        # and min/max only differ from where() in the sign of a zero equal to a zero bound (then a masked copy)
        _clip_into(y, np.asarray(hi).astype(y.dtype), np.greater, np.minimum)
        _clip_into(y, np.asarray(lo).astype(y.dtype), np.less, np.maximum)
        mode = rounding_mode.upper() if isinstance(rounding_mode, str) else rounding_mode
        if mode in ("ROUND", "HALF_EVEN") and y.ndim:
            np.rint(y, out=y)          # what np.round does at 0 decimals
        else:
            y = rounding(rounding_mode)(y)
    return _into(np.subtract, y, zeropt)


def _clip_into(y: np.ndarray, bound: np.ndarray, beyond: np.ufunc, toward: np.ufunc) -> None:
    """y[beyond(y, bound)] = bound, in place (`toward` is the one-pass min/max that does it for a nonzero bound)."""
    if bound != 0 and y.ndim:
        toward(y, bound, out=y)
    else:
        np.copyto(y, bound, where=beyond(y, bound))


def _into(ufunc: np.ufunc, y: np.ndarray, v) -> np.ndarray:
    """ufunc(y, v), written into y when that gives the same array (same type and shape), else a new one."""
    if y.ndim and np.result_type(y, v) == y.dtype and np.broadcast_shapes(y.shape, np.shape(v)) == y.shape:
        return ufunc(y, v, out=y)
    return ufunc(y, v)


def levels_of_op(op: dict[str, Any], x: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
    """A host 'quant' / 'bipolar_quant' op (QuantSpec.to_op form) applied to x: its integer levels
    (`overwrite`: x is scratch, see int_levels)."""
    if op["op"] == "bipolar_quant":
        return bipolar_levels(x)
    return int_levels(x, np.asarray(op["scale"], np.float32), np.asarray(op["zeropt"], np.float32),
                      np.asarray(op["bitwidth"], np.float32), int(op["signed"]), int(op["narrow"]),
                      str(op.get("rounding_mode", "ROUND")), overwrite=overwrite)
