import pytest
import torch

from bnn.compress.budget import ResourceBudget, fit_to_budget, uniform_to_budget, uniform_within
from bnn.compress.hwcost import estimate_spec, with_widths
from bnn.compress.morphnet import CostWeightedL1, shrink
from bnn.compress.surgery import bn_scales, hidden_layers
from bnn.topologies import from_spec, make_spec

BOARD, FPS = "pynq-z2", 20000


def _model_with_gammas(spec, seed=0):
    model = from_spec(spec)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for h in hidden_layers(model):
            model[h.bn].weight.copy_(torch.rand(model[h.bn].weight.shape, generator=g) + 0.01)
    return model


def test_penalty_and_proximal_step():
    spec = make_spec("tfc", 1, 1, hidden=[4, 4, 4])
    model = _model_with_gammas(spec)
    reg = CostWeightedL1([1.0, 2.0, 3.0], 0.5)
    assert reg.weights == pytest.approx([0.5, 1.0, 1.5])
    gam = bn_scales(model)
    expected = 0.5 * sum(w * g.sum() for w, g in zip(reg.weights, gam))
    assert reg.penalty(model).item() == pytest.approx(expected.item(), rel=1e-6)
    before = [g.clone() for g in gam]
    reg.prox(model, lr=0.4)
    for w, b, a in zip(reg.weights, before, bn_scales(model)):
        assert torch.allclose(a, torch.clamp(b - 0.4 * 0.5 * w, min=0.0))
    with pytest.raises(ValueError):
        reg.penalty(from_spec(make_spec("tfc", 1, 1, hidden=[4, 4])))


def test_shrink_meets_the_budget_and_keeps_the_largest_scales():
    spec = make_spec("tfc", 1, 1, hidden=[32, 32, 32])
    model = _model_with_gammas(spec)
    full = estimate_spec(spec, BOARD, FPS).lut
    small = estimate_spec(with_widths(spec, [8, 8, 8]), BOARD, FPS).lut
    budget = (full + small) / 2
    fit, final = shrink(model, spec, budget, BOARD, FPS, expand=True)
    assert fit.met and fit.cost <= budget < full
    assert estimate_spec(fit.spec, BOARD, FPS).lut == fit.cost
    gam = bn_scales(model)
    for g, keep in zip(gam, fit.keep):
        dropped = sorted(set(range(len(g))) - set(keep))
        if dropped:
            assert g[dropped].max() <= g[keep].min()
    assert final.met and fit.cost <= final.cost <= budget


def test_shrink_says_why_a_budget_cannot_be_met():
    spec = make_spec("tfc", 1, 1, hidden=[16, 16, 16])
    fit, final = shrink(_model_with_gammas(spec), spec, 100.0, BOARD, FPS)
    assert not fit.met and not final.met
    assert "cannot meet" in fit.message and "1 channel" in fit.message
    assert fit.widths == [1, 1, 1]


def test_granularity_and_uniform_baseline():
    spec = make_spec("tfc", 1, 1, hidden=[64, 64, 64])
    scores = [torch.rand(64) for _ in range(3)]
    full = estimate_spec(spec, BOARD, FPS).lut
    budget = full - 0.3 * (full - estimate_spec(with_widths(spec, [8, 8, 8]), BOARD, FPS).lut)
    fit = fit_to_budget(spec, scores, budget, BOARD, FPS, granularity=8)
    assert fit.met and all(w % 8 == 0 for w in fit.widths)
    uni = uniform_to_budget(spec, budget, BOARD, FPS, granularity=8)
    assert uni.met and uni.cost <= budget and len(set(uni.widths)) == 1
    bigger = [w + 8 for w in uni.widths]
    assert estimate_spec(with_widths(spec, bigger), BOARD, FPS).lut > budget   # the largest uniform that fits


def test_uniform_baseline_keeps_every_limit():
    """`--dsp-budget` / `--bram-budget` beside the LUT budget: the uniform multiplier the search is compared with is
    the widest one within all of them, not only within the LUTs."""
    spec = make_spec("tfc", 2, 2, hidden=[64, 64, 64], input_bits=8)        # k-bit layers use DSP slices
    est = estimate_spec(spec, BOARD, FPS, flow="rtl")
    lut_only = uniform_within(spec, ResourceBudget(BOARD, FPS, lut=est.lut))
    assert lut_only.met and lut_only.widths == uniform_to_budget(spec, est.lut, BOARD, FPS, flow="rtl").widths
    for limit in ({"dsp": est.dsp // 2}, {"bram18": est.bram18 // 2}):
        b = ResourceBudget(BOARD, FPS, lut=est.lut, **limit)
        uni = uniform_within(spec, b, granularity=8)
        got = estimate_spec(uni.spec, BOARD, FPS, flow="rtl")
        assert uni.met and b.ok(got) and uni.metric == b.binding(spec).resource, (limit, uni.message)
        assert len(set(uni.widths)) == 1 and uni.widths[0] < lut_only.widths[0]
        wider = estimate_spec(with_widths(uni.spec, [w + 8 for w in uni.widths]), BOARD, FPS, flow="rtl")
        assert not b.ok(wider)                                                    # the widest within the limits
    none = uniform_within(spec, ResourceBudget(BOARD, FPS, lut=est.lut, dsp=0), granularity=8)
    assert not none.met and "no uniform width meets the budget" in none.message and "dsp" in none.message
