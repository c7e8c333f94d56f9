"""A first layer on float input (`bnnc compile --input-bits B [--input-mean/--input-std]`): models written in raw
Brevitas whose first QuantConv/QuantLinear reads normalized float pixels (no input quantizer) compile and verify
against QONNX with zero tolerance on their integer layers; the accelerator takes the raw pixels (layer 0's integers
are the pixels), the runtime accepts the model inputs users have (normalized floats) and uint8 images; per-channel
stds (ImageNet's) fold as integer multipliers of one unit in the first layer's weights, C-simulated bit-exactly;
what has no integer form is refused naming the node. Brevitas's own resnet18_4w4a: tests/compiler/frontend/test_resnet18.py;
rtlsim: tests/compiler/backends/rtl/test_rtl_normalized_input.py; FINN: tests/finn."""
import json

import brevitas.nn as qnn
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from bnnc.compile import compile_cmd
from compiler.workflow.compile import compile_model
from diagnostics.errors import CompileError
from compiler.frontend.raw_input import normalize
from compiler.sim.hostops import run_pre
from normalized_models import (IMAGENET_MEAN, IMAGENET_RAW, IMAGENET_STD, Normalize, imagenet_normalized_build,
                               per_channel_cnn)
from user_models import _bn, export_raw


def float_input_cnn(pad: int = 1, norm: nn.Module | None = None) -> nn.Module:
    """First QuantConv2d on float input (8-bit per-channel float weights, as resnet18_4w4a's first layer), BN,
    QuantReLU 4-bit, a second conv and an FC head."""
    from brevitas.quant import Int8WeightPerChannelFloat

    torch.manual_seed(7)
    layers = ([norm] if norm is not None else []) + [
        qnn.QuantConv2d(3, 8, 3, padding=pad, bias=False, weight_quant=Int8WeightPerChannelFloat),
        nn.BatchNorm2d(8), qnn.QuantReLU(bit_width=4),
        qnn.QuantConv2d(8, 8, 3, stride=2, bias=False, weight_bit_width=4), nn.BatchNorm2d(8),
        qnn.QuantReLU(bit_width=4), nn.Flatten(), qnn.QuantLinear(8 * 3 * 3, 4, bias=True)]
    return _bn(nn.Sequential(*layers), 8)


def float_input_mlp() -> nn.Module:
    torch.manual_seed(9)
    return _bn(nn.Sequential(nn.Flatten(), qnn.QuantLinear(2 * 6 * 6, 16, bias=True), nn.BatchNorm1d(16),
                             qnn.QuantReLU(bit_width=3), qnn.QuantLinear(16, 4, bias=True)), 10)


def _verified(path, out, raw):
    g = compile_model(path, out, verify=True, num_random=48, raw_input=raw)
    v = json.loads((out / "verify.json").read_text())
    assert v["ok"] and v["integer_layers"]["mismatching_frames"] == 0, v
    assert v["integer_layers"]["per_layer"][g.layers[1].name] == 0      # the first MVTU (after its window)
    return g


def test_padded_conv_on_unit_pixels(tmp_path):
    """ToTensor-style inputs (p / 255), zero padding: layer 0 takes the raw pixels, which the host recovers exactly
    from the float model inputs; uint8 images are accepted through the recorded preprocessing."""
    path = export_raw(float_input_cnn(), tmp_path / "m.onnx", (3, 8, 8), False)
    with pytest.raises(CompileError, match=r"Conv_0.*without --input-bits"):
        compile_model(path, tmp_path / "refused")
    raw = {"bits": 8, "mean": [0.0], "std": [1.0]}
    g = _verified(path, tmp_path / "b", raw)
    assert g.input.dtype == "UINT8" and g.layers[0].kind == "SlidingWindow" and g.layers[0].attrs["pad"] == [1] * 4
    p = np.random.default_rng(0).integers(0, 256, (6, 3, 8, 8))
    ints = run_pre(g.input, normalize(raw, p))
    np.testing.assert_array_equal(ints.reshape(6, 8, 8, 3), p.transpose(0, 2, 3, 1))
    assert g.meta["model"]["preprocess"]["range"] == "unit"

    from boards.runtime import Accelerator
    from compiler.workflow.deploy import assemble_deploy

    assemble_deploy(tmp_path / "b", tmp_path / "d", samples=0)
    with Accelerator(tmp_path / "d", backend="sim") as acc:
        a = acc.run(normalize(raw, p)).labels
        b = acc.run(p.astype(np.uint8)).labels
    np.testing.assert_array_equal(a, b)


def test_normalization_in_the_graph_and_given(tmp_path):
    """A Sub/Div normalization inside the model (per-channel mean, one std) is folded; so is one given as
    --input-mean/--input-std for an unpadded MLP (its mean becomes part of the bias)."""
    norm = Normalize([0.485, 0.456, 0.406], [0.25, 0.25, 0.25])
    path = export_raw(float_input_cnn(pad=0, norm=norm), tmp_path / "n.onnx", (3, 10, 10), False)
    _verified(path, tmp_path / "b", {"bits": 8, "mean": [0.0], "std": [1.0]})

    path = export_raw(float_input_mlp(), tmp_path / "mlp.onnx", (2, 6, 6), False)
    r = CliRunner().invoke(compile_cmd, [path, "-o", str(tmp_path / "c"), "--verify", "--input-bits", "8",
                                         "--input-mean", "0.5,0.25", "--input-std", "0.5"])
    assert r.exit_code == 0 and "verified:" in r.output, r.output
    v = json.loads((tmp_path / "c" / "verify.json").read_text())
    assert v["ok"] and v["integer_layers"]["per_layer"]["Gemm_0_mvtu"] == 0, v


def test_common_unit_of_per_channel_scales():
    """Per-channel scales share an integer unit within one float32 rounding: small multipliers for stds in small
    ratios, ImageNet's needs 16-bit ones, unrelated per-feature scales none."""
    from compiler.frontend.raw_input import MAX_MULT, UNIT_TOL, common_unit

    def scales(std):
        return (1 / 255) / np.asarray(np.float32(std), np.float64)

    for std, want in (([0.3, 0.3, 0.3], [1, 1, 1]), ([0.5, 0.25, 0.125], [1, 2, 4]), ([0.2, 0.3, 0.4], [6, 4, 3])):
        unit, m = common_unit(scales(std))
        assert m.tolist() == want, (std, m)
    a = scales(IMAGENET_STD)
    unit, m = common_unit(a)
    assert m.tolist() == [37856, 38701, 38529] and np.all(np.abs(m * unit - a) <= UNIT_TOL * a)
    assert common_unit(-a)[1].tolist() == [-37856, -38701, -38529]            # a negative scale: negative m
    assert common_unit(scales(np.random.default_rng(0).uniform(0.1, 1.0, 12))) is None
    assert common_unit(scales(IMAGENET_STD), max_mult=MAX_MULT // 2) is None


def test_per_channel_std_folds_exactly(tmp_path):
    """ImageNet's per-channel mean and std, inside the model (Sub/Div) and given on the command line: the first
    layer's weights take the integer multipliers of one common unit, layer 0 takes the raw pixels, QONNX agrees on
    every integer layer, the folded HLS C-simulates bit-exactly, and the runtime predicts the same classes from the
    normalized floats and from the uint8 images."""
    from compiler.backends.hls.project import generate_project
    from compiler.backends.hls.csim import check_csim, compile_csim

    norm = Normalize(IMAGENET_MEAN, IMAGENET_STD)
    path = export_raw(per_channel_cnn(norm), tmp_path / "g.onnx", (3, 10, 10), False)
    g = _verified(path, tmp_path / "g", {"bits": 8, "mean": [0.0], "std": [1.0]})
    first = g.layers[1]
    assert g.input.dtype == "UINT8" and first.attrs["weight_dtype"] == "INT20", first.attrs
    assert any("multipliers [37856, 38529, 38701]" in n for n in g.meta["notes"]), g.meta["notes"]

    g, path = imagenet_normalized_build(tmp_path / "f")
    r = CliRunner().invoke(compile_cmd, [path, "-o", str(tmp_path / "c"), "--verify", "--input-bits", "8",
                                         "--input-mean", ",".join(map(str, IMAGENET_MEAN)),
                                         "--input-std", ",".join(map(str, IMAGENET_STD))])
    assert r.exit_code == 0 and "verified:" in r.output, r.output
    for v in (json.loads((tmp_path / d / "verify.json").read_text()) for d in ("c", "f/build")):
        assert v["ok"] and v["integer_layers"]["mismatching_frames"] == 0 and v["integer_layers"]["checked"] == 2, v
    raw = IMAGENET_RAW
    assert g.meta["model"]["preprocess"]["std"] == IMAGENET_STD
    p = np.random.default_rng(3).integers(0, 256, (10, 3, 10, 10))
    ints = run_pre(g.input, normalize(raw, p))
    np.testing.assert_array_equal(ints.reshape(10, 10, 10, 3), p.transpose(0, 2, 3, 1))
    assert max(l.pe * l.simd for l in g.layers) > 1          # the optimiser folded it
    proj = generate_project(g, tmp_path / "hls").path
    compile_csim(proj)
    res = check_csim(g, proj, ints.reshape(10, 10, 10, 3).astype(np.int64))
    assert res.frames == 10 and res.ok, res.first_mismatch

    from boards.runtime import Accelerator
    from compiler.workflow.deploy import assemble_deploy

    assemble_deploy(tmp_path / "f" / "build", tmp_path / "d", samples=0)
    with Accelerator(tmp_path / "d", backend="sim") as acc:
        a = acc.predict(normalize(raw, p))
        b = acc.predict(p.astype(np.uint8))
        with pytest.raises(Exception, match=r"outside .* normalized range"):
            acc.predict(p.astype(np.float32))          # pixels as floats are not the model's input
    np.testing.assert_array_equal(a, b)


def test_per_channel_std_on_a_1d_signal(tmp_path):
    """Raw 8-bit samples of a two-channel signal (keyword spotting on raw audio, vibration): a QuantConv1d on the
    normalized floats, per-channel mean and std (0.2, 0.3: multipliers 3 and 2), exact against QONNX."""
    torch.manual_seed(3)
    m = _bn(nn.Sequential(qnn.QuantConv1d(2, 6, 5, stride=2, bias=False, weight_bit_width=4), nn.BatchNorm1d(6),
                          qnn.QuantReLU(bit_width=4), nn.MaxPool1d(2),
                          qnn.QuantConv1d(6, 6, 3, bias=False, weight_bit_width=4), nn.BatchNorm1d(6),
                          qnn.QuantReLU(bit_width=4), nn.Flatten(), qnn.QuantLinear(6 * 5, 3, bias=True)), 4)
    path = export_raw(m, tmp_path / "s.onnx", (2, 32), False)
    raw = {"bits": 8, "mean": [0.5, 0.25], "std": [0.2, 0.3]}
    g = _verified(path, tmp_path / "b", raw)
    assert g.layers[0].in_shape == (1, 32, 2) and g.layers[1].attrs["weight_dtype"] == "INT6"
    assert any("multipliers [2, 3]" in n for n in g.meta["notes"]), g.meta["notes"]

    from boards.runtime import Accelerator
    from compiler.workflow.deploy import assemble_deploy

    p = np.random.default_rng(4).integers(0, 256, (7, 2, 32))
    assemble_deploy(tmp_path / "b", tmp_path / "d", samples=0)
    with Accelerator(tmp_path / "d", backend="sim") as acc:        # normalized floats and raw uint8 samples
        np.testing.assert_array_equal(acc.predict(normalize(raw, p)), acc.predict(p.astype(np.uint8)))


def test_refusals_name_the_node(tmp_path):
    path = export_raw(float_input_cnn(), tmp_path / "m.onnx", (3, 8, 8), False)
    with pytest.raises(CompileError, match=r"Conv_0.*zero padding of the normalized input is the pixel value"):
        compile_model(path, tmp_path / "b", raw_input={"bits": 8, "mean": [0.5, 0.5, 0.5], "std": [0.5]})
    with pytest.raises(CompileError, match=r"Conv_0.*zero padding of the normalized input is the pixel value"):
        compile_model(path, tmp_path / "b", raw_input={"bits": 8, "mean": [0.5, 0.5, 0.5], "std": [0.2, 0.3, 0.4]})
    # ImageNet's stds on an 8-bit first layer: the common unit's 16-bit multipliers overflow 32-bit accumulators
    with pytest.raises(CompileError, match=r"Conv_0.*multipliers \[37856, 38529, 38701\].*accumulator would "
                       r"then reach \d+ > 2\^31"):
        compile_model(path, tmp_path / "b", raw_input={"bits": 8, "mean": [0.0], "std": IMAGENET_STD})
    # stds in no small ratio: no common unit within MAX_MULT at all
    with pytest.raises(CompileError, match=r"Conv_0.*different scales per channel.*no common integer unit"):
        compile_model(path, tmp_path / "b", raw_input={"bits": 8, "mean": [0.0], "std": [0.1234567, 0.7654321,
                                                                                          0.4567891]})
    r = CliRunner().invoke(compile_cmd, [path, "-o", str(tmp_path / "b"), "--input-mean", "0.5"])
    assert r.exit_code != 0 and "--input-mean/--input-std need --input-bits" in r.output, r.output
    assert not (tmp_path / "b").exists()


def test_wrong_first_layer_threshold_is_caught(tmp_path):
    """The first layer is marked for rounding ties (QONNX rounds the normalized pixels): a threshold moved by one
    accumulator step is still a mismatch, not excused as a tie."""
    from compiler.frontend.ingest import load_model
    from compiler.frontend.lower import lower
    from compiler.sim.verify import verify_graph

    path = export_raw(float_input_cnn(), tmp_path / "m.onnx", (3, 8, 8), False)
    cleaned = load_model(path)
    g = lower(cleaned, "m", raw_input={"bits": 8, "mean": [0.0], "std": [1.0]})
    first = g.layers[1]
    assert verify_graph(path, g, num_random=32, cleaned=cleaned).ok
    first.arrays["thresholds"] = first.arrays["thresholds"] + 40
    rep = verify_graph(path, g, num_random=32, cleaned=cleaned)
    assert not rep.ok and rep.layer_mismatches[first.name] > 0

    # per-channel stds: the tie band grows with the multipliers, but a threshold moved by one pixel step through a
    # weight of 1 (the smallest multiplier's units) is still a mismatch
    path = export_raw(per_channel_cnn(), tmp_path / "pc.onnx", (3, 10, 10), False)
    cleaned = load_model(path)
    g = lower(cleaned, "pc", raw_input=IMAGENET_RAW)
    first = g.layers[1]
    assert verify_graph(path, g, num_random=32, cleaned=cleaned).ok
    first.arrays["thresholds"] = first.arrays["thresholds"] + 37856
    rep = verify_graph(path, g, num_random=32, cleaned=cleaned)
    assert not rep.ok and rep.layer_mismatches[first.name] > 0
