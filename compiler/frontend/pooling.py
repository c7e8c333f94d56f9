"""Lowering average pools (AveragePool, GlobalAveragePool, ReduceMean over H and W, Brevitas TruncAvgPool2d =
AveragePool + Trunc) followed by an activation quantizer to one AvgPool layer (docs/ir.md).

The pool's output is (window sum) x scale / window size, then the float ops and the quantizer: a monotone
function of the integer window sum S, so it becomes thresholds on S found by compiler.frontend.thresholds'
search. QONNX's value for a given S is computed by running the model's own pool node (with onnxruntime, as
QONNX execution does) on a window holding S x scale in one element and zeros elsewhere: with a power-of-two
input scale every partial sum of the real window is exact in float32, so the pool sees the same float sum
either way and divides it the same way.
"""
from __future__ import annotations

import numpy as np

from diagnostics.errors import CompileError
from compiler.frontend.state import State, image_shape, window_attrs
from compiler.frontend.quantizers import QUANT_OPS, const_value, range_dtype, read_quant
from compiler.frontend.thresholds import MAX_EVAL_ELEMS, Chain, chain_to_quantizer, search_thresholds
from compiler.ir.graph import Layer, dtype

POOL_OPS = ("AveragePool", "GlobalAveragePool", "ReduceMean")
CHAIN_OPS = ("Mul", "Add", "Sub", "Div", "BatchNormalization", "Relu", "Trunc")


def pool_window(lw, node, st) -> tuple[list[int], list[int], list[int], bool]:
    """(kernel, stride, pad [top, left, bottom, right], keepdims) of a pool node on the (C, H, W) tensor st;
    CompileError if not expressible."""
    from onnx import helper

    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
    _, h, w = st.img
    nd = st.nd
    if node.op_type == "GlobalAveragePool":
        return [h, w], [h, w], [0, 0, 0, 0], True
    if node.op_type == "ReduceMean":
        axes = a.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            v = const_value(lw.model, node.input[1])
            axes = None if v is None else np.asarray(v).reshape(-1).tolist()
        spatial = set(range(2, nd + 2))
        got = None if axes is None else {int(x) % (nd + 2) for x in axes}
        # every spatial axis of size > 1 is reduced (an axis of size 1 may be reduced or not: same mean)
        if got is None or not got <= spatial or any(st.qshape[ax - 1] > 1 for ax in spatial - got):
            raise CompileError.at(node, f"ReduceMean over axes {axes} is not supported; only over the spatial axes "
                                  f"{tuple(sorted(spatial))}")
        return [h, w], [h, w], [0, 0, 0, 0], bool(a.get("keepdims", 1))
    auto_pad = a.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if len(a.get("kernel_shape", [])) != nd or a.get("ceil_mode", 0) \
            or any(d != 1 for d in a.get("dilations", [1])) or auto_pad not in ("NOTSET", "VALID"):
        raise CompileError.at(node, f"only {nd}-D AveragePool without dilation, ceil_mode or auto_pad "
                              f"(got auto_pad {auto_pad!r}) is supported", hint="give explicit pads")
    k, s, pad, _ = window_attrs(node, a, nd)
    pads = [int(v) for v in a.get("pads", [0] * 2 * nd)]
    if auto_pad != "NOTSET":
        pad = [0, 0, 0, 0]
    if any(pad) and not a.get("count_include_pad", 0):
        raise CompileError.at(node, f"AveragePool with pads {pads} and count_include_pad=0 divides border windows "
                              "by their number of real pixels, a different divisor per position, which the "
                              "AvgPool layer's one threshold set per channel cannot express",
                              hint="count the padding (PyTorch's default count_include_pad=True), or drop the "
                                   "padding")
    if max(pad[0], pad[2]) >= k[0] or max(pad[1], pad[3]) >= k[1]:
        raise CompileError.at(node, f"AveragePool pads {pads} must be smaller than the kernel {k}")
    return k, s, pad, True


def lower_avgpool(lw, node, st):
    """AvgPool layer for `node` and the float ops up to its activation quantizer; returns the new State."""

    if not st.spatial:
        raise CompileError.at(node, f"{node.op_type} on a flat tensor is not supported")
    c, h, w = st.img
    k, s, pad, keep = pool_window(lw, node, st)
    ofm = [(h + pad[0] + pad[2] - k[0]) // s[0] + 1, (w + pad[1] + pad[3] - k[1]) // s[1] + 1]
    steps, act, t = chain_to_quantizer(
        lw, node, CHAIN_OPS, f"{node.op_type} reaches the graph output without an activation quantizer",
        "quantize the pool's output (e.g. a QuantIdentity after it)",
        # TruncAvgPool2d without a requantizer: Trunc is the quantizer
        ends=lambda n: n.op_type == "Trunc" and not _feeds_quantizer(lw, n.output[0]),
        reshapes=("Squeeze", "Unsqueeze"))
    q = TruncSpec.read(lw.model, act) if act.op_type == "Trunc" else read_quant(lw.model, act)
    s_out = q.scalar_scale()
    if s_out is None:
        raise CompileError.at(act, "activation quantizer with a per-channel scale is not supported",
                              hint="use a per-tensor activation quantizer")
    m, _ = np.frexp(abs(st.scale))
    if m != 0.5:
        lw.notes.append(f"{node.name}: the pool's input scale {st.scale} is not a power of two, so QONNX's float32 "
                        "window sum may round where the integer sum does not")
    xd = dtype(st.dtype)
    n = k[0] * k[1]
    a0, a1 = n * min(int(xd.min()), 0), n * max(int(xd.max()), 0)     # padded windows hold zeros
    lo, hi = q.level_range()
    if q.is_bipolar:
        lo, hi = 0, 1
    f = _level_function(lw, node, steps, k if st.nd == 2 else k[1:], c, st.scale, q, st.nd)
    thr, dec = search_thresholds(f, a0, a1, lo, hi, c, act)
    if dec.any():
        raise CompileError.at(act, f"channels {np.flatnonzero(dec)[:8].tolist()} decrease with the pooled value; "
                              "an average pool must be followed by increasing float ops")
    acc = range_dtype(min(a0, 0), max(a1, 0))
    lay = Layer(f"{node.name}_avgpool", "AvgPool", (h, w, c), (ofm[0], ofm[1], c), st.dtype, q.dtype(),
                attrs={"ifm_dim": [h, w], "channels": c, "kernel": k, "stride": s, "pad": pad, "ofm_dim": ofm,
                       "acc_dtype": acc, "out_bias": 0 if q.is_bipolar else lo, "noact": False},
                arrays={"thresholds": thr})
    lw.add(lay)
    qshape = ((c, ofm[0], ofm[1]) if st.nd == 2 else (c, ofm[1])) if keep else (c,)
    got = tuple(lw.shape(t))
    if got != qshape and len(got) in (2, 3) and image_shape(got) == (c, *ofm):
        qshape = got                    # the pool's unit axes squeezed / unsqueezed before the quantizer
    elif got != qshape and got == (c,) and ofm == [1, 1]:
        qshape = got
    new = State(t, qshape, q.dtype(), s_out)
    if tuple(lw.shape(t)) != qshape:
        raise CompileError.at(node, f"output shape {lw.shape(t)} differs from the pool's {qshape}")
    lw.record(lay, new)
    return new


def _level_function(lw, node, steps, k, c, scale, quant, nd: int = 2):
    """S (N, C) int64 -> the quantizer's levels (N, C), as QONNX computes them (see the module docstring); `k` is
    the node's own window ([KH, KW], or [K] for a 1-D pool)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    inits, ins = [], ["x"]
    for j, name in enumerate(node.input[1:], start=1):
        if name:
            inits.append(numpy_helper.from_array(np.asarray(const_value(lw.model, name)), f"p{j}"))
        ins.append(f"p{j}" if name else "")
    pn = helper.make_node(node.op_type, ins, ["y"], name=node.name)
    # the node's own attributes on one unpadded window: with count_include_pad=1 (pool_window refuses 0 with
    # padding) every window, padded or not, divides by KH*KW, as the unpadded window does
    pn.attribute.extend(x for x in node.attribute if x.name != "pads")
    g = helper.make_graph([pn], "pool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, c, *k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    opset = [o for o in lw.model.model.opset_import if o.domain in ("", "ai.onnx")]
    sess = ort.InferenceSession(helper.make_model(g, opset_imports=opset).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    chain = Chain(lw.model, steps, c, nd)
    rows_max = max(1, MAX_EVAL_ELEMS // (c * int(np.prod(k))))

    def f(acc: np.ndarray) -> np.ndarray:
        acc = np.asarray(acc, np.int64)
        out = []
        for r in range(0, len(acc), rows_max):
            part = acc[r : r + rows_max]
            x = np.zeros((len(part), c, *k), np.float32)
            x[(slice(None), slice(None)) + (0,) * len(k)] = (part.astype(np.float64) * scale).astype(np.float32)
            y = np.asarray(sess.run(["y"], {"x": x})[0], np.float32).reshape(len(part), c)
            lv = quant.levels(chain(y))
            out.append(((lv + 1) / 2 if quant.is_bipolar else lv).astype(np.int64))
        return np.concatenate(out)

    return f


def _feeds_quantizer(lw, t: str) -> bool:
    """Whether tensor t reaches a quantizer through float chain ops only."""
    while True:
        nxt = lw.consumer(t)
        if nxt is None:
            return False
        if nxt.op_type in QUANT_OPS:
            return True
        if nxt.op_type not in CHAIN_OPS + ("Identity",):
            return False
        t = nxt.output[0]


class TruncSpec:
    """A qonnx Trunc node used as a quantizer (Brevitas TruncAvgPool2d): integer levels = output / output_scale,
    computed with qonnx's own trunc function so the levels are QONNX's."""

    is_bipolar = False

    def __init__(self, node, scale, zeropt, in_bits, out_scale, out_bits, signed, narrow, rounding):
        self.node, self.scale, self.zeropt, self.in_bits = node, scale, zeropt, in_bits
        self.out_scale, self.out_bits, self.signed, self.narrow, self.rounding = (out_scale, out_bits, signed,
                                                                                  narrow, rounding)

    @classmethod
    def read(cls, model, node) -> "TruncSpec":
        from onnx import helper

        vals = [const_value(model, t) for t in node.input[1:6]]
        if len(node.input) < 6 or any(v is None for v in vals):
            raise CompileError.at(node, "Trunc needs constant scale, zero point, bit widths and output scale "
                                  "(qonnx Trunc v2)")
        a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
        scale, zeropt, in_bits, out_scale, out_bits = (np.asarray(v, np.float32) for v in vals)
        if np.any(zeropt != 0) or out_scale.size != 1:
            raise CompileError.at(node, "only a per-tensor Trunc with zero point 0 is supported")
        rounding = a.get("rounding_mode", b"FLOOR")
        return cls(node, scale, zeropt, in_bits, out_scale, out_bits, int(a.get("signed", 1)),
                   int(a.get("narrow", 0)), rounding.decode() if isinstance(rounding, bytes) else rounding)

    def levels(self, x: np.ndarray) -> np.ndarray:
        from qonnx.custom_op.general.trunc import trunc_v2

        y = trunc_v2(np.asarray(x, np.float32), self.scale, self.zeropt, self.in_bits, self.narrow, self.signed,
                     self.out_scale, self.out_bits, self.rounding)
        return np.round(np.asarray(y, np.float64) / float(self.out_scale.reshape(-1)[0]))

    def level_range(self) -> tuple[int, int]:
        from qonnx.custom_op.general.quant import max_int, min_int

        b = int(self.out_bits.reshape(-1)[0])
        return int(min_int(self.signed, self.narrow, b)), int(max_int(self.signed, self.narrow, b))

    def dtype(self) -> str:
        return range_dtype(*self.level_range())

    def scalar_scale(self) -> float:
        return float(self.out_scale.reshape(-1)[0])
