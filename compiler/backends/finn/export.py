"""The dataflow IR as an ONNX graph of FINN fpgadataflow custom ops, so FINN users can take a bnnc build onward.

Each kind writes its own node(s) (compiler.kinds.<kind>.export_finn); this module assembles the graph and adds
the conv -> FC flatten. Op types and attribute names follow finn-plus's `finn.custom_op.fpgadataflow` ops (MVAU,
VVAU, Thresholding, FMPadding, ConvolutionInputGenerator, Pool, GlobalAccPool, DuplicateStreams, ElementwiseAdd,
ElementwiseMul, Reshape, LabelSelect); tensors carry qonnx DataType
annotations as FINN's InferDataTypes has them and NHWC shapes with a batch of 1, as in FINN's own dataflow graphs.
Conventions FINN uses that differ from our IR (docs/ir.md, 'The FINN view'):

- BIPOLAR activations travel as BINARY bits (-1 -> 0, +1 -> 1); XNOR layers (`binary_xnor`) store BINARY weights and
  thresholds in the popcount domain, `ceil((T + MW) / 2)` (what FINN's ConvertBipolarMatMulToXnorPopcount
  produces); without thresholds an XNOR MVAU outputs the popcount.
- Weights are `(MW, MH)` (MatMul orientation); a BIPOLAR MVAU output has `ActVal = 0` (its 1-bit code).
- Padding is a separate FMPadding node in front of ConvolutionInputGenerator; max-pooling is a depthwise
  ConvolutionInputGenerator feeding a Pool node.

Host-side steps (input.pre / output.post) are added around the dataflow nodes by compiler.backends.finn.host, so the file
maps the original model's inputs to its outputs. `from_finn_onnx` reads such a file back into IR layers; the tests
use it to show the export loses nothing.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from compiler import kinds
from compiler.ir.graph import INPUT_STREAM, DataflowGraph, InputSpec, IRError, Layer, OutputSpec
from compiler.backends.finn.nodes import FINN_DOMAIN, finn_dtype, node

__all__ = ["FINN_DOMAIN", "finn_dtype", "finn_layer_values", "from_finn_onnx", "save_finn_onnx", "stream_tensors",
           "to_finn_onnx"]


def _reshape(name: str, x: str, y: str, in_shape, out_shape, dt: str) -> object:
    """FINN's streaming Reshape (a pass-through: the flatten between conv and FC layers changes no stream order, as
    the compiler already permuted the FC weights to NHWC order). A plain ONNX Reshape here would split the dataflow
    partition in two."""
    return node("Reshape", name, [x], [y], inp_shape=[1, *in_shape], out_shape=[1, *out_shape], dtype=dt, PE=1)


def stream_tensors(graph: DataflowGraph) -> dict[str, str]:
    """The tensor of finn_dataflow.onnx carrying each stream of the graph (the last layer's output is global_out):
    what a check of FINN's execution layer by layer looks up."""
    streams = graph.streams()
    last = streams[-1][1][0]
    out = {INPUT_STREAM: "global_in"}
    for _, outs in streams:
        out.update({s: "global_out" if s == last else f"{s}_out" for s in outs})
    return out


def finn_layer_values(graph: DataflowGraph, ints: np.ndarray) -> dict[str, np.ndarray]:
    """{tensor of finn_dataflow.onnx: its values} for every layer output, from bnnc's simulator on layer-0 integers
    `ints`, in FINN's encoding (Kind.finn_output inverted: BIPOLAR as BINARY bits, XNOR popcounts): the values
    FINN's execution must reproduce tensor by tensor."""
    from compiler.sim.simulate import simulate_layers

    _, outs = simulate_layers(graph, ints, return_all=True)
    tensor = stream_tensors(graph)
    res = {}
    for l, (_, streams), y in zip(graph.layers, graph.streams(), outs):
        a, b = kinds.get(l.kind).finn_output(l)
        for s in streams:
            res[tensor[s]] = (np.asarray(y, np.int64) - b) // a
    return res


def to_finn_onnx(graph: DataflowGraph, host: bool = True):
    """A qonnx ModelWrapper holding the graph's layers as FINN fpgadataflow nodes; with `host`, input.pre and
    output.post as standard ONNX/qonnx nodes around them (compiler.backends.finn.host), so the file maps the original
    model's inputs to its outputs."""
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper

    graph.validate()
    nodes, inits, dtypes, infos = [], {}, {}, []
    first = graph.layers[0]
    tensors = [("global_in", first.in_shape, first.in_dtype)]
    streams = graph.streams()
    names = stream_tensors(graph)
    # stream -> the tensor carrying it (name, per-frame shape, IR datatype); the last layer writes global_out
    carried = {INPUT_STREAM: tensors[0]}
    last_stream = streams[-1][1][0]
    for l, (ins, outs) in zip(graph.layers, streams):
        kind = kinds.get(l.kind)
        xs = []
        for j, s in enumerate(ins):
            t, shape, dt = carried[s]
            want = kind.input_shape(l, j)
            if tuple(shape) != tuple(want):  # e.g. the flatten between conv and FC layers
                suffix = "" if j == 0 else str(j)
                new = f"{l.name}_in{suffix}"
                nodes.append(_reshape(f"{l.name}_reshape{suffix}", t, new, shape, want, finn_dtype(dt)))
                t = new
                tensors.append((t, want, dt))
            xs.append(t)
        ys = []
        for s in outs:
            y = names[s]
            carried[s] = (y, l.out_shape, l.out_dtype)
            tensors.append((y, l.out_shape, l.out_dtype))
            ys.append(y)
        # kinds reading/writing several streams get lists of tensor names (Kind.export_finn)
        new_nodes, dt = kind.export_finn(l, xs[0] if kind.n_inputs == 1 else xs,
                                         ys[0] if kind.n_outputs == 1 else ys, inits)
        nodes += new_nodes
        dtypes.update(dt)
    for tensor, attrs in inits.pop("__producer_attrs__", {}).items():
        prod = [n for n in nodes if tensor in n.output]
        # a window generator's SIMD set by its consumer: the FMPadding in front of it (same layer) follows, so
        # the layer keeps one SIMD (compiler.backends.finn.folding reads both nodes back into one folding key)
        if prod and prod[0].op_type == "ConvolutionInputGenerator" and "SIMD" in attrs:
            prod += [n for n in nodes if n.op_type == "FMPadding" and prod[0].input[0] in n.output]
        for n in prod:
            for at in n.attribute:
                if at.name in attrs and (n is prod[0] or at.name == "SIMD"):
                    at.CopyFrom(helper.make_attribute(at.name, attrs[at.name]))
    extra_shapes = inits.pop("__shapes__", {})
    for name, shape in [(t[0], t[1]) for t in tensors if t[0] not in ("global_in", "global_out")] \
            + list(extra_shapes.items()):
        infos.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, *shape]))
    g = helper.make_graph(
        nodes, graph.name,
        [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, [1, *tensors[0][1]])],
        [helper.make_tensor_value_info("global_out", TensorProto.FLOAT, [1, *carried[last_stream][1]])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()], value_info=infos,
    )
    model = ModelWrapper(helper.make_model(g, producer_name="bnnc", opset_imports=[helper.make_opsetid("", 11)]))
    for name, _, dt in tensors:
        model.set_tensor_datatype(name, DataType[finn_dtype(dt)])
    for name, dt in dtypes.items():
        model.set_tensor_datatype(name, DataType[dt])
    for n in model.graph.node:   # a node's input datatype is its input tensor's (e.g. LabelSelect after an XNOR popcount)
        for at in n.attribute:
            if at.name in ("inputDataType", "InputDataType", "dtype", "lhs_dtype") and n.input:
                at.s = model.get_tensor_datatype(n.input[0]).name.encode()
            elif at.name == "rhs_dtype":
                at.s = model.get_tensor_datatype(n.input[1]).name.encode()
    model.set_metadata_prop("bnnc_layers", json.dumps([{"name": l.name, "kind": l.kind, "in_dtype": l.in_dtype,
                                                         "out_dtype": l.out_dtype} for l in graph.layers]))
    if host:
        from compiler.backends.finn.host import wrap_host

        model = wrap_host(model, graph)
    return model


def save_finn_onnx(graph: DataflowGraph, path: str | os.PathLike) -> Path:
    """Write the FINN-style ONNX file (via a temporary file, so a failure leaves nothing half-written)."""
    path = Path(path)
    model = to_finn_onnx(graph)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        model.save(str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# ---- reading back -----------------------------------------------------------------------------------------
def _ir_dtype(m, tensor: str, recorded: str | None) -> str:
    """A tensor's IR datatype: as recorded in the file's `bnnc_layers` metadata (BIPOLAR activations are annotated
    BINARY for FINN, like genuine {0, 1} ones); without it a BINARY activation is read as BIPOLAR."""
    dt = m.get_tensor_datatype(tensor).name
    return recorded or ("BIPOLAR" if dt == "BINARY" else dt)


def from_finn_onnx(path_or_model) -> DataflowGraph:
    """IR layers from a file written by save_finn_onnx (host-side ops are not part of it: pre/post are empty).
    Linear graphs only: the branch, depthwise and average-pool nodes are not read back."""
    from qonnx.core.modelwrapper import ModelWrapper

    m = path_or_model if isinstance(path_or_model, ModelWrapper) else ModelWrapper(str(path_or_model))
    attr = lambda n: {a.name: helper.get_attribute_value(a) for a in n.attribute}  # noqa: E731
    dec = lambda v: v.decode() if isinstance(v, bytes) else v  # noqa: E731
    layers: list[Layer] = []
    pending_pad = pending_win = None
    recorded = {d["name"]: d for d in json.loads(m.get_metadata_prop("bnnc_layers") or "[]")}
    for n in m.graph.node:
        if n.domain != FINN_DOMAIN or n.op_type == "Reshape":  # host-side nodes, the conv -> FC flatten
            continue
        a = {k: dec(v) for k, v in attr(n).items()}
        shape_in = tuple(m.get_tensor_shape(n.input[0])[1:])
        shape_out = tuple(m.get_tensor_shape(n.output[0])[1:])
        rec = recorded.get(n.name, {})
        dt_in, dt_out = _ir_dtype(m, n.input[0], rec.get("in_dtype")), _ir_dtype(m, n.output[0], rec.get("out_dtype"))
        if n.op_type == "FMPadding":
            pending_pad = (a, shape_in, dt_in)
            continue
        if n.op_type == "MVAU":
            w = m.get_initializer(n.input[1]).T.astype(np.int64)
            xnor = bool(a["binaryXnorMode"])
            if xnor:
                w = 2 * w - 1
            arrays = {"weights": w}
            if not a["noActivation"]:
                t = m.get_initializer(n.input[2]).astype(np.int64)
                arrays["thresholds"] = 2 * t - a["MW"] if xnor else t
            attrs = {"MW": a["MW"], "MH": a["MH"], "num_vectors": int(np.prod(a["numInputVectors"])),
                     "weight_dtype": "BIPOLAR" if xnor else a["weightDataType"], "acc_dtype": a["accDataType"],
                     "out_bias": 0 if dt_out == "BIPOLAR" else a["ActVal"], "binary_xnor": xnor,
                     "noact": bool(a["noActivation"])}
            layers.append(Layer(n.name, "MVTU", shape_in, shape_out, dt_in, dt_out, attrs, arrays,
                                {"pe": a["PE"], "simd": a["SIMD"]}))
        elif n.op_type == "ConvolutionInputGenerator" and a.get("depthwise", 0):  # the window of a Pool
            pending_win = (a, shape_in)
        elif n.op_type == "Pool":
            if pending_win is None or a["Function"] != "MaxPool":
                raise IRError(f"node {n.name!r}: only MaxPool after a depthwise ConvolutionInputGenerator is bnnc's")
            wa, shape_in = pending_win
            pending_win = None
            layers.append(Layer(n.name, "MaxPool", shape_in, shape_out, dt_in, dt_out,
                                {"ifm_dim": list(wa["IFMDim"]), "channels": a["Channels"],
                                 "kernel": list(a["KernelSize"]), "stride": list(wa["Stride"]),
                                 "ofm_dim": list(a["OutImgDims"])}, {}, {"pe": a["PE"]}))
        elif n.op_type == "ConvolutionInputGenerator":
            pad, dims, src_dt = [0, 0, 0, 0], list(a["IFMDim"]), dt_in
            if pending_pad is not None:
                pa, shape_in, src_dt = pending_pad
                src_dt = rec.get("in_dtype") or src_dt
                pad, dims = list(pa["Padding"]), list(pa["ImgDim"])
                pending_pad = None
            layers.append(Layer(n.name, "SlidingWindow", shape_in, shape_out, src_dt, dt_out,
                                {"ifm_dim": dims, "channels": a["IFMChannels"], "kernel": list(a["ConvKernelDim"]),
                                 "stride": list(a["Stride"]), "pad": pad, "pad_value": 0,
                                 "ofm_dim": list(a["OFMDim"])}, {}, {"simd": a["SIMD"]}))
        elif n.op_type == "Thresholding":
            layers.append(Layer(n.name, "Thresholding", shape_in, shape_out, dt_in, dt_out,
                                {"num_channels": a["NumChannels"], "num_vectors": int(np.prod(a["numInputVectors"])),
                                 "out_bias": 0 if dt_out == "BIPOLAR" else a["ActVal"]},
                                {"thresholds": m.get_initializer(n.input[1]).astype(np.int64)}, {"pe": a["PE"]}))
        elif n.op_type == "LabelSelect":
            layers.append(Layer(n.name, "LabelSelect", shape_in, shape_out, dt_in, dt_out,
                                {"num_labels": a["Labels"], "k": a["K"]}, {}, {}))
        else:
            raise IRError(f"node {n.name!r}: reading {n.op_type!r} back is not supported (from_finn_onnx reads linear "
                          "graphs of MVAU, Thresholding, FMPadding, ConvolutionInputGenerator, MaxPool and LabelSelect)")
    if not layers:
        raise IRError("no FINN dataflow nodes in the file")
    g = DataflowGraph(m.graph.name, layers, InputSpec(layers[0].in_shape, layers[0].in_dtype),
                      OutputSpec(layers[-1].out_shape))
    g.validate()
    return g
