"""The dataflow IR as an ONNX graph of FINN fpgadataflow custom ops, so FINN users can take a bnnc build onward.

Each kind writes its own node(s) (compiler.kinds.<kind>.export_finn); this module assembles the graph.
Op types and attribute names follow FINN's `finn.custom_op.fpgadataflow` ops (MVAU, Thresholding, FMPadding,
ConvolutionInputGenerator, StreamingMaxPool, LabelSelect); tensors carry qonnx DataType annotations and NHWC
shapes with a batch of 1, as in FINN's own dataflow graphs. Conventions FINN uses that differ from our IR:

- XNOR layers (`binary_xnor`): FINN stores weights and inputs as BINARY bits (-1 -> 0, +1 -> 1) and thresholds
  in the popcount domain, `ceil((T + MW) / 2)` (what FINN's ConvertBipolarMatMulToXnorPopcount produces).
- Weights are `(MW, MH)` (MatMul orientation); a BIPOLAR MVAU output has `ActVal = 0` (its 1-bit code).
- Padding is a separate FMPadding node in front of ConvolutionInputGenerator.

`from_finn_onnx` reads such a file back into IR layers; the tests use it to show the export loses nothing.
Host-side steps (input.pre / output.post) stay in graph.json: FINN handles them outside the dataflow partition.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from compiler import kinds
from compiler.ir import DataflowGraph, InputSpec, IRError, Layer, OutputSpec
from compiler.kinds.finn import FINN_DOMAIN  # noqa: F401  (re-exported)


def to_finn_onnx(graph: DataflowGraph):
    """A qonnx ModelWrapper holding the graph's layers as FINN fpgadataflow nodes."""
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper

    graph.validate()
    nodes, inits, dtypes, infos = [], {}, {}, []
    x = "global_in"
    tensors = [(x, graph.layers[0].in_shape, graph.layers[0].in_dtype)]
    for i, l in enumerate(graph.layers):
        if tuple(tensors[-1][1]) != tuple(l.in_shape):  # e.g. the flatten between conv and FC layers
            inits[f"{l.name}_shape"] = np.array([1, *l.in_shape], np.int64)
            nodes.append(helper.make_node("Reshape", [x, f"{l.name}_shape"], [f"{l.name}_in"], name=f"{l.name}_reshape"))
            x = f"{l.name}_in"
            tensors.append((x, l.in_shape, l.in_dtype))
        y = "global_out" if i == len(graph.layers) - 1 else f"{l.name}_out"
        new, dt = kinds.get(l.kind).export_finn(l, x, y, inits)
        nodes += new
        dtypes.update(dt)
        tensors.append((y, l.out_shape, l.out_dtype))
        x = y
    extra_shapes = inits.pop("__shapes__", {})
    for name, shape in [(t[0], t[1]) for t in tensors[1:-1]] + list(extra_shapes.items()):
        infos.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, *shape]))
    g = helper.make_graph(
        nodes, graph.name,
        [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, [1, *tensors[0][1]])],
        [helper.make_tensor_value_info("global_out", TensorProto.FLOAT, [1, *tensors[-1][1]])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()], value_info=infos,
    )
    model = ModelWrapper(helper.make_model(g, producer_name="bnnc", opset_imports=[helper.make_opsetid("", 11)]))
    for name, _, dt in tensors:
        model.set_tensor_datatype(name, DataType[dt])
    for name, dt in dtypes.items():
        model.set_tensor_datatype(name, DataType[dt])
    model.set_metadata_prop("bnnc_layers", json.dumps([{"name": l.name, "kind": l.kind} for l in graph.layers]))
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
def from_finn_onnx(path_or_model) -> DataflowGraph:
    """IR layers from a file written by save_finn_onnx (host-side ops are not part of it: pre/post are empty)."""
    from qonnx.core.modelwrapper import ModelWrapper

    m = path_or_model if isinstance(path_or_model, ModelWrapper) else ModelWrapper(str(path_or_model))
    attr = lambda n: {a.name: helper.get_attribute_value(a) for a in n.attribute}  # noqa: E731
    dec = lambda v: v.decode() if isinstance(v, bytes) else v  # noqa: E731
    layers: list[Layer] = []
    pending_pad = None
    for n in m.graph.node:
        a = {k: dec(v) for k, v in attr(n).items()}
        shape_in = tuple(m.get_tensor_shape(n.input[0])[1:])
        shape_out = tuple(m.get_tensor_shape(n.output[0])[1:])
        dt_in, dt_out = m.get_tensor_datatype(n.input[0]).name, m.get_tensor_datatype(n.output[0]).name
        if n.op_type == "Reshape":
            continue
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
        elif n.op_type == "ConvolutionInputGenerator":
            pad, dims, src_dt = [0, 0, 0, 0], list(a["IFMDim"]), dt_in
            if pending_pad is not None:
                pa, shape_in, src_dt = pending_pad
                pad, dims = list(pa["Padding"]), list(pa["ImgDim"])
                pending_pad = None
            layers.append(Layer(n.name, "SlidingWindow", shape_in, shape_out, src_dt, dt_out,
                                {"ifm_dim": dims, "channels": a["IFMChannels"], "kernel": list(a["ConvKernelDim"]),
                                 "stride": list(a["Stride"]), "pad": pad, "pad_value": 0,
                                 "ofm_dim": list(a["OFMDim"])}, {}, {"simd": a["SIMD"]}))
        elif n.op_type == "StreamingMaxPool":
            (h, w), (kh, kw) = a["ImgDim"], a["PoolDim"]
            layers.append(Layer(n.name, "MaxPool", shape_in, shape_out, dt_in, dt_out,
                                {"ifm_dim": [h, w], "channels": a["NumChannels"], "kernel": [kh, kw],
                                 "stride": [kh, kw], "ofm_dim": [h // kh, w // kw]}, {}, {"pe": a["PE"]}))
        elif n.op_type == "Thresholding":
            layers.append(Layer(n.name, "Thresholding", shape_in, shape_out, dt_in, dt_out,
                                {"num_channels": a["NumChannels"], "num_vectors": int(np.prod(a["numInputVectors"])),
                                 "out_bias": 0 if dt_out == "BIPOLAR" else a["ActVal"]},
                                {"thresholds": m.get_initializer(n.input[1]).astype(np.int64)}, {"pe": a["PE"]}))
        elif n.op_type == "LabelSelect":
            layers.append(Layer(n.name, "LabelSelect", shape_in, shape_out, dt_in, dt_out,
                                {"num_labels": a["Labels"], "k": a["K"]}, {}, {}))
        else:
            raise IRError(f"node {n.name!r}: op type {n.op_type!r} is not one bnnc writes")
    g = DataflowGraph(m.graph.name, layers, InputSpec(layers[0].in_shape, layers[0].in_dtype),
                      OutputSpec(layers[-1].out_shape))
    g.validate()
    return g
