"""FINN-style ONNX export: the right op types/attributes, and reading it back computes the same layers."""
import numpy as np
import pytest
from onnx import helper

from brevitas_models import cnn, export, mlp
from compiler.workflow.compile import compile_model
from compiler.backends.finn.export import FINN_DOMAIN, from_finn_onnx, save_finn_onnx, to_finn_onnx
from compiler.ir.graph import IRError, dtype
from naive_ir import layer as run_layer


def _attrs(node) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _random_ints(l, n, rng):
    d = dtype(l.in_dtype)
    lo, hi = int(d.min()), int(d.max())
    x = rng.integers(lo, hi + 1, size=(n, *l.in_shape))
    return np.where(x == 0, 1, x) if l.in_dtype == "BIPOLAR" else x


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    d = tmp_path_factory.mktemp("finn")
    out = {}
    for name, model, shape, kw in [
        ("mlp_w1a1", mlp(1, 1, negative=True, seed=3), (20,), {}),
        ("mlp_w2a2_topk", mlp(2, 2, seed=4), (20,), {"topk": 2}),
        ("cnn_w1a1_pad", cnn(1, 1, pad=1, seed=5), (2, 8, 8), {}),
        ("cnn_w1a2", cnn(1, 2, in_bits=8, seed=6), (2, 8, 8), {}),
        ("cnn_w2a2_pad", cnn(2, 2, pad=1, seed=7), (2, 8, 8), {}),
    ]:
        path = export(model, d / f"{name}.onnx", shape, dynamo=False)
        g = compile_model(path, None, **kw)
        for l in g.layers:  # non-trivial folding so PE/SIMD attributes are exercised
            if l.kind == "MVTU":
                l.folding = {"pe": next(p for p in (4, 2, 1) if l.attrs["MH"] % p == 0),
                             "simd": next(s for s in (2, 1) if l.attrs["MW"] % s == 0)}
        out[name] = g
    return out


def _dataflow(m):
    return [n for n in m.graph.node if n.domain == FINN_DOMAIN]


def test_op_types_and_attributes(graphs):
    m = to_finn_onnx(graphs["cnn_w2a2_pad"])
    ops = [n.op_type for n in _dataflow(m)]
    assert ops[:3] == ["FMPadding", "ConvolutionInputGenerator", "MVAU"]
    # pooling as finn-plus expresses it; the conv -> FC flatten is FINN's streaming Reshape
    i = ops.index("Pool")
    assert ops[i - 1] == "ConvolutionInputGenerator" and _attrs(_dataflow(m)[i - 1])["depthwise"] == 1
    assert "Reshape" in ops and "StreamingMaxPool" not in ops
    host = [n.op_type for n in m.graph.node if n.domain != FINN_DOMAIN]
    assert "Quant" in host and "Transpose" in host   # input.pre around the partition
    m = to_finn_onnx(graphs["mlp_w1a1"])
    g = graphs["mlp_w1a1"]
    mv = next(n for n in m.graph.node if n.op_type == "MVAU" and _attrs(n)["binaryXnorMode"] == 1)
    a = _attrs(mv)
    layer = g.layer(mv.name)
    assert (a["MW"], a["MH"], a["PE"], a["SIMD"]) == (layer.attrs["MW"], layer.attrs["MH"], layer.pe, layer.simd)
    assert a["inputDataType"] == b"BINARY" and m.get_tensor_datatype(mv.input[1]).name == "BINARY"
    assert m.get_tensor_datatype(mv.input[0]).name == "BINARY"   # as FINN's InferDataTypes has it
    w = m.get_initializer(mv.input[1])
    assert w.shape == (layer.attrs["MW"], layer.attrs["MH"]) and set(np.unique(w)) <= {0.0, 1.0}
    last = _dataflow(m)[-1]
    assert last.op_type == "MVAU" and _attrs(last)["noActivation"] == 1 and len(last.input) == 2
    topk = to_finn_onnx(graphs["mlp_w2a2_topk"]).graph.node[-1]
    assert topk.op_type == "LabelSelect" and _attrs(topk)["K"] == 2


@pytest.mark.parametrize("name", ["mlp_w1a1", "mlp_w2a2_topk", "cnn_w2a2_pad", "cnn_w1a2"])
def test_round_trip_computes_the_same(graphs, name, tmp_path):
    g = graphs[name]
    back = from_finn_onnx(save_finn_onnx(g, tmp_path / "finn.onnx"))
    assert [l.kind for l in back.layers] == [l.kind for l in g.layers]
    rng = np.random.default_rng(0)
    for orig, read in zip(g.layers, back.layers):
        assert (read.in_shape, read.out_shape, read.out_dtype) == (orig.in_shape, orig.out_shape, orig.out_dtype)
        assert (read.pe, read.simd) == (orig.pe, orig.simd)
        x = _random_ints(orig, 64, rng)
        assert np.array_equal(run_layer(read, x), run_layer(orig, x)), orig.name


def test_unsupported_maxpool_stride(graphs):
    g = graphs["cnn_w1a2"]
    pool = next(l for l in g.layers if l.kind == "MaxPool")
    pool.attrs = {**pool.attrs, "stride": [3, 3]}
    try:
        with pytest.raises(IRError, match=f"{pool.name}.*stride <= kernel"):
            to_finn_onnx(g)
    finally:
        pool.attrs = {**pool.attrs, "stride": list(pool.attrs["kernel"])}


def test_bipolar_zero_padding_refused(graphs):
    """FINN streams BIPOLAR activations as 0/1 bits, so a 0 pad value between -1 and +1 has no FINN form."""
    g = graphs["cnn_w1a1_pad"]
    with pytest.raises(IRError, match=f"{g.layers[0].name}.*BINARY bits.*zero padding"):
        to_finn_onnx(g)


def _host_part(m, prefix: str, inp: str, out: str):
    """The host-side nodes of a finn_dataflow.onnx as a model of their own (they need no FINN to run)."""
    from qonnx.core.modelwrapper import ModelWrapper

    nodes = [n for n in m.graph.node if n.name.startswith(prefix)]
    used = {i for n in nodes for i in n.input}
    vis = {v.name: v for v in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output)}
    g = helper.make_graph(nodes, prefix, [vis[inp]], [vis[out]], [i for i in m.graph.initializer if i.name in used],
                          value_info=[v for k, v in vis.items() if k in used and k != inp])
    return ModelWrapper(helper.make_model(g, opset_imports=list(m.model.opset_import)))


@pytest.mark.parametrize("name", ["mlp_w1a1", "cnn_w2a2_pad", "cnn_w1a2"])
def test_host_nodes_compute_pre_and_post(graphs, name):
    """The ONNX/qonnx nodes around the dataflow partition == compiler.sim.hostops, with FINN's BINARY encoding of
    BIPOLAR ends (qonnx runs them; the FINN tier in tests/finn runs the whole file in FINN)."""
    from qonnx.core.onnx_exec import execute_onnx

    from compiler.sim.hostops import run_post, run_pre
    from compiler.sim.simulate import simulate
    from compiler.sim.verify import random_inputs

    g = graphs[name]
    m = to_finn_onnx(g)
    pre = _host_part(m, "host_pre", "input", "global_in")
    post = _host_part(m, "host_post", "global_out", "output")
    x = random_inputs(tuple(g.input.shape), 8, seed=1)
    _, layers = simulate(g, x, return_all=True)
    first, last = g.layers[0], g.layers[-1]
    for i in range(len(x)):
        got = execute_onnx(pre, {"input": x[i : i + 1]})["global_in"]
        want = run_pre(g.input, x[i : i + 1])
        assert np.array_equal(got, (want + 1) // 2 if first.in_dtype == "BIPOLAR" else want)
        y = np.asarray(layers[-1][i : i + 1])
        if last.out_dtype == "BIPOLAR":
            finn_y = (y + 1) // 2
        elif last.attrs.get("binary_xnor") and last.attrs.get("noact"):
            finn_y = (y + last.attrs["MW"]) // 2   # FINN's XNOR MVAU outputs the popcount
        else:
            finn_y = y
        got = execute_onnx(post, {"global_out": finn_y.astype(np.float32)})["output"]
        assert np.array_equal(got, run_post(g.output, y))


def test_branch_depthwise_and_pool_kinds():
    """The stream DAG as FINN nodes (FINN itself runs these in tests/finn): DuplicateStreams writes two tensors
    read by the two branches, the shifted input of an AddStreams goes through ElementwiseMul by 2**shift, a VVAU's
    window generator is depthwise with SIMD = the VVAU's PE (its FMPadding too), average pools are window sums
    (Pool AccPool / GlobalAccPool) + Thresholding; finn_folding.json carries exactly the nodes' PE/SIMD."""
    import irgraphs

    from compiler.backends.finn.export import stream_tensors
    from compiler.backends.finn.folding import finn_folding_config

    g = irgraphs.residual()
    m = to_finn_onnx(g, host=False)
    nodes = {n.name: n for n in _dataflow(m)}
    dup, add = g.layers[0], g.layers[-1]
    tensors = stream_tensors(g)
    assert list(nodes[dup.name].output) == [tensors[s] for s in dup.outputs]
    assert {n.name for n in _dataflow(m) if set(n.input) & set(nodes[dup.name].output)} == {"swg1_pad", "thr3"}
    mul = nodes["add4_shift0"]
    assert mul.op_type == "ElementwiseMul" and np.array_equal(m.get_initializer(mul.input[1]), np.full(4, 2.0))
    assert "add4_shift1" not in nodes           # shift 0: no multiply
    assert nodes["add4_add"].op_type == "ElementwiseAdd" and nodes["add4"].op_type == "Thresholding"
    assert m.get_tensor_datatype(nodes["add4_add"].output[0]).name == add.attrs["acc_dtype"]

    g = irgraphs.pools_depthwise()
    m = to_finn_onnx(g, host=False)
    nodes = {n.name: n for n in _dataflow(m)}
    dw = g.layer("dw1")
    assert g.layer("swg0").simd != dw.pe       # the case the tie matters for
    a = _attrs(nodes["swg0"])
    assert a["depthwise"] == 1 and a["SIMD"] == dw.pe and _attrs(nodes["swg0_pad"])["SIMD"] == dw.pe
    assert _attrs(nodes["swg3"])["depthwise"] == 1
    assert _attrs(nodes["pool2_acc"])["Function"] == b"AccPool" and nodes["pool2"].op_type == "Thresholding"
    assert nodes["pool2_swg"].op_type == "ConvolutionInputGenerator"
    assert nodes["gap5"].op_type == "GlobalAccPool"    # noact global pool: the sum node carries the layer's name
    cfg = finn_folding_config(g, m)
    for name, entry in cfg.items():
        if name != "Defaults":
            assert entry == {k: v for k, v in _attrs(nodes[name]).items() if k in entry}, name
    assert cfg["swg0"] == {"SIMD": dw.pe} and cfg["dw1"] == {"PE": dw.pe}


def test_bipolar_sum_inputs_refused():
    """FINN holds BIPOLAR activations as 0/1 bits: a pool, depthwise conv or residual add over them would sum bits,
    not -1/+1 values, so the export refuses, naming the layer."""
    import irgraphs

    from compiler import kinds

    g = irgraphs.pools_depthwise()
    pool = g.layer("pool2")
    bip = type(pool)(**{**pool.__dict__, "in_dtype": "BIPOLAR"})
    with pytest.raises(IRError, match="pool2.*BINARY bits"):
        kinds.get("AvgPool").export_finn(bip, "x", "y", {})
    add = irgraphs.residual().layer("add4")
    bip = type(add)(**{**add.__dict__, "attrs": {**add.attrs, "in1_dtype": "BIPOLAR"}})
    with pytest.raises(IRError, match="add4.*BINARY bits.*input 1"):
        kinds.get("AddStreams").export_finn(bip, ["x0", "x1"], "y", {})
