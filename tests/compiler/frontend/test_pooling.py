"""Average pools (AveragePool, TruncAvgPool2d = AveragePool + Trunc, GlobalAveragePool, ReduceMean) and
depthwise convolutions written with raw Brevitas: lowered to AvgPool / VVAU layers, every integer layer equal
to QONNX execution (zero mismatches), folded for a board, and the generated HLS C-simulated bit-exactly."""
import brevitas.nn as qnn
import numpy as np
import onnx
import pytest
import torch
from torch import nn

from brevitas_models import compile_and_verify, export, quant_act, randomize_bn
from pool_models import qid, mobilenet_v1_style, pools_model
from bnn.quant import weight_quant
from diagnostics.errors import CompileError


def _check_exact(g, rep, kinds_expected):
    assert rep.n_inputs > 0 and rep.output_mismatches == 0 and rep.elements_over_bound == 0
    assert rep.integer_layers and all(rep.layer_mismatches[n] == 0 for n in rep.integer_layers), rep.layer_mismatches
    assert kinds_expected <= {l.kind for l in g.layers}


@pytest.fixture(scope="module")
def pools(tmp_path_factory):
    d = tmp_path_factory.mktemp("pools")
    return d, export(pools_model(), d / "m.onnx", (2, 14, 14))


@pytest.fixture(scope="module")
def mobilenet(tmp_path_factory):
    d = tmp_path_factory.mktemp("mnv1")
    return d, export(mobilenet_v1_style(), d / "m.onnx", (3, 16, 16))


def _nontrivial(g, x):
    from compiler.sim.simulate import simulate

    _, outs = simulate(g, x, return_all=True)
    for l, y in zip(g.layers, outs):
        if l.kind in ("AvgPool", "VVAU"):
            assert len(np.unique(y)) > 2, f"{l.name} is (nearly) constant on the test inputs"


def test_pools_and_depthwise_are_exact(pools):
    d, onnx_path = pools
    x = np.random.default_rng(0).uniform(-1, 1, (48, 2, 14, 14)).astype(np.float32)
    g, rep = compile_and_verify(onnx_path, d / "build", inputs=x, num_random=16)
    _check_exact(g, rep, {"AvgPool", "VVAU"})
    names = {l.name: l for l in g.layers}
    trunc = next(l for l in g.layers if l.kind == "AvgPool")            # the TruncAvgPool2d (AveragePool + Trunc)
    assert trunc.attrs["kernel"] == [2, 2] and not trunc.attrs["noact"]
    gap = [l for l in g.layers if l.kind == "AvgPool"][-1]
    assert gap.attrs["kernel"] == gap.attrs["ifm_dim"] and gap.out_shape[:2] == (1, 1)
    assert any(n.endswith("_vvau") for n in names)
    _nontrivial(g, x)
    # the comparison sees a wrong pool or depthwise threshold
    from compiler.frontend.ingest import load_model
    from compiler.sim.verify import verify_graph

    for layer in (trunc, next(l for l in g.layers if l.kind == "VVAU")):
        t = layer.arrays["thresholds"]
        layer.arrays["thresholds"] = t + 1
        bad = verify_graph(onnx_path, g, inputs=x, num_random=0, cleaned=load_model(onnx_path))
        layer.arrays["thresholds"] = t
        assert bad.layer_mismatches[layer.name] > 0


def test_global_average_pool_op(pools, tmp_path):
    """The ReduceMean of AdaptiveAvgPool2d(1) rewritten as ONNX GlobalAveragePool: same layer, exact."""
    d, onnx_path = pools
    m = onnx.load(onnx_path)
    node = next(n for n in m.graph.node if n.op_type == "ReduceMean")
    node.op_type = "GlobalAveragePool"
    del node.input[1:]
    del node.attribute[:]
    onnx.save(m, tmp_path / "gap.onnx")
    x = np.random.default_rng(1).uniform(-1, 1, (24, 2, 14, 14)).astype(np.float32)
    g, rep = compile_and_verify(tmp_path / "gap.onnx", tmp_path / "build", inputs=x, num_random=8)
    _check_exact(g, rep, {"AvgPool", "VVAU"})
    assert any(l.name.startswith("GlobalAveragePool") and l.kind == "AvgPool" for l in g.layers)


def test_mobilenet_v1_style_exact_folded_and_csim(mobilenet):
    from boards.catalog import get_board
    from compiler.backends.hls.project import generate_project
    from compiler.backends.hls.csim import check_csim, compile_csim
    from compiler.sim.ir_inputs import random_inputs
    from compiler.estimate.folding import fold_graph
    from compiler.sim.hostops import run_pre

    d, onnx_path = mobilenet
    x = np.random.default_rng(2).uniform(-1, 1, (32, 3, 16, 16)).astype(np.float32)
    g, rep = compile_and_verify(onnx_path, d / "build", inputs=x, num_random=16)
    _check_exact(g, rep, {"AvgPool", "VVAU", "MVTU", "SlidingWindow"})
    assert sum(l.kind == "VVAU" for l in g.layers) == 2
    _nontrivial(g, x)
    cost, source, _ = fold_graph(g, get_board("Pynq-Z1"), target_fps="max")
    assert source == "optimizer" and any(l.pe > 1 for l in g.layers if l.kind in ("VVAU", "AvgPool"))
    proj = generate_project(g, d / "hls")
    compile_csim(proj.path)
    ints = np.asarray(run_pre(g.input, x[:8])).reshape(8, *g.layers[0].in_shape).astype(np.int64)
    res = check_csim(g, proj.path, np.concatenate([ints, random_inputs(g, 8, seed=3)]))
    assert res.frames == 16 and res.ok, res.first_mismatch


def test_overlapping_padded_average_pools_are_exact(tmp_path):
    """nn.AvgPool2d(3, stride=2, padding=1) (exported with count_include_pad=1: every window divides by 9, padding
    adds zeros) and an overlapping TruncAvgPool2d(3, stride=1): exact against QONNX, with the padded windows."""
    torch.manual_seed(5)
    m = nn.Sequential(quant_act(4), nn.AvgPool2d(3, stride=2, padding=1), qid(4),                 # 9x9 -> 5x5
                      qnn.TruncAvgPool2d(3, stride=1, bit_width=4), quant_act(4),          # 5x5 -> 3x3
                      nn.Flatten(), qnn.QuantLinear(2 * 3 * 3, 3, bias=False, weight_quant=weight_quant(4))).eval()
    p = export(m, tmp_path / "m.onnx", (2, 9, 9))
    pool = next(n for n in onnx.load(p).graph.node if n.op_type == "AveragePool")
    assert {a.name: onnx.helper.get_attribute_value(a) for a in pool.attribute}["pads"] == [1, 1, 1, 1]
    x = np.random.default_rng(5).uniform(-1, 1, (24, 2, 9, 9)).astype(np.float32)
    g, rep = compile_and_verify(p, tmp_path / "b", inputs=x, num_random=16)
    _check_exact(g, rep, {"AvgPool"})
    pools = [l for l in g.layers if l.kind == "AvgPool"]
    assert [(l.attrs["kernel"], l.attrs["stride"], l.attrs["pad"], l.out_shape) for l in pools] == [
        ([3, 3], [2, 2], [1, 1, 1, 1], (5, 5, 2)), ([3, 3], [1, 1], [0, 0, 0, 0], (3, 3, 2))]
    _nontrivial(g, x)


def test_average_pool_excluding_padding_is_refused(tmp_path):
    """count_include_pad=False needs a divisor per border position: a clear refusal naming the node."""
    m = nn.Sequential(quant_act(4), nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), quant_act(4),
                      nn.Flatten(), qnn.QuantLinear(2 * 3 * 3, 3, bias=False, weight_quant=weight_quant(4))).eval()
    p = export(m, tmp_path / "m.onnx", (2, 6, 6))
    with pytest.raises(CompileError, match=r"AveragePool.*count_include_pad=0.*divisor per position"):
        compile_and_verify(p, tmp_path / "b")


def test_channel_multiplier_and_grouped_convs_are_exact(tmp_path):
    """A depthwise conv with channel multiplier 2 (groups == in_channels, out = 2 x in; binary weights, so the
    zeros need a wider weight type) and a 2-group conv: dense MVTUs with zero weights outside each group, exact."""
    torch.manual_seed(6)
    m = nn.Sequential(quant_act(4), qnn.QuantConv2d(4, 8, 3, groups=4, padding=1, bias=False,
                                                    weight_quant=weight_quant(1)), nn.BatchNorm2d(8), quant_act(4),
                      qnn.QuantConv2d(8, 6, 3, groups=2, bias=False, weight_quant=weight_quant(4)), nn.BatchNorm2d(6),
                      quant_act(4), nn.Flatten(), qnn.QuantLinear(6 * 4 * 4, 3, bias=False,
                                                                  weight_quant=weight_quant(4)))
    p = export(randomize_bn(m, 6), tmp_path / "m.onnx", (4, 6, 6))
    x = np.random.default_rng(6).uniform(-1, 1, (24, 4, 6, 6)).astype(np.float32)
    g, rep = compile_and_verify(p, tmp_path / "b", inputs=x, num_random=8)
    _check_exact(g, rep, {"MVTU", "SlidingWindow"})
    mult, grouped = [l for l in g.layers if l.kind == "MVTU"][:2]
    assert (mult.attrs["MH"], mult.attrs["MW"], mult.attrs["weight_dtype"]) == (8, 36, "INT2")
    w = mult.arrays["weights"].reshape(8, 9, 4)                     # (out, ky*kx, in): out o reads in o // 2 only
    assert all(not np.any(np.delete(w[o], o // 2, axis=1)) and np.any(w[o][:, o // 2]) for o in range(8))
    assert (grouped.attrs["MH"], grouped.attrs["MW"]) == (6, 72)
    assert not np.any(grouped.arrays["weights"].reshape(6, 9, 8)[:3, :, 4:])


def test_inconsistent_groups_are_refused(tmp_path):
    m = nn.Sequential(quant_act(4), qnn.QuantConv2d(4, 4, 3, groups=2, bias=False, weight_quant=weight_quant(4)),
                      quant_act(4), nn.Flatten(), qnn.QuantLinear(4 * 4 * 4, 3, bias=False,
                                                                   weight_quant=weight_quant(4))).eval()
    p = export(m, tmp_path / "m.onnx", (4, 6, 6))
    bad = onnx.load(p)
    conv = next(n for n in bad.graph.node if n.op_type == "Conv")
    next(a for a in conv.attribute if a.name == "group").i = 3
    onnx.save(bad, tmp_path / "bad.onnx")
    with pytest.raises(CompileError, match=r"Conv.*group=3 on 4 channels.*do not divide"):
        compile_and_verify(tmp_path / "bad.onnx", tmp_path / "b")


def test_trunc_avg_pool_without_requantizer(tmp_path):
    """Brevitas TruncAvgPool2d feeding a layer directly (as resnet18_4w4a's final pool): Trunc is the quantizer."""
    from brevitas.quant import TruncTo8bit

    torch.manual_seed(3)
    m = nn.Sequential(quant_act(4), qnn.QuantConv2d(2, 4, 3, bias=False, weight_quant=weight_quant(4)),
                      nn.BatchNorm2d(4), qid(4), qnn.TruncAvgPool2d(kernel_size=3, trunc_quant=TruncTo8bit,
                                                                     float_to_int_impl_type="FLOOR"),
                      nn.Flatten(), qnn.QuantLinear(4 * 2 * 2, 3, bias=False, weight_quant=weight_quant(4)))
    p = export(randomize_bn(m, 3), tmp_path / "m.onnx", (2, 8, 8))
    x = np.random.default_rng(3).uniform(-1, 1, (32, 2, 8, 8)).astype(np.float32)
    g, rep = compile_and_verify(p, tmp_path / "b", inputs=x, num_random=8)
    _check_exact(g, rep, {"AvgPool"})
    pool = next(l for l in g.layers if l.kind == "AvgPool")
    assert pool.attrs["kernel"] == [3, 3] and pool.name in rep.integer_layers
    _nontrivial(g, x)
