"""Bad input gets a CompileError naming the file/node, and never leaves a build folder behind."""
import brevitas.nn as qnn
import numpy as np
import pytest
from brevitas.quant import Int8WeightPerTensorFixedPoint
from torch import nn

from brevitas_models import export, quant_act
from bnn.quant import weight_quant
from compiler.workflow.compile import compile_model
from diagnostics.errors import CompileError


def _fails(tmp_path, path, *match):
    out = tmp_path / "build" / "net"
    with pytest.raises(CompileError) as e:
        compile_model(path, out)
    for m in match:
        assert m in str(e.value), str(e.value)
    assert not out.exists()
    assert not [p for p in (tmp_path / "build").glob("*")] if (tmp_path / "build").exists() else True
    return e.value


def test_missing_file(tmp_path):
    _fails(tmp_path, tmp_path / "nope.onnx", "nope.onnx", "no such file")


def test_not_an_onnx_file(tmp_path):
    p = tmp_path / "junk.onnx"
    p.write_bytes(b"\x00\x01 definitely not protobuf" * 10)
    _fails(tmp_path, p, "junk.onnx", "not a readable ONNX model")


def test_unsupported_op_names_node(tmp_path):
    m = nn.Sequential(quant_act(1), qnn.QuantLinear(8, 6, bias=False, weight_quant=weight_quant(1)), nn.Sigmoid(),
                      quant_act(1), qnn.QuantLinear(6, 3, bias=False, weight_quant=weight_quant(1))).eval()
    err = _fails(tmp_path, export(m, tmp_path / "sig.onnx", (8,)), "Sigmoid")
    assert err.node and err.node.startswith("Sigmoid") and err.op_type == "Sigmoid"


def test_unsupported_bit_width_names_node(tmp_path):
    wq = Int8WeightPerTensorFixedPoint.let(bit_width=12)
    m = nn.Sequential(quant_act(2), qnn.QuantLinear(8, 6, bias=False, weight_quant=wq)).eval()
    err = _fails(tmp_path, export(m, tmp_path / "w12.onnx", (8,)), "bit width 12")
    assert err.node is not None and err.op_type in ("Quant", "IntQuant")


def test_float_weights_rejected(tmp_path):
    m = nn.Sequential(quant_act(2), nn.Linear(8, 6, bias=False)).eval()
    err = _fails(tmp_path, export(m, tmp_path / "fw.onnx", (8,)), "weights are not quantized")
    assert err.op_type in ("Gemm", "MatMul")


def test_non_monotone_channel_is_reported():
    from compiler.frontend.thresholds import thresholds_from_levels

    class Node:
        name, op_type = "Quant_7", "Quant"

    levels = np.array([[0, 1], [1, 1], [0, 1]])           # channel 0 goes up then down
    with pytest.raises(CompileError, match="Quant_7.*channel.*\\[0\\]"):
        thresholds_from_levels(levels, -1, 0, 1, Node())


def test_existing_build_kept_on_failure(tmp_path):
    out = tmp_path / "build"
    out.mkdir()
    (out / "graph.json").write_text("old")
    with pytest.raises(CompileError):
        compile_model(tmp_path / "missing.onnx", out)
    assert (out / "graph.json").read_text() == "old"
