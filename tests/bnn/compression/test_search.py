"""The hardware-aware search on small synthetic problems: RTL-flow pricing and the binding resource, the
resource-weighted regulariser, HAWQ sensitivities, bit assignments within budget, topology morphing, and
mixed-precision / morphed students compiling exactly (`bnnc compile --verify`, rtlsim when Verilator is there)."""
import shutil

import pytest
import torch
from click.testing import CliRunner

from bnnc import main as bnnc

from bnn.compress.bits import assign_bits, with_bits
from bnn.compress.budget import ResourceBudget
from bnn.compress.hwcost import channel_costs, estimate_model, estimate_spec, with_widths
from bnn.compress.morphnet import CostWeightedL1, dead_layers, fit_budget_morphing, morph
from bnn.compress.search import SearchConfig, search
from bnn.compress.sensitivity import Sensitivity, layer_sensitivity, quant_error
from bnn.compress.surgery import hidden_layers
from bnn.export import export_qonnx
from bnn.topologies import ModelSpec, from_spec, hidden_widths, layer_bits, make_spec
from bnn.train import TrainConfig

BOARD, FPS = "pynq-z2", 20000


def _spread_bn(model, seed=0):
    """Random BatchNorm statistics, so that activations take a spread of values (untrained models are near 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) * 6 - 3)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) * 3 + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 2 - 1)
                m.bias.copy_(torch.rand(m.bias.shape, generator=g) * 2 - 1)
    return model.eval()


def _compile_verify(model, tmp_path, name, rtl=True, fps=FPS):
    onnx = tmp_path / f"{name}.onnx"
    export_qonnx(model, onnx, (1, 28, 28), dynamo=False)
    out = tmp_path / name
    args = ["compile", str(onnx), "--verify", "--board", BOARD, "--target-fps", str(fps), "-o", str(out)]
    res = CliRunner().invoke(bnnc, args + (["--rtl"] if rtl else []))       # in this process: no interpreter start
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "0 output mismatches" in res.output and "all exact" in res.output, res.output
    return out


def test_per_layer_bits_spec_is_additive():
    plain = make_spec("sfc", 1, 1, hidden=[8, 8])
    assert "layer_weight_bits" not in plain.to_dict() and "layer_act_bits" not in plain.to_dict()
    assert layer_bits(plain) == ([1, 1, 1], [1, 1])
    mixed = make_spec("sfc", 1, 1, hidden=[8, 8], layer_weight_bits=[2, 1, 4], layer_act_bits=[3, 1])
    assert ModelSpec(**mixed.to_dict()) == mixed
    model = from_spec(mixed)
    assert [m.quant_weight().bit_width.item() for m in model if hasattr(m, "quant_weight")] == [2, 1, 4]
    with pytest.raises(ValueError, match="layer_weight_bits needs 3"):
        make_spec("sfc", 1, 1, hidden=[8, 8], layer_weight_bits=[2, 1], layer_act_bits=[1, 1])
    with pytest.raises(ValueError, match="1..8"):
        make_spec("sfc", 1, 1, hidden=[8, 8], layer_weight_bits=[2, 1, 9], layer_act_bits=[1, 1])


def test_rtl_flow_prices_what_compile_rtl_reports(tmp_path):
    spec = make_spec("sfc", 1, 1, hidden=[32, 16], input_bits=8, layer_weight_bits=[2, 1, 3], layer_act_bits=[2, 1])
    torch.manual_seed(0)
    model = _spread_bn(from_spec(spec))
    est = estimate_model(model, (1, 28, 28), BOARD, FPS, flow="rtl")
    out = _compile_verify(model, tmp_path, "mixed")
    import json

    rep = json.loads((out / "report.json").read_text())
    assert rep["flow"] == "rtl"
    total = rep["total"] if "total" in rep else rep["resources"]["total"]
    assert est.lut == pytest.approx(total["lut"], abs=1) and est.bram18 == pytest.approx(total["bram18"], abs=0.5)
    assert est.flow == "rtl" and est.accel_lut == est.lut - est.shell_lut and est.shell_lut > 0
    # a spec is priced with seed-0 weights: k-bit accumulators and thresholds of other weights differ a little
    assert estimate_spec(spec, BOARD, FPS, flow="rtl").lut == pytest.approx(est.lut, rel=0.03)
    assert estimate_spec(spec, BOARD, FPS, flow="hls").lut != est.lut


def test_binding_resource_and_regulariser_weighted_by_it():
    spec = make_spec("sfc", 1, 1, hidden=[32, 32, 32], input_bits=8)
    est = estimate_spec(spec, BOARD, FPS, flow="rtl")
    b = ResourceBudget(BOARD, FPS, lut=est.lut * 10, bram18=est.bram18 * 1.01)
    assert b.binding(spec).resource == "bram18"
    assert ResourceBudget(BOARD, FPS, lut=est.lut * 1.01, bram18=est.bram18 * 10).binding(spec).resource == "lut"
    for metric in ("lut", "bram18"):
        cc = channel_costs(spec, BOARD, FPS, metric, flow="rtl")
        for i, (r, s) in enumerate(zip(cc.reduced, cc.steps)):
            w = hidden_widths(spec)
            w[i] -= s
            assert r == estimate_spec(with_widths(spec, w), BOARD, FPS, flow="rtl").metric(metric)
        reg = CostWeightedL1(cc, 1.0)
        raw = [max(0.0, c) for c in cc.per_channel]
        if sum(raw):
            assert reg.weights == pytest.approx([c / (sum(raw) / len(raw)) for c in raw])
    with pytest.raises(ValueError, match="at least one limit"):
        ResourceBudget(BOARD, FPS)


def test_quant_error_falls_with_bits_and_sensitivity_methods(tiny_data):
    x = torch.randn(4, 300)
    errs = [float(quant_error(x, b, narrow=False).sum()) for b in (1, 2, 3, 4)]
    assert errs == sorted(errs, reverse=True) and errs[-1] < errs[0] / 10
    torch.manual_seed(0)
    model = from_spec(make_spec("sfc", 1, 1, hidden=[16, 16], input_bits=8))
    for method in ("fisher", "hutchinson"):
        s = layer_sensitivity(model, tiny_data[0], method=method, n_batches=2, batch_size=32)
        assert len(s.weights) == 3 and len(s.acts) == 2
        assert all(t >= 0 for t in s.weight_trace + s.act_trace) or method == "hutchinson"
        for d in s.weights + s.acts:
            assert d[1] >= d[4]
        assert s.total([1, 1, 1], [1, 1]) >= s.total([4, 4, 4], [4, 4])


def _fake_sensitivity(n_hidden, act_weight=1.0):
    scale = {1: 1.0, 2: 0.4, 3: 0.15, 4: 0.05}
    return Sensitivity((1, 2, 3, 4), [{b: (i + 1) * v for b, v in scale.items()} for i in range(n_hidden + 1)],
                       [{b: act_weight * v for b, v in scale.items()} for _ in range(n_hidden)])


def test_bit_assignment_respects_the_budget():
    spec = make_spec("sfc", 1, 1, hidden=[32, 32], input_bits=8)
    cheapest = estimate_spec(with_bits(spec, [1, 1, 1], [1, 1]), BOARD, FPS, flow="rtl")
    for extra in (1.05, 1.4):
        b = ResourceBudget(BOARD, FPS, lut=cheapest.lut * extra)
        a = assign_bits(spec, _fake_sensitivity(2), b)
        assert a.met and a.estimate.lut <= b.lut and a.estimate.met
        assert a.estimate.lut == estimate_spec(a.spec, BOARD, FPS, flow="rtl").lut
        assert all(st["lut"] <= b.lut for st in a.steps)
        assert all(1 <= x <= 4 for x in a.weight_bits + a.act_bits)
        assert a.predicted <= _fake_sensitivity(2).total([1, 1, 1], [1, 1])
    loose = assign_bits(spec, _fake_sensitivity(2), ResourceBudget(BOARD, FPS, lut=cheapest.lut * 1.4))
    assert loose.predicted < _fake_sensitivity(2).total([1, 1, 1], [1, 1])      # the slack was spent on bits
    tight = assign_bits(spec, _fake_sensitivity(2), ResourceBudget(BOARD, FPS, lut=cheapest.lut * 0.9))
    assert not tight.met and "misses the budget" in tight.message
    dsp = assign_bits(spec, _fake_sensitivity(2), ResourceBudget(BOARD, FPS, lut=cheapest.lut * 3, dsp=0,
                                                                 resource="dsp"))
    assert dsp.met and dsp.estimate.dsp == 0


def test_morphing_removes_an_emptied_layer_and_compiles_exactly(tmp_path):
    spec = make_spec("sfc", 1, 1, hidden=[24, 16, 16], input_bits=8, layer_weight_bits=[2, 1, 1, 2],
                     layer_act_bits=[1, 2, 1])
    torch.manual_seed(0)
    model = _spread_bn(from_spec(spec))
    with torch.no_grad():
        model[hidden_layers(model)[1].bn].weight.zero_()            # MorphNet's L1 killed hidden layer 1
    from bnn.compress.surgery import bn_scales

    assert dead_layers(bn_scales(model)) == [1]
    big = estimate_spec(spec, BOARD, FPS, flow="rtl").lut
    new_spec, removed, fit, final = fit_budget_morphing(model, spec, big * 2, BOARD, FPS, flow="rtl")
    assert removed == [1] and hidden_widths(new_spec) == [24, 16]
    assert layer_bits(new_spec) == ([2, 1, 2], [1, 1])
    assert final.met and hidden_widths(final.spec) == hidden_widths(new_spec) or final.cost <= big * 2
    torch.manual_seed(1)
    _compile_verify(_spread_bn(from_spec(final.spec)), tmp_path, "morphed")
    with pytest.raises(ValueError, match="every hidden layer"):
        morph(spec, [0, 1, 2])
    with pytest.raises(ValueError, match=r"hidden layers \[0\] of 'cnv': its convolutions set the spatial size"):
        morph(make_spec("cnv", 1, 1), [0])
    with pytest.raises(ValueError, match="supported for the MLPs and CNV's FC layers"):
        morph(make_spec("mobilenet", 4, 4), [1])


def test_morphing_removes_an_emptied_fc_layer_of_a_cnn_and_compiles_exactly(tmp_path):
    """CNV keeps its convolutions (they set the spatial size), but an FC layer after them that lost all its
    channels is removed like an MLP layer; a dead conv stays and is only narrowed. The morphed CNN compiles
    bit-exactly (`bnnc compile --verify`)."""
    spec = make_spec("cnv28", 1, 1, hidden=[4, 4, 8, 8, 8, 16, 16], input_bits=8,
                     layer_weight_bits=[1, 1, 1, 1, 1, 2, 1, 1], layer_act_bits=[1, 1, 1, 1, 1, 2, 1])
    torch.manual_seed(0)
    model = _spread_bn(from_spec(spec))
    layers = hidden_layers(model)
    with torch.no_grad():
        model[layers[5].bn].weight.zero_()                         # the first FC layer died
        model[layers[1].bn].weight.zero_()                         # and so did a conv, which must stay
    from bnn.compress.surgery import bn_scales

    assert dead_layers(bn_scales(model)) == [1, 5]
    fps = 10000                                                     # a CNV's first window caps it at ~16k
    big = estimate_spec(spec, BOARD, fps, flow="rtl").lut
    new_spec, removed, fit, final = fit_budget_morphing(model, spec, big * 2, BOARD, fps, flow="rtl")
    assert removed == [5] and hidden_widths(new_spec) == [4, 4, 8, 8, 8, 16]
    assert layer_bits(new_spec) == ([1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1])
    morphed = from_spec(final.spec)
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in morphed) == 1    # one hidden FC layer left
    torch.manual_seed(1)
    _compile_verify(_spread_bn(morphed), tmp_path, "morphed_cnn", rtl=False, fps=fps)
    with pytest.raises(ValueError, match="takes 5 to 7 hidden widths"):
        hidden_widths(make_spec("cnv28", 1, 1, hidden=[4, 4, 8, 8]))


@pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed (make setup)")
def test_mixed_precision_student_is_exact_in_rtlsim(tmp_path):
    spec = make_spec("sfc", 1, 1, hidden=[16, 8], input_bits=8, layer_weight_bits=[3, 1, 2], layer_act_bits=[2, 1])
    torch.manual_seed(2)
    out = _compile_verify(_spread_bn(from_spec(spec), 2), tmp_path, "mixed_rtl")
    res = CliRunner().invoke(bnnc, ["rtlsim", str(out), "--frames", "8"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert " 0 mismatched output elements" in res.output


def test_search_returns_a_student_within_budget(tiny_data):
    train_set, val_set = tiny_data
    base = make_spec("sfc", 1, 1, hidden=[32, 32], input_bits=8)
    lut = estimate_spec(base, BOARD, FPS, flow="rtl").lut
    b = ResourceBudget(BOARD, FPS, lut=lut * 0.97)
    cfg = SearchConfig(probe_epochs=1, cycles=2, granularity=4, width_shares=(1.0, 0.7), proxy_epochs=1)
    tcfg = TrainConfig(epochs=1, batch_size=64, progress=False)
    r = search(base, b, train_set, val_set, tcfg, cfg, log=lambda m: None)
    assert r.estimate["lut"] <= b.lut and r.estimate["met"] and r.estimate["flow"] == "rtl"
    assert sum(c.get("chosen", False) for c in r.candidates) == 1
    assert all(c["estimate"]["lut"] <= b.lut for c in r.candidates)
    d = r.as_dict()
    assert len(d["weight_bits"]) == len(d["widths"]) + 1 and len(d["act_bits"]) == len(d["widths"])
    assert len(r.cycles) == 2 and r.cycles[0]["regulariser_weights"]
    assert r.cycles[1]["widths_in"] == r.cycles[0]["expanded"]    # the second cycle regularises the first's result
    with pytest.raises(ValueError, match="search dimensions"):
        SearchConfig.parse("bits,depth")


def test_candidates_keep_every_hidden_layer_at_least_one_granule_wide(tiny_data):
    """A share of a tight budget used to leave a hidden layer at 1 channel (in the full MLP run [1, 256, 256], 37 %
    on validation against 85 %): widths stop at the granularity, and a budget only such a layer would meet is
    refused, naming what the narrowest student costs."""
    train_set, val_set = tiny_data
    base = make_spec("sfc", 1, 1, hidden=[64, 64], input_bits=8)
    lut = estimate_spec(base, BOARD, FPS, flow="rtl").lut
    cfg = SearchConfig(probe_epochs=1, granularity=8, width_shares=(1.0, 0.6, 0.3), proxy_epochs=0, bit_choices=(1, 2))
    tcfg = TrainConfig(epochs=1, batch_size=64, progress=False)
    r = search(base, ResourceBudget(BOARD, FPS, lut=lut * 0.95), train_set, val_set, tcfg, cfg, log=lambda m: None)
    assert len(r.candidates) == 3 and all(w >= 8 for c in r.candidates for w in c["widths"]), r.candidates
    with pytest.raises(ValueError, match=r"the narrowest \(8 channel\(s\) per hidden layer, 1 bit\) costs [\d,]+ lut"):
        search(base, ResourceBudget(BOARD, FPS, lut=lut * 0.85), train_set, val_set, tcfg, cfg, log=lambda m: None)
