"""FINN-style ONNX export: the right op types/attributes, and reading it back computes the same layers."""
import numpy as np
import pytest
from onnx import helper

from brevitas_models import cnn, export, mlp
from compiler.build import compile_model
from compiler.finn_export import FINN_DOMAIN, from_finn_onnx, save_finn_onnx, to_finn_onnx
from compiler.ir import IRError, dtype
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
    ]:
        path = export(model, d / f"{name}.onnx", shape)
        g = compile_model(path, None, **kw)
        for l in g.layers:  # non-trivial folding so PE/SIMD attributes are exercised
            if l.kind == "MVTU":
                l.folding = {"pe": next(p for p in (4, 2, 1) if l.attrs["MH"] % p == 0),
                             "simd": next(s for s in (2, 1) if l.attrs["MW"] % s == 0)}
        out[name] = g
    return out


def test_op_types_and_attributes(graphs):
    m = to_finn_onnx(graphs["cnn_w1a1_pad"])
    ops = [n.op_type for n in m.graph.node]
    assert ops[:3] == ["FMPadding", "ConvolutionInputGenerator", "MVAU"]
    assert "StreamingMaxPool" in ops and "Reshape" in ops
    assert all(n.domain == FINN_DOMAIN for n in m.graph.node if n.op_type != "Reshape")
    g = graphs["cnn_w1a1_pad"]
    mv = next(n for n in m.graph.node if n.op_type == "MVAU" and _attrs(n)["binaryXnorMode"] == 1)
    a = _attrs(mv)
    layer = g.layer(mv.name)
    assert (a["MW"], a["MH"], a["PE"], a["SIMD"]) == (layer.attrs["MW"], layer.attrs["MH"], layer.pe, layer.simd)
    assert a["inputDataType"] == b"BINARY" and m.get_tensor_datatype(mv.input[1]).name == "BINARY"
    w = m.get_initializer(mv.input[1])
    assert w.shape == (layer.attrs["MW"], layer.attrs["MH"]) and set(np.unique(w)) <= {0.0, 1.0}
    last = m.graph.node[-1]
    assert last.op_type == "MVAU" and _attrs(last)["noActivation"] == 1 and len(last.input) == 2
    topk = to_finn_onnx(graphs["mlp_w2a2_topk"]).graph.node[-1]
    assert topk.op_type == "LabelSelect" and _attrs(topk)["K"] == 2


@pytest.mark.parametrize("name", ["mlp_w1a1", "mlp_w2a2_topk", "cnn_w1a1_pad", "cnn_w1a2"])
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
    pool.attrs = {**pool.attrs, "stride": [1, 1]}
    try:
        with pytest.raises(IRError, match=f"{pool.name}.*stride == kernel"):
            to_finn_onnx(g)
    finally:
        pool.attrs = {**pool.attrs, "stride": list(pool.attrs["kernel"])}
