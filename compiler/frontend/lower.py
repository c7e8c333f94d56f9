"""Lowering a cleaned QONNX ModelWrapper to the dataflow IR (docs/ir.md).

The graph is walked from its input: the float ops up to the first quantizer become the host-side `input.pre`;
every MatMul/Gemm/Conv plus the float ops up to the next activation quantizer becomes ONE MVTU whose
thresholds come from a per-channel search of the accumulator range (compiler.frontend.thresholds); a last layer
without a quantizer
becomes a `noact` MVTU whose remaining float ops go to `output.post`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from diagnostics.errors import CompileError
from compiler.frontend.pooling import POOL_OPS, lower_avgpool
from compiler.frontend.residual import is_join, lower_branches
from compiler.frontend.state import State, image_shape, window_attrs  # noqa: F401  (window_attrs: used below)
from compiler.frontend.quantizers import QUANT_OPS, const_value, quantized_weight, range_dtype, read_quant
from compiler.frontend.thresholds import Step, level_function, search_thresholds
from compiler.ir.graph import INPUT_STREAM, DataflowGraph, InputSpec, Layer, OutputSpec, dtype

ELEMENTWISE = ("Mul", "Add", "Sub", "Div")
U32 = 2.0 ** -24        # float32 unit roundoff
BN_SLACK = 8            # BatchNorm evaluated by another formula differs by at most this many u (docs/ir.md)


@dataclass
class Lowering:
    model: object
    name: str
    raw_input: dict | None = None        # {"bits", "mean", "std"}: the model takes normalized B-bit pixels
    layers: list[Layer] = field(default_factory=list)
    qmap: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    scores: list[dict] | None = None     # LabelSelect: the float ops on the class scores (JSON scalars)

    def shape(self, t: str) -> tuple[int, ...]:
        s = self.model.get_tensor_shape(t)
        if s is None:
            raise CompileError(f"tensor {t!r} has no inferred shape")
        return tuple(int(v) for v in s[1:])

    cur: str = INPUT_STREAM              # the stream the next layer reads (docs/ir.md "Streams")

    def add(self, layer: Layer) -> None:
        """Append a layer reading the current stream; its output becomes the current stream."""
        if not layer.inputs:
            layer.inputs = [self.cur]
        if not layer.outputs:
            layer.outputs = [layer.name]
        self.layers.append(layer)
        self.cur = layer.outputs[0]

    def consumers(self, t: str) -> list:
        return list(self.model.find_consumers(t) or [])

    def consumer(self, t: str):
        cs = self.consumers(t)
        if len(cs) > 1:
            raise CompileError.at(cs[1], f"tensor {t!r} feeds {len(cs)} nodes here; a tensor may branch only "
                                  "after an activation quantizer, into two paths that meet at an Add or a Concat")
        return cs[0] if cs else None

    def record(self, layer: Layer, st: State) -> None:
        self.qmap[layer.name] = {"tensor": st.tensor, "scale": st.scale, "spatial": st.spatial,
                                 "perm": None if st.perm is None else st.perm.tolist()}


def lower(model, name: str = "model", topk: int | None = None, raw_input: dict | None = None) -> DataflowGraph:
    """Lower a cleaned QONNX model (compiler.frontend.load_model) to a validated DataflowGraph.

    `raw_input` ({"bits": B, "mean": [...], "std": [...]}, `bnnc compile --input-bits`) declares that the model's
    float input is B-bit pixels p normalized as (p / (2^B - 1) - mean) / std: a first MatMul/Gemm/Conv on that float
    input (no input quantizer) then computes on the integer pixels, the normalization and the graph's own float ops
    before it folded into its thresholds (compiler.frontend.raw_input)."""
    lw = Lowering(model, name, raw_input=raw_input)
    inp, st = _lower_input(lw)
    _, add, out = walk(lw, st)
    if add is not None:
        raise CompileError.at(add, f"an {add.op_type} of two computed tensors outside a branch (the tensors must "
                              "come from one quantized tensor that branches)")
    if topk is not None:
        out = _label_select(lw, out, topk)
    meta = {"qonnx_map": lw.qmap, "notes": lw.notes, "output_exact": not lw.notes, "model": _bnnc_metadata(lw.model)}
    if raw_input is not None:
        from compiler.frontend.raw_input import record

        record(meta, raw_input)
    if lw.scores is not None:
        meta["label_select_scores"] = lw.scores
    g = DataflowGraph(name, lw.layers, inp, out, meta=meta)
    g.validate()
    return g


def walk(lw: Lowering, st: State, first=None):
    """Lower from the quantized tensor `st` (starting at node `first` when given) to the graph output or to a
    residual Add of two computed tensors (whose caller lowers it). Returns (state, that Add node or None,
    OutputSpec or None)."""
    out = None
    while out is None:
        if first is not None:
            node, first = first, None
        else:
            cs = lw.consumers(st.tensor)
            if len(cs) >= 2 and all(c.op_type not in QUANT_OPS for c in cs):
                st = lower_branches(lw, st, cs, walk)
                continue
            node = lw.consumer(st.tensor)
        if node is None:
            out = _finish(lw, st)
        elif is_join(lw, node):
            return st, node, None
        elif node.op_type in ("Reshape", "Flatten"):
            st = _reshape(lw, node, st)
        elif node.op_type in ("Squeeze", "Unsqueeze"):
            st = _unit_axes(lw, node, st)
        elif node.op_type == "Identity" or (node.op_type == "Concat" and len(node.input) == 1):
            st.tensor = node.output[0]
        elif node.op_type == "MaxPool":
            st = _maxpool(lw, node, st, node.output[0])
        elif node.op_type in POOL_OPS:
            st = lower_avgpool(lw, node, st)
        elif node.op_type in ("MatMul", "Gemm", "Conv"):
            st, out = _linear(lw, node, st)
        else:
            raise CompileError.at(node, f"{node.op_type} on a quantized tensor cannot be lowered here",
                                  hint="expected MatMul/Gemm/Conv, MaxPool, an average pool, Reshape or a residual "
                                  "Add after an activation quantizer")
    return st, None, out


def _bnnc_metadata(model) -> dict:
    """bnnc.* metadata_props written by `bnnc export` (JSON values), e.g. the input preprocessing. qonnx keeps
    them on the graph; the model level is read too, for files written by other tools."""
    from compiler.frontend import metadata

    return metadata.read([*model.model.metadata_props, *model.model.graph.metadata_props])


# ---- input -----------------------------------------------------------------------------------------------
def _lower_input(lw: Lowering) -> tuple[InputSpec, State]:
    m = lw.model
    t = m.graph.input[0].name
    user_shape = lw.shape(t)
    pre: list[dict] = []
    while True:
        node = lw.consumer(t)
        if node is None:
            raise CompileError(f"graph input {m.graph.input[0].name!r} reaches the output without a quantizer")
        if node.op_type in ELEMENTWISE:
            pre.append(_elementwise_op(lw, node, t))
        elif node.op_type in ("Reshape", "Flatten"):
            pre.append({"op": "reshape", "shape": list(lw.shape(node.output[0]))})
        elif node.op_type == "Identity":
            pass
        elif lw.raw_input is not None and node.op_type in ("Conv", "MatMul", "Gemm"):
            from compiler.frontend.raw_input import raw_input_state

            return raw_input_state(lw, node, t, user_shape, pre)
        elif node.op_type in QUANT_OPS:
            q = read_quant(m, node)
            s = q.scalar_scale()
            if s is None:
                raise CompileError.at(node, "the input quantizer has a per-channel scale; bnnc needs one scale "
                                      "for the whole input", hint="use a per-tensor input quantizer")
            pre.append(q.to_op())
            st = State(node.output[0], lw.shape(node.output[0]), q.dtype(), s)
            break
        else:
            hint = ("the first layer's input must go through an input QuantIdentity first, or declare integer pixels "
                    "with --input-bits (plus --input-mean/--input-std)")
            if node.op_type in ("Conv", "MatMul", "Gemm"):
                raise CompileError.at(node, f"{node.op_type} on the float model input (before any input quantizer) is "
                                      "not supported without --input-bits", hint=hint)
            raise CompileError.at(node, f"{node.op_type} before the input quantizer is not supported", hint=hint)
        t = node.output[0]
    if len(st.qshape) not in (1, 2, 3):
        raise CompileError(f"input quantizer output has shape {st.qshape}; expected (C, H, W), (C, L) or (K,)")
    if st.nd == 1:
        pre.append({"op": "reshape", "shape": list(st.img)})
    if st.spatial:
        pre.append({"op": "transpose", "perm": [1, 2, 0]})
    return InputSpec(user_shape, st.dtype, pre), st


def _elementwise_op(lw: Lowering, node, data: str) -> dict:
    other = [t for t in node.input if t != data]
    if len(other) != 1 or (v := const_value(lw.model, other[0])) is None:
        raise CompileError.at(node, "needs one constant operand to be folded")
    op = {"Mul": "mul", "Add": "add", "Sub": "sub", "Div": "div"}[node.op_type]
    res = {"op": op, "value": np.asarray(v, np.float32)}
    if node.input[0] != data and op in ("sub", "div"):
        res["reverse"] = True
    return res


# ---- shape ops ---------------------------------------------------------------------------------------------
def _reshape(lw: Lowering, node, st: State) -> State:
    new = lw.shape(node.output[0])
    if len(new) != 1:
        raise CompileError.at(node, f"reshape to {new} is not supported; only flattening to (N, K)")
    perm = st.perm
    if st.spatial:
        c, h, w = st.img
        perm = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).ravel()
    return State(node.output[0], new, st.dtype, st.scale, perm)


def _unit_axes(lw: Lowering, node, st: State) -> State:
    """Squeeze / Unsqueeze of a spatial unit axis: a signal (C, L) <-> the image (C, 1, L) (torch's dynamo exporter
    wraps 1-D pools so), or a (C, 1, 1) map -> (C,). The IR stream order is the same, so no layer."""
    new = tuple(lw.shape(node.output[0]))
    same = (st.spatial and len(new) in (2, 3) and image_shape(new) == st.img) or \
           (st.spatial and st.img[1:] == (1, 1) and new == (st.img[0],))
    if not same:
        raise CompileError.at(node, f"{node.op_type} from {st.qshape} to {new} is not supported; only adding or "
                              "removing spatial axes of size 1")
    return State(node.output[0], new, st.dtype, st.scale, st.perm)


def _maxpool(lw: Lowering, node, st: State, out_tensor: str, scale: float | None = None) -> State:
    from onnx import helper

    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
    if not st.spatial:
        raise CompileError.at(node, "MaxPool on a flat tensor is not supported")
    k, s, pads, dil = window_attrs(node, a, st.nd)
    if any(pads) or a.get("ceil_mode", 0) or any(d != 1 for d in dil):
        raise CompileError.at(node, "only MaxPool without padding, dilation or ceil_mode is supported")
    if scale is None and st.scale <= 0:
        raise CompileError.at(node, "MaxPool on a tensor with non-positive scale")
    c, h, w = st.img
    ofm = [(h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1]
    lay = Layer(node.name, "MaxPool", (h, w, c), (ofm[0], ofm[1], c), st.dtype, st.dtype,
                attrs={"ifm_dim": [h, w], "channels": c, "kernel": k, "stride": s, "ofm_dim": ofm})
    lw.add(lay)
    qshape = (c, ofm[0], ofm[1]) if st.nd == 2 else (c, ofm[1])
    new = State(out_tensor, qshape, st.dtype, st.scale if scale is None else scale)
    if tuple(lw.shape(out_tensor)) != new.qshape:
        raise CompileError.at(node, f"output shape {lw.shape(out_tensor)} differs from floor-mode {new.qshape}")
    lw.record(lay, new)
    return new


# ---- MatMul / Gemm / Conv + activation --------------------------------------------------------------------
def _linear(lw: Lowering, node, st: State):
    from onnx import helper

    m = lw.model
    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
    wi, ws, wdt = quantized_weight(m, node, node.input[1])
    bias = const_value(m, node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if len(node.input) > 2 and node.input[2] and bias is None:
        raise CompileError.at(node, "bias is not a constant")
    in_dtype = st.dtype
    spatial = node.op_type == "Conv"
    nd = 0                                   # spatial dims of the output (Chain / post ops shapes)
    if spatial:
        if not st.spatial:
            raise CompileError.at(node, "Conv on a flat tensor")
        nd = st.nd
        group = int(a.get("group", 1))
        c, h, w = st.img
        if nd == 1:                          # a 1-D conv is the (1, K) case of the 2-D window (FINN's view too)
            wi, ws = wi[:, :, None, :], ws[:, :, None, :]
        (kh, kw), stride, pads, dil = window_attrs(node, a, nd)
        depthwise = group != 1 and group == c and wi.shape[:2] == (c, 1)
        if group != 1 and (c % group or wi.shape[0] % group or wi.shape[1] * group != c):
            raise CompileError.at(node, f"grouped convolution with group={group} on {c} channels and weights "
                                  f"{tuple(wi.shape)}: the groups do not divide the channels")
        if any(d != 1 for d in dil):         # zero taps between the real ones (also in a depthwise VVAU)
            wi, ws, wdt = _dilated_as_dense(node, wi, ws, wdt, dil)
        mh, _, kh, kw = wi.shape
        ofm = [(h + pads[0] + pads[2] - kh) // stride[0] + 1, (w + pads[1] + pads[3] - kw) // stride[1] + 1]
        swg_dt = in_dtype
        if any(pads):
            swg_dt = "INT2" if in_dtype == "BIPOLAR" else in_dtype
            if not dtype(swg_dt).allowed(0):
                swg_dt = range_dtype(min(0, int(dtype(in_dtype).min())), max(0, int(dtype(in_dtype).max())))
        swg = Layer(f"{node.name}_swg", "SlidingWindow", (h, w, c), (ofm[0], ofm[1], kh * kw * c), in_dtype, swg_dt,
                    attrs={"ifm_dim": [h, w], "channels": c, "kernel": [kh, kw], "stride": stride, "pad": pads,
                           "pad_value": 0, "ofm_dim": ofm})
        lw.add(swg)
        in_dtype = swg_dt
        W = wi.transpose(0, 2, 3, 1).reshape(mh, -1)      # depthwise: (C, KH*KW) in the window's (ky, kx) order
        Ws = ws.transpose(0, 2, 3, 1).reshape(mh, -1)
        if group != 1 and not depthwise:
            W, Ws, wdt = _grouped_as_dense(node, wi, ws, wdt, group)     # (docs/ir.md, "Grouped convolutions")
        num_vectors, out_prefix = ofm[0] * ofm[1], (ofm[0], ofm[1])
    else:
        depthwise = False
        if st.spatial:
            raise CompileError.at(node, f"{node.op_type} on a 4-D tensor; flatten first")
        if node.op_type == "Gemm":
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise CompileError.at(node, "Gemm with transA/alpha/beta is not supported")
            W, Ws = (wi, ws) if a.get("transB", 0) else (wi.T, ws.T)
        else:
            if wi.ndim != 2:
                raise CompileError.at(node, f"MatMul weight of rank {wi.ndim} is not supported")
            W, Ws = wi.T, ws.T
        if st.perm is not None:
            W, Ws = W[:, st.perm], Ws[:, st.perm]
        mh = W.shape[0]
        num_vectors, out_prefix = 1, ()
    mw = W.shape[1]
    if not np.all(Ws == Ws[:, :1]):
        raise CompileError.at(node, "weight scale varies along the input axis; only per-tensor or per-output-channel "
                              "weight scales can be moved past the accumulator")
    s_row = Ws[:, 0].astype(np.float64) * st.scale          # the exact float value of one accumulator unit
    raw_slack = None
    if st.offset is not None:          # normalized pixels: the offsets' share of the sum is a per-row bias
        from compiler.frontend.raw_input import fold_normalization

        W, wdt, bias, raw_slack = fold_normalization(lw, node, st, W, Ws, wdt, bias, (kh, kw) if spatial else None,
                                                     pads if spatial else None)

    # accumulator range from the actual weights and the input value range
    xd = dtype(in_dtype)
    xlo, xhi = int(xd.min()), int(xd.max())
    amin = np.minimum(W * xlo, W * xhi).sum(axis=1)
    amax = np.maximum(W * xlo, W * xhi).sum(axis=1)
    a0, a1 = int(min(amin.min(), -amax.max())), int(max(amax.max(), -amin.min()))
    acc_dt = range_dtype(a0, a1)
    # QONNX's float32 sums are exact when every partial sum is an integer number of units 2^e below 2^24
    # (compiler.frontend.scaled_add: a concat's common unit g = d * 2^e with a small odd d)
    pow2 = st.offset is None and _exact_units(s_row, max(a1, int(np.abs(W).max(initial=0)) * max(-xlo, xhi)))
    # (normalized pixels: QONNX sums the float32-rounded pixels, so rounding ties are possible)
    if a1 >= 2**24:
        lw.notes.append(f"{node.name}: the accumulator reaches {a1} >= 2^24, beyond float32's exact integers, so "
                        f"QONNX's float32 {node.op_type} may round it where the integer IR does not")

    # the float ops up to the activation quantizer (or the graph output)
    steps = [Step(bias=bias)] if bias is not None else []
    pool, act, t = None, None, node.output[0]
    while True:
        c_ = lw.consumer(t)
        if c_ is None:
            break
        if c_.op_type in ELEMENTWISE + ("BatchNormalization", "Relu"):
            steps.append(Step(node=c_, data=t))
        elif c_.op_type == "Identity":
            pass
        elif c_.op_type == "MaxPool" and pool is None:
            pool = c_
        elif c_.op_type in QUANT_OPS:
            act = c_
            t = c_.output[0]
            break
        else:
            raise CompileError.at(c_, f"{c_.op_type} between {node.name} and its activation quantizer is not supported")
        t = c_.output[0]

    if not pow2 and act is None:
        lw.notes.append(f"{node.name}: input x weight scale is not a power of two, so QONNX's float32 "
                        f"{node.op_type} rounds partial sums: the float output step matches QONNX within float32 "
                        "rounding (the bound of docs/ir.md, 'Float tail'), not bit for bit")
    elif not pow2:
        lw.notes.append(f"{node.name}: input x weight scale is not a power of two, so QONNX's float32 "
                        f"{node.op_type} rounds partial sums; an activation right at a quantizer step may differ "
                        "from QONNX in rare cases (use power-of-two scales, as bnn.quant does, for guaranteed "
                        "exactness)")
    if depthwise:
        lname, kind = f"{node.name}_vvau", "VVAU"
        attrs = {"channels": mh, "kernel": [kh, kw], "num_vectors": num_vectors, "weight_dtype": wdt,
                 "acc_dtype": acc_dt, "out_bias": 0, "noact": act is None}
        in_last = mw * mh                     # the SlidingWindow's (ky, kx, c) vector of one pixel
    else:
        lname, kind, in_last = f"{node.name}_mvtu", "MVTU", mw
        attrs = {"MW": mw, "MH": mh, "num_vectors": num_vectors, "weight_dtype": wdt, "acc_dtype": acc_dt,
                 "out_bias": 0, "binary_xnor": in_dtype == "BIPOLAR" and wdt == "BIPOLAR", "noact": act is None}
    if act is None:
        if pool is not None:
            raise CompileError.at(pool, "MaxPool after the last (un-quantized) layer is not supported")
        lay = Layer(lname, kind, out_prefix + (in_last,), out_prefix + (mh,), in_dtype, acc_dt, attrs, {"weights": W})
        lw.add(lay)
        if not steps or (len(steps) and steps[0].bias is None):
            lw.qmap[lname] = {"tensor": node.output[0], "scale": s_row.tolist(), "spatial": spatial, "perm": None}
        post = _post_ops(lw, node, steps, s_row, nd, mw, lw.shape(node.output[0]))
        return None, OutputSpec(lw.shape(t), post)

    q = read_quant(lw.model, act)
    s_out = q.scalar_scale()
    if s_out is None:
        raise CompileError.at(act, "activation quantizer with a per-channel scale is not supported",
                              hint="use a per-tensor activation quantizer")
    lo, hi = q.level_range()
    if q.is_bipolar:                     # one threshold: count 0 -> -1, count 1 -> +1
        lo, hi = 0, 1
    thr, neg = search_thresholds(level_function(lw.model, steps, s_row, nd, q), a0, a1, lo, hi, mh, act)
    if pool is not None and neg.any():
        raise CompileError.at(pool, f"MaxPool sits before the activation and channels {np.flatnonzero(neg)[:8].tolist()}"
                              " of the activation are decreasing, so the pool cannot move past it")
    if neg.any():
        W = W.copy()
        W[neg] = -W[neg]
        if wdt != "BIPOLAR" and not (dtype(wdt).allowed(W.min()) and dtype(wdt).allowed(W.max())):
            wdt = range_dtype(int(W.min()), int(W.max()))
            attrs["weight_dtype"] = wdt
    attrs["out_bias"] = 0 if q.is_bipolar else lo
    lay = Layer(lname, kind, out_prefix + (in_last,), out_prefix + (mh,), in_dtype, q.dtype(), attrs,
                {"weights": W, "thresholds": thr})
    lw.add(lay)
    if pool is not None:
        c_out = (mh, out_prefix[0], out_prefix[1]) if nd == 2 else (mh, out_prefix[1])
        pre_pool = State(pool.input[0], c_out, q.dtype(), s_out)
        return _maxpool(lw, pool, pre_pool, t, s_out), None
    new = State(t, lw.shape(t), q.dtype(), s_out)
    lw.record(lay, new)
    if not pow2 or a1 >= 2**24:   # QONNX's float32 accumulation may round across a step: verification's tie check
        b = np.zeros(mh) if bias is None else np.abs(np.broadcast_to(np.asarray(bias, np.float64).reshape(-1), (mh,)))
        slack = b / np.abs(s_row) + (0 if raw_slack is None else raw_slack)
        lw.qmap[lay.name]["rounding"] = {"acc_slack": slack.tolist()}
    return new, None


def _dilated_as_dense(node, wi: np.ndarray, ws: np.ndarray, wdt: str, dil: list[int]):
    """A dilated Conv's weights (CO, CI, KH, KW) as an undilated kernel of (KH-1)*DH+1 x (KW-1)*DW+1 taps, zero
    between the real ones: the same sums over the same input pixels, so exact (at the extra multiply-accumulates of
    the zero taps); BIPOLAR weights widen to INT2 to hold the zeros."""
    if not np.all(ws == ws[:, :1, :1, :1]):
        raise CompileError.at(node, "weight scale varies along the input axis; only per-tensor or per-output-channel "
                              "weight scales can be moved past the accumulator")
    co, ci, kh, kw = wi.shape
    dh, dw = dil
    dense = np.zeros((co, ci, (kh - 1) * dh + 1, (kw - 1) * dw + 1), dtype=wi.dtype)
    dense[:, :, ::dh, ::dw] = wi
    scales = np.broadcast_to(ws[:, :1, :1, :1], dense.shape).astype(np.float32)
    if wdt == "BIPOLAR" or not dtype(wdt).allowed(0):
        wdt = range_dtype(min(int(dense.min()), 0), max(int(dense.max()), 0))
    return dense, scales, wdt


def _grouped_as_dense(node, wi: np.ndarray, ws: np.ndarray, wdt: str, group: int) -> tuple[np.ndarray, np.ndarray, str]:
    """A grouped Conv's integer weights (CO, C/group, KH, KW) as the dense (CO, KH*KW*C) matrix of an MVTU in the
    SlidingWindow's (ky, kx, c) order, zero outside each output channel's group (a depthwise conv with a channel
    multiplier is group == C); its scales, and a weight datatype that holds the zeros."""
    co, cg, kh, kw = wi.shape
    og = co // group
    if not np.all(ws == ws[:, :1, :1, :1]):
        raise CompileError.at(node, "weight scale varies along the input axis; only per-tensor or per-output-channel "
                              "weight scales can be moved past the accumulator")
    dense = np.zeros((co, kh, kw, cg * group), dtype=wi.dtype)
    for g in range(group):
        dense[g * og : (g + 1) * og, :, :, g * cg : (g + 1) * cg] = wi[g * og : (g + 1) * og].transpose(0, 2, 3, 1)
    dense = dense.reshape(co, -1)
    scales = np.broadcast_to(ws[:, :1, 0, 0], dense.shape).astype(np.float32)
    if wdt == "BIPOLAR" or not dtype(wdt).allowed(0):
        wdt = range_dtype(min(int(dense.min()), 0), max(int(dense.max()), 0))
    return dense, scales, wdt


def _all_pow2(v: np.ndarray) -> bool:
    m, _ = np.frexp(np.abs(np.asarray(v, np.float64)))
    return bool(np.all(m == 0.5))


def _exact_units(s_row: np.ndarray, bound: int) -> bool:
    """Whether QONNX's float32 products and sums of a row are exact: every row's unit is a power of two, or
    d * 2^e with d odd and d * bound < 2^24 (bound: the largest |partial sum| / |product| in integer units), so
    every value QONNX forms is an integer below 2^24 times 2^e."""
    if _all_pow2(s_row):
        return True
    from fractions import Fraction

    for v in np.abs(np.asarray(s_row, np.float64)).ravel():
        n = Fraction(float(v)).numerator
        while n % 2 == 0:
            n //= 2
        if n * bound >= 2**24:
            return False
    return True


def _post_ops(lw: Lowering, node, steps: list[Step], s_row: np.ndarray, nd: int, mw: int,
              qshape: tuple[int, ...]) -> list[dict]:
    """Float ops after a noact layer, in QONNX's order: one unit of acc -> float, then the chain's ops.

    `tol_abs` / `tol_rel` (docs/ir.md, 'Float tail') say how much a step may differ from QONNX's own op beyond
    float32 rounding: a Gemm/Conv bias that QONNX sums with the products, BatchNormalization as mul/add."""
    post: list[dict] = _to_qonnx_layout(nd, qshape)
    shp = (-1,) + (1,) * nd
    gamma = (mw + 6) * U32 / (1 - (mw + 6) * U32)
    post.append({"op": "mul", "value": s_row.astype(np.float32).reshape(shp)})
    for st in steps:
        if st.bias is not None:
            b = np.asarray(st.bias, np.float32).reshape(shp)
            post.append({"op": "add", "value": b, "tol_abs": (gamma * np.abs(b.astype(np.float64))).astype(np.float32)})
        elif st.node.op_type in ELEMENTWISE:
            post.append(_elementwise_op(lw, st.node, st.data))
        elif st.node.op_type == "Relu":
            post.append({"op": "relu"})
        else:  # BatchNormalization as mul/add, with the constants folded as onnxruntime's kernel folds them
            sc, b, mean, var = (np.asarray(const_value(lw.model, t), np.float32) for t in st.node.input[1:5])
            eps = np.float32(next((x.f for x in st.node.attribute if x.name == "epsilon"), 1e-5))
            k = (np.float32(1) / np.sqrt(var + eps)).astype(np.float32) * sc
            add = (b - mean * k).astype(np.float32)
            slack = BN_SLACK * U32 * (np.abs(k.astype(np.float64) * mean) + np.abs(b.astype(np.float64)))
            post += [{"op": "mul", "value": k.astype(np.float32).reshape(shp), "tol_rel": BN_SLACK * U32},
                     {"op": "add", "value": add.reshape(shp), "tol_abs": slack.astype(np.float32).reshape(shp)}]
            lw.notes.append(f"{st.node.name}: BatchNormalization after the last layer is applied on the host as "
                            "mul/add; float outputs may differ from QONNX's in the last bits (within the float-tail "
                            "bound)")
    return post


def _to_qonnx_layout(nd: int, qshape: tuple[int, ...]) -> list[dict]:
    """Host ops turning the IR's (H, W, C) output back into QONNX's (C, H, W), or (C, L) for a signal."""
    if nd == 0:
        return []
    ops = [{"op": "transpose", "perm": [2, 0, 1]}]
    if nd == 1:
        ops.append({"op": "reshape", "shape": list(qshape)})
    return ops


def _finish(lw: Lowering, st: State) -> OutputSpec:
    """Graph output right after a quantizer / pool / reshape: turn levels back into QONNX floats."""
    post = _to_qonnx_layout(st.nd, st.qshape)
    if not st.spatial and st.perm is not None:
        post.append({"op": "gather", "index": np.argsort(st.perm)})
    post.append({"op": "mul", "value": np.float32(st.scale)})
    return OutputSpec(lw.shape(st.tensor), post)


def _label_select(lw: Lowering, out: OutputSpec, k: int) -> OutputSpec:
    last = lw.layers[-1]
    n = int(np.prod(last.out_shape))
    if len(last.out_shape) != 1 or not 1 <= k <= n:
        raise CompileError(f"--topk {k}: the last layer must produce a vector of at least {k} classes")
    for op in out.post:
        v = np.asarray(op.get("value", 1.0))
        if op["op"] not in ("mul", "add") or (v.size > 1 and not np.all(v == v.reshape(-1)[0])) or \
                (op["op"] == "mul" and v.reshape(-1)[0] <= 0):
            raise CompileError(f"--topk: the output step {op['op']} is per-class or not increasing, so top-k of "
                               "the integer accumulators would differ from top-k of the model's outputs",
                               hint="compile without --topk and take the arg-max on the host")
    lay = Layer("label_select", "LabelSelect", (n,), (k,), last.out_dtype, range_dtype(0, max(1, n - 1)),
                attrs={"num_labels": n, "k": k})
    lw.add(lay)
    # the (uniform) float ops the class scores went through, so verification can tell ties from errors
    lw.scores = [{key: (float(np.max(v)) if isinstance(v, np.ndarray) else v) for key, v in op.items()}
                 for op in out.post]
    return OutputSpec((k,), [])
