"""Brevitas MLPs/CNNs -> QONNX -> IR, compared with QONNX execution: zero mismatches, layer by layer."""
import numpy as np
import pytest

from brevitas_models import cnn, compile_and_verify, export, mlp


def _check(tmp_path, model, in_shape, layers=True, **kw):
    path = export(model, tmp_path / "m.onnx", in_shape)
    g, rep = compile_and_verify(path, tmp_path / "build", **kw)
    assert rep.ok, rep.describe()
    assert rep.n_inputs > 30 and (rep.checked_layers or not layers), rep.summary()
    assert (tmp_path / "build" / "graph.json").is_file()
    return g


@pytest.mark.parametrize("w,a", [(1, 1), (1, 2), (2, 2)])
def test_mlp_exact(tmp_path, w, a):
    g = _check(tmp_path, mlp(w, a, seed=w * 10 + a), (20,))
    mvtus = [l for l in g.layers if l.kind == "MVTU"]
    assert [l.attrs["noact"] for l in mvtus] == [False, False, True]
    assert mvtus[0].attrs["binary_xnor"] == (w == 1 and a == 1)
    thr = mvtus[0].arrays["thresholds"]
    assert thr.shape == (16, 1 if a == 1 else 2 ** a - 1)
    assert len(np.unique(thr)) > 3, "randomised BatchNorm must give non-trivial thresholds"


def test_mlp_bias_no_bn_8bit_input(tmp_path):
    g = _check(tmp_path, mlp(2, 2, bias=True, bn=False, in_bits=8, seed=3), (20,))
    assert g.input.dtype == "INT8" and g.input.pre[0]["op"] == "quant"


def test_negative_bn_gamma_negates_rows(tmp_path):
    g = _check(tmp_path, mlp(1, 1, seed=5, negative=True), (20,))
    first = g.layers[0]
    assert first.out_dtype == "BIPOLAR" and first.arrays["weights"].shape == (16, 20)


@pytest.mark.parametrize("kw", [
    dict(w=1, a=1),
    dict(w=1, a=2, pad=1),
    dict(w=2, a=2, in_bits=8, bias=True),
    dict(w=1, a=1, pool_before_act=True),
])
def test_cnn_exact(tmp_path, kw):
    w, a = kw.pop("w"), kw.pop("a")
    g = _check(tmp_path, cnn(w, a, seed=7, **kw), (2, 8, 8))
    kinds = [l.kind for l in g.layers]
    assert kinds[:3] == ["SlidingWindow", "MVTU", "MaxPool"]
    if kw.get("pad") and a >= 1:
        assert g.layers[0].attrs["pad"] == [1, 1, 1, 1]


def test_bipolar_padding_widens_to_int2(tmp_path):
    g = _check(tmp_path, cnn(1, 1, pad=1, pool=False, seed=11), (2, 8, 8))
    swg = [l for l in g.layers if l.kind == "SlidingWindow"]
    assert swg[0].in_dtype == "BIPOLAR" and swg[0].out_dtype == "INT2"
    assert not g.layers[1].attrs["binary_xnor"]


def test_pool_before_decreasing_activation_is_rejected(tmp_path):
    from diagnostics.errors import CompileError

    path = export(cnn(1, 1, pool_before_act=True, negative=True, seed=2), tmp_path / "m.onnx", (2, 8, 8))
    with pytest.raises(CompileError, match="MaxPool"):
        compile_and_verify(path, tmp_path / "build")
    assert not (tmp_path / "build").exists()


def test_output_after_quantizer(tmp_path):
    import brevitas.nn as qnn
    from torch import nn

    from bnn.quant import weight_quant
    from brevitas_models import quant_act, randomize_bn

    m = randomize_bn(nn.Sequential(quant_act(2), qnn.QuantLinear(12, 7, bias=True, weight_quant=weight_quant(2)),
                                   nn.BatchNorm1d(7), quant_act(2)), seed=3)
    g = _check(tmp_path, m, (12,))
    assert not g.layers[-1].attrs["noact"] and g.output.post[-1]["op"] == "mul"


def test_conv_output_without_fc(tmp_path):
    import brevitas.nn as qnn
    from torch import nn

    from bnn.quant import weight_quant
    from brevitas_models import quant_act

    m = nn.Sequential(quant_act(1), qnn.QuantConv2d(2, 3, 3, stride=2, bias=True, weight_quant=weight_quant(1))).eval()
    g = _check(tmp_path, m, (2, 7, 7), layers=False)   # one layer, its bias-free accumulator is not a tensor
    assert g.layers[-1].attrs["noact"] and g.layers[0].attrs["stride"] == [2, 2]
    assert g.output.post[0] == {"op": "transpose", "perm": [2, 0, 1]}


def test_topk_label_select(tmp_path):
    g = _check(tmp_path, mlp(1, 1, seed=4, n_out=6), (20,), topk=3)
    assert g.layers[-1].kind == "LabelSelect" and g.layers[-1].out_shape == (3,)
    assert g.output.post == []


def test_topk_refused_with_per_class_bias(tmp_path):
    from diagnostics.errors import CompileError

    path = export(mlp(1, 1, seed=4, bias=True), tmp_path / "m.onnx", (20,))
    with pytest.raises(CompileError, match="topk"):
        compile_and_verify(path, tmp_path / "build", topk=2)
    assert not (tmp_path / "build").exists()


def test_user_model_with_float_scales_is_reported_honestly(tmp_path):
    """Per-channel float weight scales, unsigned QuantReLU, float-scaled 8-bit input: the integer layers match
    QONNX exactly, and the non-power-of-two float tail is flagged, then verified within its rounding bound."""
    import brevitas.nn as qnn
    from brevitas.quant import Int8ActPerTensorFloat, Int8WeightPerChannelFloat, Uint8ActPerTensorFloat
    from torch import nn

    from brevitas_models import randomize_bn

    wq, aq = Int8WeightPerChannelFloat.let(bit_width=4), Uint8ActPerTensorFloat.let(bit_width=2)
    m = randomize_bn(nn.Sequential(
        qnn.QuantIdentity(act_quant=Int8ActPerTensorFloat),
        qnn.QuantConv2d(3, 6, 3, padding=1, bias=True, weight_quant=wq), nn.BatchNorm2d(6), qnn.QuantReLU(act_quant=aq),
        nn.MaxPool2d(2), nn.Flatten(), qnn.QuantLinear(6 * 4 * 4, 5, bias=True, weight_quant=wq)), seed=3, negative=True)
    path = export(m, tmp_path / "u.onnx", (3, 8, 8))
    g, rep = compile_and_verify(path, tmp_path / "b", num_random=64)
    assert g.meta["output_exact"] is False and any("power of two" in n for n in g.meta["notes"])
    assert rep.integer_layers and not any(rep.layer_mismatches.values()), rep.describe()
    assert rep.ok and rep.tail_layer == g.layers[-1].name and rep.max_abs_diff <= rep.max_bound, rep.describe()
