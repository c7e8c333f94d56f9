"""Exhaustive thresholds: run the float ops between an accumulator and its quantizer on every possible
accumulator value, and read the integer step positions off the result.

Because the float ops are executed with qonnx's executor (the same ONNX kernels QONNX execution uses) and the
quantizer with qonnx's own float32 ops, the thresholds reproduce QONNX execution by construction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from compiler.errors import CompileError

MAX_EVAL_ELEMS = 1 << 22      # rows x channels evaluated per executor call
MAX_ACC_VALUES = 1 << 22       # exhaustive evaluation refuses wider accumulator ranges


@dataclass
class Step:
    """One float op of the chain: an ONNX node (its data input named `data`) or a bias add."""

    node: object | None = None
    data: str | None = None
    bias: np.ndarray | None = None


def eval_chain(model, steps: list[Step], acc_float: np.ndarray, spatial: bool) -> np.ndarray:
    """Run the chain on acc_float (Na, MH) (as (Na, MH, 1, 1) for conv layers); returns float32 (Na, MH)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    from compiler.frontend.quantizers import const_value

    if not steps:
        return acc_float.astype(np.float32)
    na, mh = acc_float.shape
    nodes, inits, cur = [], {}, "acc"
    for i, st in enumerate(steps):
        out = f"t{i}"
        if st.bias is not None:
            b = np.asarray(st.bias, np.float32).reshape((1, mh, 1, 1) if spatial else (1, mh))
            inits[f"b{i}"] = b
            nodes.append(helper.make_node("Add", [cur, f"b{i}"], [out], name=f"bias{i}"))
        else:
            n = st.node
            ins = []
            for j, t in enumerate(n.input):
                if t == st.data:
                    ins.append(cur)
                elif t == "":
                    ins.append("")
                else:
                    v = const_value(model, t)
                    if v is None:
                        raise CompileError.at(n, f"input {t!r} is not a constant", hint="only constant scale/bias/"
                                              "BatchNorm parameters can be folded into thresholds")
                    inits[f"c{i}_{j}"] = np.asarray(v)
                    ins.append(f"c{i}_{j}")
            node = helper.make_node(n.op_type, ins, [out], name=n.name)
            node.attribute.extend(n.attribute)
            nodes.append(node)
        cur = out
    shape = [None, mh, 1, 1] if spatial else [None, mh]
    results = []
    rows = max(1, MAX_EVAL_ELEMS // mh)
    for s in range(0, na, rows):
        chunk = acc_float[s : s + rows]
        shp = [len(chunk)] + shape[1:]
        g = helper.make_graph(
            nodes, "chain", [helper.make_tensor_value_info("acc", TensorProto.FLOAT, shp)],
            [helper.make_tensor_value_info(cur, TensorProto.FLOAT, None)],
            [numpy_helper.from_array(v, k) for k, v in inits.items()],
        )
        m = ModelWrapper(helper.make_model(g, opset_imports=list(model.model.opset_import)))
        m = m.transform(InferShapes())
        x = chunk.reshape(shp).astype(np.float32)
        try:
            y = execute_onnx(m, {"acc": x})[cur]
        except Exception as e:
            raise CompileError(f"evaluating the float ops {[st.node.name for st in steps if st.node is not None]} "
                               f"on the accumulator range failed: {e}") from None
        results.append(np.asarray(y, np.float32).reshape(len(chunk), mh))
    return np.concatenate(results)


def thresholds_from_levels(levels: np.ndarray, a0: int, lo: int, hi: int, where) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds (MH, hi-lo) and a per-channel 'negate' flag from levels (Na, MH) on accumulators a0, a0+1, ...

    Non-decreasing channels get thresholds on acc; non-increasing ones on -acc (the caller negates the
    weight row). A channel that is neither raises a CompileError naming `where`.
    """
    g = np.asarray(levels).astype(np.int64)
    na, mh = g.shape
    d = np.diff(g, axis=0)
    inc = np.all(d >= 0, axis=0)
    dec = np.all(d <= 0, axis=0) & ~inc
    bad = np.flatnonzero(~inc & ~dec)
    if bad.size:
        raise CompileError.at(where, f"output channel(s) {bad[:8].tolist()} are not monotone in the accumulator, "
                              "so they cannot be expressed as thresholds",
                              hint="only monotone float ops (scales, biases, BatchNorm, ReLU) may sit between a "
                                   "MatMul/Conv and its activation quantizer")
    gn = np.where(dec[None, :], g[::-1], g)   # levels on the ascending accumulator (negated for dec)
    start = np.where(dec, -(a0 + na - 1), a0)
    targets = np.arange(lo + 1, hi + 1)
    # first accumulator index reaching each level (na when never reached -> threshold one past the range)
    idx = np.stack([np.searchsorted(gn[:, h], targets, side="left") for h in range(mh)])
    return (start[:, None] + idx).astype(np.int64), dec
