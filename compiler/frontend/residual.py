"""Lowering a residual block: a quantized tensor read by two branches that meet again at an Add.

The branching tensor becomes a DuplicateStreams layer; each branch is lowered as usual (it may branch again);
the Add of the two branch tensors plus its float ops and activation quantizer becomes an AddStreams layer
(docs/ir.md "Streams"). With a power-of-two ratio between the branch scales s0, s1 and s = min(s0, s1), QONNX's
float32 sum x0*s0 + x1*s1 equals ((x0 << k0) + (x1 << k1)) * s exactly while it stays below 2^24 units, so the
float ops and quantizer after the Add become thresholds on that integer sum (compiler.frontend.thresholds).
"""
from __future__ import annotations

import math

import numpy as np

from compiler.errors import CompileError
from compiler.frontend.quantizers import const_value, range_dtype, read_quant
from compiler.frontend.thresholds import chain_to_quantizer, level_function, search_thresholds
from compiler.ir import Layer, dtype

CHAIN_OPS = ("Mul", "Add", "Sub", "Div", "BatchNormalization", "Relu")


def is_residual_add(lw, node) -> bool:
    """An Add whose two inputs are both computed tensors (not a constant bias)."""
    return len(node.input) == 2 and all(const_value(lw.model, t) is None for t in node.input)


def lower_branches(lw, st, consumers) -> object:
    """DuplicateStreams for `st`, both branches, and the AddStreams where they meet; returns the State after it."""
    from compiler.frontend.lower import walk

    shape = st.ir_shape
    c = shape[-1]
    dup_name = f"{st.tensor}_dup".replace(" ", "_")
    dup = Layer(dup_name, "DuplicateStreams", shape, shape, st.dtype, st.dtype,
                attrs={"num_channels": c, "num_vectors": math.prod(shape) // c},
                outputs=[f"{dup_name}:0", f"{dup_name}:1"])
    lw.add(dup)
    ends, adds = [], []
    for b, node in enumerate(consumers):
        lw.cur = dup.outputs[b]
        if node.op_type == "Add" and is_residual_add(lw, node):       # the skip connection itself
            ends.append((st, lw.cur))
            adds.append(node)
            continue
        bst, add, out = walk(lw, _copy(st), first=node)
        if add is None:
            raise CompileError.at(node, f"the branches from tensor {st.tensor!r} do not meet again at an Add",
                                  hint="only residual blocks (two branches summed by one Add) are supported")
        ends.append((bst, lw.cur))
        adds.append(add)
    if adds[0] is not adds[1] and adds[0].name != adds[1].name:
        raise CompileError.at(adds[1], f"the branches from tensor {st.tensor!r} end at different Adds "
                              f"({adds[0].name!r}, {adds[1].name!r})")
    return _lower_add(lw, adds[0], ends)


def _copy(st):
    from dataclasses import replace

    return replace(st)


def _lower_add(lw, add, ends):
    from compiler.frontend.lower import State

    by_tensor = {e[0].tensor: e for e in ends}
    try:
        (s0, in0), (s1, in1) = (by_tensor[t] for t in add.input)
    except KeyError:
        raise CompileError.at(add, f"inputs {list(add.input)} are not the ends of the two branches "
                              f"{sorted(by_tensor)}") from None
    if s0.ir_shape != s1.ir_shape or (s0.perm is None) != (s1.perm is None) or \
            (s0.perm is not None and not np.array_equal(s0.perm, s1.perm)):
        raise CompileError.at(add, f"adds tensors of shapes {s0.qshape} and {s1.qshape}; only equal shapes "
                              "(no broadcasting) are supported")
    scales = [s0.scale, s1.scale]
    s = min(scales)
    k = [math.log2(v / s) for v in scales]
    if min(scales) <= 0 or any(abs(v - round(v)) > 0 or v > 16 for v in k):
        raise CompileError.at(add, f"the two branch scales {scales} do not differ by a power of two (at most "
                              "2^16), so their sum is not an integer multiple of one scale",
                              hint="quantize both branches with the same (power-of-two) scale")
    k = [int(round(v)) for v in k]
    steps, act, t = chain_to_quantizer(
        lw, add, CHAIN_OPS, "a residual Add must be followed by an activation quantizer",
        "quantize the block's output (e.g. a QuantReLU / QuantIdentity after the add)")
    q = read_quant(lw.model, act)
    s_out = q.scalar_scale()
    if s_out is None:
        raise CompileError.at(act, "activation quantizer with a per-channel scale is not supported")
    d0, d1 = dtype(s0.dtype), dtype(s1.dtype)
    a0 = (int(d0.min()) << k[0]) + (int(d1.min()) << k[1])
    a1 = (int(d0.max()) << k[0]) + (int(d1.max()) << k[1])
    if max(abs(a0), abs(a1)) >= 2**24:
        lw.notes.append(f"{add.name}: the residual sum reaches 2^24 units, beyond float32's exact integers")
    m, _ = np.frexp(abs(s))
    if m != 0.5:
        lw.notes.append(f"{add.name}: branch scale {s} is not a power of two, so QONNX's float32 Add may round")
    shape = s0.ir_shape
    c = shape[-1]
    lo, hi = q.level_range()
    if q.is_bipolar:
        lo, hi = 0, 1
    f = level_function(lw.model, steps, np.full(c, s), s0.nd, q)
    thr, dec = search_thresholds(f, a0, a1, lo, hi, c, act)
    if dec.any():
        raise CompileError.at(act, f"channels {np.flatnonzero(dec)[:8].tolist()} decrease with the sum")
    acc = range_dtype(min(a0, 0), max(a1, 0))
    lay = Layer(f"{add.name}_add", "AddStreams", shape, shape, s0.dtype, q.dtype(),
                attrs={"num_channels": c, "num_vectors": math.prod(shape) // c, "in1_dtype": s1.dtype, "shift": k,
                       "acc_dtype": acc, "out_bias": 0 if q.is_bipolar else lo, "noact": False},
                arrays={"thresholds": thr}, inputs=[in0, in1])
    lw.add(lay)
    new = State(t, s0.qshape, q.dtype(), s_out, s0.perm)
    lw.record(lay, new)
    return new
