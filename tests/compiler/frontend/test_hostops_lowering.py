"""run_pre/run_post reproduce QONNX's own input quantizer and float output ops bit for bit."""
import numpy as np
import pytest
import torch

from brevitas_models import export, randomize_bn
from bnn.topologies import build
from compiler.frontend.ingest import load_model
from compiler.frontend.lower import lower
from compiler.sim.hostops import run_post, run_pre
from compiler.ir.graph import InputSpec, IRError, OutputSpec
from compiler.sim.verify import QonnxExec


def test_pre_matches_qonnx_input_quantizer(tmp_path):
    torch.manual_seed(0)
    path = export(randomize_bn(build("cnv", 1, 1, width=0.0625, in_channels=2), 0), tmp_path / "c.onnx", (2, 32, 32))
    m = load_model(path)
    g = lower(m)
    assert [op["op"] for op in g.input.pre] == ["mul", "sub", "quant", "transpose"]   # x * 2 - 1
    x = np.random.default_rng(0).normal(0.5, 0.6, (6, 2, 32, 32)).astype(np.float32)
    q = m.find_consumer(m.find_consumer(m.find_consumer(m.graph.input[0].name).output[0]).output[0])
    ref = QonnxExec(m)(x)[q.output[0]]                       # float32 (int * scale), NCHW
    ints = run_pre(g.input, x)
    assert ints.dtype == np.int64 and ints.shape == (6, 32, 32, 2)
    scale = np.float32(g.input.pre[2]["scale"])
    assert np.array_equal(ints.astype(np.float32) * scale, ref.transpose(0, 2, 3, 1))
    assert ints.min() >= -128 and ints.max() <= 127 and len(np.unique(ints)) > 50


def test_pre_shape_errors():
    spec = InputSpec((4,), "BIPOLAR", [{"op": "bipolar_quant"}])
    assert run_pre(spec, np.array([[-1.0, 0.0, 0.5, -0.0]])).tolist() == [[-1, 1, 1, 1]]
    with pytest.raises(IRError, match="batch dimension"):
        run_pre(spec, np.zeros(4))
    with pytest.raises(IRError, match="per-frame shape"):
        run_pre(spec, np.zeros((2, 5)))


def test_post_order_is_mul_then_add():
    spec = OutputSpec((2,), [{"op": "mul", "value": np.float32([0.1, 3.0])}, {"op": "add", "value": np.float32([1e8, 0.5])}])
    y = run_post(spec, np.array([[3, -2]]))
    assert y.dtype == np.float32
    assert np.array_equal(y, (np.float32([3, -2]) * np.float32([0.1, 3.0]) + np.float32([1e8, 0.5]))[None])
