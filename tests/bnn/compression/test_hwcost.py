import pytest

from bnn.compress.hwcost import channel_costs, estimate_graph, estimate_spec, export_and_lower, with_widths
from bnn.compress.morphnet import CostWeightedL1
from bnn.topologies import from_spec, make_spec
from boards.catalog import get_board
from compiler.estimate.folding import optimize_folding

BOARD, FPS = "pynq-z2", 20000


def _lut_by_compiler(spec):
    """The compiler path written out: export, lower, fold for the board, total LUTs of compiler.estimate.cost."""
    graph = export_and_lower(from_spec(spec).eval(), (1, 28, 28))
    return optimize_folding(graph, get_board(BOARD), FPS).cost.total.lut


def test_lut_channel_costs_are_compiler_cost_differences():
    spec = make_spec("tfc", 1, 1, hidden=[16, 24, 16])
    cc = channel_costs(spec, BOARD, FPS, "lut", step=0.5)
    assert cc.steps == [8, 12, 8]
    base = _lut_by_compiler(spec)
    assert cc.base == base
    for i, st in enumerate(cc.steps):
        w = [16, 24, 16]
        w[i] -= st
        assert cc.per_channel[i] == pytest.approx((base - _lut_by_compiler(with_widths(spec, w))) / st)
    reg = CostWeightedL1(cc, 0.1)
    mean = sum(max(0, c) for c in cc.per_channel) / 3
    assert reg.weights == pytest.approx([max(0, c) / mean for c in cc.per_channel])


def test_cycle_costs_follow_the_mvtu_formula():
    """Work at pe = simd = 1 is sum(MH * MW): one neuron of hidden layer i costs MW_i + MH_{i+1} cycles."""
    spec = make_spec("tfc", 1, 1, hidden=[16, 8, 12])
    cc = channel_costs(spec, BOARD, FPS, "cycles", step=1)
    assert cc.per_channel == [784 + 8, 16 + 12, 8 + 10]
    assert cc.base == 784 * 16 + 16 * 8 + 8 * 12 + 12 * 10


def test_estimates_report_target_and_fit():
    e = estimate_spec(make_spec("tfc", 1, 1, width=0.25), BOARD, FPS)
    assert e.met and e.fits and e.fps >= FPS and e.lut > 0 and e.board == "Pynq-Z2"
    graph = export_and_lower(from_spec(make_spec("tfc", 1, 1, width=0.25)).eval(), (1, 28, 28))
    far = estimate_graph(graph, BOARD, 1e9)
    assert not far.met and far.fps < 1e9 and far.reason
    with pytest.raises(ValueError):
        e.metric("watts")


def test_fast_export_prices_like_the_bnnc_export_path():
    spec = make_spec("sfc", 1, 1, width=0.25, input_bits=8)
    model = from_spec(spec).eval()
    fast = estimate_graph(export_and_lower(model, (1, 28, 28), fast=True), BOARD, 50000)
    slow = estimate_graph(export_and_lower(model, (1, 28, 28), fast=False), BOARD, 50000)
    assert fast == slow
