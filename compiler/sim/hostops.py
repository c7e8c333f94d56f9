"""Host-side steps around the pipeline (docs/ir.md, 'Host-side ops'): `input.pre` and `output.post`.

Every op is the same float32 NumPy operation QONNX execution performs, in the same order, so the host
reproduces the model bit for bit; quantizers repeat qonnx's int_quant ops in NumPy (compiler.sim.quant), so
the board runtime needs neither qonnx nor onnx.
"""
from __future__ import annotations

import numpy as np

from compiler.ir.graph import InputSpec, IRError, OutputSpec
from compiler.sim.quant import level_range, levels_of_op


MOVES = ("reshape", "transpose", "gather")          # ops that only move values
ARITHMETIC = {"mul": np.multiply, "add": np.add, "sub": np.subtract, "div": np.divide}


def _apply(op: dict, x: np.ndarray, narrow: bool = False, owned: bool = False) -> np.ndarray:
    """One host op on x. `narrow`: int8 levels where they fit; `owned`: x is run_pre's own scratch array (not the
    caller's), so an elementwise op may write its result into it when that is the same array of the same type:
    no new pages to touch for every op of every batch."""
    kind = op["op"]
    n = x.shape[0]
    if kind in ARITHMETIC:
        v = np.asarray(op["value"], np.float32)
        a, b = (v, x) if op.get("reverse") else (x, v)
        ufunc = ARITHMETIC[kind]
        if owned and x.dtype == np.float32 and np.result_type(a, b) == np.float32 and \
                np.broadcast_shapes(x.shape, v.shape) == x.shape:
            return ufunc(a, b, out=x)
        return ufunc(a, b).astype(np.float32, copy=False)
    if kind == "relu":
        return np.maximum(x, np.float32(0)).astype(np.float32, copy=False)
    if kind == "reshape":
        return x.reshape((n, *op["shape"]))
    if kind == "transpose":
        return x.transpose(0, *[p + 1 for p in op["perm"]])
    if kind == "gather":
        return x[:, np.asarray(op["index"])]
    if kind == "bipolar_quant" and narrow:
        levels = (np.asarray(x, np.float32) >= 0).view(np.int8)   # bipolar_levels' +-1 (NaN -> -1), made in int8
        np.add(levels, levels, out=levels)
        return np.subtract(levels, np.int8(1), out=levels)
    if kind in ("quant", "bipolar_quant"):
        levels = levels_of_op(op, x, overwrite=owned)
        return levels.astype(np.int8 if narrow and _int8_levels(op, levels) else np.int64)
    raise IRError(f"unknown host op {kind!r}")


def _int8_levels(op: dict, levels: np.ndarray) -> bool:
    """The quantizer's levels all fit int8 (its range, known from the op) and none is NaN (which int64 keeps
    visible as an invalid value for the layer's input check)."""
    if op["op"] == "bipolar_quant":
        return True
    zp = np.asarray(op["zeropt"], np.float64)
    lo, hi = level_range(int(op["signed"]), int(op["narrow"]), int(np.asarray(op["bitwidth"]).item()))
    # min() is NaN when any level is NaN (one reduction pass, no mask array)
    return -128 <= lo - zp.max() and hi - zp.min() <= 127 and not (levels.size and np.isnan(levels.min()))


def run_pre(spec: InputSpec, x: np.ndarray, *, narrow: bool = False) -> np.ndarray:
    """User float input batch (N, *spec.shape) -> integer batch entering layer 0: int64 values, or with `narrow`
    int8 when the input quantizer's levels fit (the same values; the simulator's kernels read int8 fastest)."""
    x = np.asarray(x)
    if tuple(x.shape[1:]) != tuple(spec.shape):
        if tuple(x.shape) == tuple(spec.shape):
            raise IRError(f"input has shape {x.shape}: add a batch dimension, expected (N, {', '.join(map(str, spec.shape))})")
        raise IRError(f"input has per-frame shape {tuple(x.shape[1:])}, expected {tuple(spec.shape)}")
    y = x.astype(np.float32, copy=False)
    owned = y is not x                      # a converted copy is ours to write into; the caller's x is not
    for i, op in enumerate(spec.pre):
        # int8 levels only when no later op computes on them (arithmetic would see other types than int64)
        last = all(later["op"] in MOVES for later in spec.pre[i + 1 :])
        y = _apply(op, y, narrow and last, owned)
        owned = owned or op["op"] not in ("reshape", "transpose")      # every other op returns a new array
    if not np.issubdtype(y.dtype, np.integer):
        raise IRError("input.pre does not end in a quantizer, so it does not produce integers")
    return y


def run_post(spec: OutputSpec, y: np.ndarray) -> np.ndarray:
    """Last layer's integer batch -> what the QONNX model returns (float32), or the ints when `post` is empty."""
    y = np.asarray(y)
    if not spec.post:
        return y
    out = y.astype(np.float32)
    for op in spec.post:
        out = _apply(op, out)
    return out.reshape((out.shape[0], *spec.shape)).astype(np.float32)
