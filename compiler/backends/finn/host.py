"""input.pre / output.post (docs/ir.md, 'Host-side ops') as standard ONNX and qonnx nodes around FINN's dataflow
partition, so that finn_dataflow.onnx maps the original model's inputs to its outputs.

Each host op becomes the node QONNX execution itself runs for it, on the same float32 values, so the result is bit
for bit what compiler.sim.hostops computes: `quant` is a Div by the scale followed by a qonnx Quant with scale 1 (the
Quant node divides by its scale first, so dividing beforehand and quantizing with scale 1 gives the same integer
levels); `bipolar_quant` feeding a BIPOLAR layer 0 is a MultiThreshold at 0 producing the BINARY bits FINN streams
(x >= 0 -> 1). After a BIPOLAR last layer the BINARY bits become -1/+1 again (x * 2 - 1, exact in float32).
FINN's CreateDataflowPartition leaves these nodes outside the partition.
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from compiler import kinds
from compiler.ir.graph import DataflowGraph, IRError

QONNX_DOMAIN = "qonnx.custom_op.general"
_ARITH = {"mul": "Mul", "add": "Add", "sub": "Sub", "div": "Div"}


class _Builder:
    """Accumulates host nodes/initializers, naming every tensor `<prefix>_<i>_...` and recording its shape
    (FINN's executor wants every tensor's shape; qonnx's InferShapes cannot run here without FINN's ops)."""

    def __init__(self, prefix: str, shape: tuple[int, ...]):
        self.prefix, self.nodes, self.inits, self.n = prefix, [], [], 0
        self.shape, self.shapes = (1, *shape), {}

    def const(self, name: str, value) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, x: str, *consts, out: str | None = None, domain: str = "", **attrs) -> str:
        i, self.n = self.n, self.n + 1
        name = f"{self.prefix}_{i}_{op_type.lower()}"
        y = out or f"{name}_out"
        ins = [x] + [self.const(f"{name}_c{j}", c) for j, c in enumerate(consts)]
        self.nodes.append(helper.make_node(op_type, ins, [y], name=name, domain=domain, **attrs))
        if op_type in ("Mul", "Add", "Sub", "Div"):
            self.shape = tuple(np.broadcast_shapes(self.shape, np.shape(consts[0])))
        elif op_type == "Reshape":
            self.shape = tuple(int(d) for d in consts[0])
        elif op_type == "Transpose":
            self.shape = tuple(self.shape[p] for p in attrs["perm"])
        elif op_type == "Gather":
            self.shape = (self.shape[0], len(consts[0]), *self.shape[2:])
        self.shapes[y] = self.shape
        return y


def _host_op(b: _Builder, op: dict, x: str, binary_out: bool) -> str:
    kind = op["op"]
    if kind in _ARITH:
        v = np.asarray(op["value"], np.float32)
        if op.get("reverse"):
            y = b.op(_ARITH[kind], x, v)
            b.nodes[-1].input[:] = [b.nodes[-1].input[1], x]
            return y
        return b.op(_ARITH[kind], x, v)
    if kind == "relu":
        return b.op("Relu", x)
    if kind == "reshape":
        return b.op("Reshape", x, np.array([1, *op["shape"]], np.int64))
    if kind == "transpose":
        return b.op("Transpose", x, perm=[0, *[p + 1 for p in op["perm"]]])
    if kind == "gather":
        return b.op("Gather", x, np.asarray(op["index"], np.int64), axis=1)
    if kind in ("quant", "bipolar_quant"):   # fields as docs/ir.md 'Host-side ops' (compiler.sim.quant reads them too)
        bipolar_quant = kind == "bipolar_quant"
        one_bit_signed = not bipolar_quant and int(np.asarray(op["bitwidth"]).item()) == 1 and bool(op["signed"])
        if bipolar_quant or one_bit_signed:   # levels -1/+1 (qonnx: a signed 1-bit Quant is bipolar)
            if not binary_out:
                raise IRError("input.pre: a bipolar quantizer feeds a layer 0 that is not BIPOLAR")
            if one_bit_signed:
                if np.any(np.asarray(op["zeropt"]) != 0):
                    raise IRError("input.pre: a 1-bit signed quantizer with a zero point has no FINN form")
                x = b.op("Div", x, np.asarray(op["scale"], np.float32))
            return b.op("MultiThreshold", x, np.zeros((1, 1), np.float32), domain=QONNX_DOMAIN,
                        out_dtype="BINARY", out_scale=1.0, out_bias=0.0)
        x = b.op("Div", x, np.asarray(op["scale"], np.float32))
        return b.op("Quant", x, np.float32(1.0), np.asarray(op["zeropt"], np.float32),
                    np.float32(np.asarray(op["bitwidth"]).item()), domain=QONNX_DOMAIN, signed=int(op["signed"]),
                    narrow=int(op["narrow"]), rounding_mode=str(op.get("rounding_mode", "ROUND")))
    raise IRError(f"host op {kind!r} has no ONNX form")


def wrap_host(model, graph: DataflowGraph):
    """`model` (dataflow nodes from global_in to global_out, batch 1) with graph.input.pre in front and
    graph.output.post behind: inputs/outputs become the original model's (`input`, `output`)."""
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper

    g = model.graph
    dt_out, dt_in = model.get_tensor_datatype("global_out"), model.get_tensor_datatype("global_in")
    first, last = graph.layers[0], graph.layers[-1]
    pre = _Builder("host_pre", tuple(graph.input.shape))
    post = _Builder("host_post", tuple(model.get_tensor_shape("global_out")[1:]))
    x = "input"
    levels = {}   # tensors holding layer 0's integer levels (after the quantizer): layer 0's datatype
    for op in graph.input.pre:
        x = _host_op(pre, op, x, binary_out=first.in_dtype == "BIPOLAR")
        if op["op"] in ("quant", "bipolar_quant") or levels:
            levels[x] = dt_in
    y = "global_out"
    scale, offset = kinds.get(last.kind).finn_output(last)   # FINN's codes -> IR values (BINARY bits, popcount)
    if (scale, offset) != (1, 0) and (graph.output.post or last.out_dtype != "BIPOLAR"):
        y = post.op("Add", post.op("Mul", y, np.float32(scale)), np.float32(offset))
    for op in graph.output.post:
        y = _host_op(post, op, y, binary_out=False)
    if graph.output.post:
        y = post.op("Reshape", y, np.array([1, *graph.output.shape], np.int64))
    # splice: the pre chain's last tensor is renamed global_in, post's first input already reads global_out
    for n in pre.nodes:
        n.output[:] = ["global_in" if o == x else o for o in n.output]
    for n in post.nodes:
        n.output[:] = ["output" if o == y else o for o in n.output]
    out_name = "output" if post.nodes else "global_out"
    in_name = "input" if pre.nodes else "global_in"
    in_vi = helper.make_tensor_value_info(in_name, TensorProto.FLOAT, [1, *graph.input.shape])
    out_shape = graph.output.shape if graph.output.post else model.get_tensor_shape("global_out")[1:]
    out_vi = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [1, *out_shape])
    value_info = list(g.value_info)
    if pre.nodes:
        value_info.append(g.input[0])
        if pre.shape != tuple(model.get_tensor_shape("global_in")):
            raise IRError(f"input.pre ends in shape {pre.shape[1:]}, layer 0 takes {first.in_shape}")
    if post.nodes:
        value_info.append(g.output[0])
    value_info += [helper.make_tensor_value_info(t, TensorProto.FLOAT, list(s))
                   for b in (pre, post) for t, s in b.shapes.items() if t not in (x, y)]
    new = helper.make_graph(pre.nodes + list(g.node) + post.nodes, g.name, [in_vi], [out_vi],
                            list(g.initializer) + pre.inits + post.inits, value_info=value_info)
    opsets = list(model.model.opset_import) + [helper.make_opsetid(QONNX_DOMAIN, 1)]
    proto = helper.make_model(new, producer_name="bnnc", opset_imports=opsets)
    wrapped = ModelWrapper(proto)
    if model.get_metadata_prop("bnnc_layers") is not None:
        wrapped.set_metadata_prop("bnnc_layers", model.get_metadata_prop("bnnc_layers"))
    for t in list(g.value_info) + list(g.input) + list(g.output) + list(g.initializer):
        wrapped.set_tensor_datatype(t.name, model.get_tensor_datatype(t.name))
    for t in levels:
        wrapped.set_tensor_datatype(t, dt_in)
    wrapped.set_tensor_datatype("global_in", dt_in)
    wrapped.set_tensor_datatype("global_out", dt_out)
    if post.nodes:
        wrapped.set_tensor_datatype("output", DataType["FLOAT32"])
    if pre.nodes:
        wrapped.set_tensor_datatype("input", DataType["FLOAT32"])
    return wrapped
