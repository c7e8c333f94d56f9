"""Folding: legality checks with useful errors, folding files, and the board-aware optimiser."""
import json

import pytest

import layer_builders as tc
from boards.catalog import get_board
from compiler.estimate.cost import estimate, layer_cost
from compiler.estimate.folding import (FoldingError, apply_folding, divisors, fit_problem, fold_graph, legal_values,
                              load_folding_file, optimize_folding, validate_folding)
from compiler.ir.graph import Layer


def lfc_like():
    """784-1024-1024-1024-10 binarized MLP (LFC-W1A1 shapes) -- no torch needed."""
    return tc.graph(tc.mvtu("fc0", mw=784, mh=1024, acc="INT11"), tc.mvtu("fc1", mw=1024, mh=1024, acc="INT12"),
                    tc.mvtu("fc2", mw=1024, mh=1024, acc="INT12"),
                    tc.mvtu("fc3", mw=1024, mh=10, acc="INT12", noact=True))


def test_divisors_and_legal_values():
    assert divisors(12) == [1, 2, 3, 4, 6, 12] and divisors(1) == [1] and divisors(784)[-3:] == [196, 392, 784]
    mp = Layer("p", "MaxPool", (4, 4, 6), (2, 2, 6), "BIPOLAR", "BIPOLAR",
               dict(ifm_dim=[4, 4], channels=6, kernel=[2, 2], stride=[2, 2], ofm_dim=[2, 2]))
    assert legal_values(tc.mvtu(mw=6, mh=4)) == {"pe": [1, 2, 4], "simd": [1, 2, 3, 6]}
    assert legal_values(mp) == {"pe": [1, 2, 3, 6]} and legal_values(tc.swg(c=4)) == {"simd": [1, 2, 4]}


def test_validate_reports_every_problem_with_legal_values():
    g = tc.graph(tc.mvtu("fc0", mw=12, mh=8), tc.mvtu("fc1", mw=8, mh=4))
    with pytest.raises(FoldingError) as e:
        validate_folding(g, {"fc0": {"pe": 3, "simd": 5.0}, "fc1": {"depth": 2}, "nope": {"pe": 1}}, "my.json")
    msg = str(e.value)
    assert msg.startswith("my.json:")
    assert "layer 'fc0' (MVTU): pe=3 does not divide MH=8; legal values: 1, 2, 4, 8" in msg
    assert "simd=5.0 is not an integer; legal values: 1, 2, 3, 4, 6, 12" in msg
    assert "layer 'fc1' (MVTU) has no 'depth' folding; it takes: pe, simd" in msg
    assert "unknown layer 'nope'; the graph's layers are: fc0, fc1" in msg
    with pytest.raises(FoldingError, match="expected an object"):
        validate_folding(g, [1, 2])
    with pytest.raises(FoldingError, match="entry for layer 'fc0' must be an object"):
        validate_folding(g, {"fc0": 4})


def test_apply_folding_accepts_finn_style_keys_and_keeps_other_keys():
    g = tc.graph(tc.mvtu("fc0", mw=12, mh=8, pe=2, simd=3), tc.mvtu("fc1", mw=8, mh=4))
    apply_folding(g, {"fc0": {"SIMD": 6}, "fc1": {"PE": 4, "simd": 8}})
    assert g.layer("fc0").folding == {"pe": 2, "simd": 6} and g.layer("fc1").folding == {"pe": 4, "simd": 8}
    g.validate()
    with pytest.raises(FoldingError):
        apply_folding(g, {"fc1": {"pe": 3}})
    assert g.layer("fc1").pe == 4                       # a rejected folding changes nothing


def test_load_folding_file_errors_name_the_file(tmp_path):
    good = tmp_path / "f.json"
    good.write_text(json.dumps({"fc0": {"PE": 2, "SIMD": 4}}))
    assert load_folding_file(good) == {"fc0": {"pe": 2, "simd": 4}}
    bad = tmp_path / "bad.json"
    bad.write_text('{"fc0": {"pe": 2,}}')
    with pytest.raises(FoldingError, match=r"bad.json: not valid JSON \(line 1, column 18"):
        load_folding_file(bad)
    with pytest.raises(FoldingError, match="missing.json: cannot read"):
        load_folding_file(tmp_path / "missing.json")
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(FoldingError, match="list.json: expected an object"):
        load_folding_file(tmp_path / "list.json")


def test_optimizer_meets_a_target_within_budget_without_touching_the_graph():
    g, board = lfc_like(), get_board("Pynq-Z1")
    plan = optimize_folding(g, board, target_fps=20_000)
    assert plan.met and plan.fits and plan.cost.fps >= 20_000
    assert plan.cost.ii_cycles <= 100e6 / 20_000
    assert not plan.cost.total.over(board.budget(0.85))
    assert all(l.folding["pe"] == 1 and l.folding["simd"] == 1 for l in g.layers)   # input graph untouched
    apply_folding(g, plan.folding)
    assert estimate(g, 100.0, 64).ii_cycles == plan.cost.ii_cycles
    # only the bottleneck grows: relaxing the target never needs more parallelism
    slow = optimize_folding(lfc_like(), board, target_fps=2_000)
    assert slow.met and slow.cost.ii_cycles >= plan.cost.ii_cycles
    assert slow.cost.total.lut <= plan.cost.total.lut


def test_optimizer_max_stops_where_the_next_step_does_not_fit():
    board = get_board("Pynq-Z1")
    plan = optimize_folding(lfc_like(), board, target_fps="max")
    assert plan.fits and plan.target_fps is None and plan.limiting_resource == "bram18"
    assert "would need" in plan.reason and plan.limiting_layer in plan.reason
    # check the claim: every next step of the limiting layer breaks the BRAM budget
    name = plan.limiting_layer
    steps = 0
    for key, values in legal_values(lfc_like().layer(name)).items():
        nxt = [v for v in values if v > plan.folding[name][key]]
        if nxt:
            g = apply_folding(lfc_like(), plan.folding)
            apply_folding(g, {name: {key: nxt[0]}})
            assert "bram18" in estimate(g, 100.0, 64).total.over(board.budget(0.85))
            steps += 1
    assert steps >= 1
    # a bigger board goes faster
    assert optimize_folding(lfc_like(), get_board("ZCU104")).cost.fps > plan.cost.fps


def test_unreachable_target_says_why_and_best_fps():
    plan = optimize_folding(lfc_like(), get_board("Pynq-Z1"), target_fps=10_000_000)
    assert plan.fits and not plan.met
    msg = plan.message()
    assert "target 10,000,000 FPS is not reachable on Pynq-Z1" in msg and "best achievable is" in msg
    assert f"{plan.cost.fps:,.0f} FPS" in msg and plan.limiting_layer in msg and "bram18" in msg
    with pytest.raises(FoldingError) as e:
        fold_graph(lfc_like(), get_board("Pynq-Z1"), target_fps=10_000_000)
    assert "not reachable" in str(e.value) and "hint:" in str(e.value)


def test_network_that_never_fits():
    huge = tc.graph(tc.mvtu("big", mw=8192, mh=8192, acc="INT14"))      # 64 Mbit of weights
    plan = optimize_folding(huge, get_board("Pynq-Z1"))
    assert not plan.fits and not plan.met and plan.limiting_resource == "bram18" and plan.limiting_layer == "big"
    assert "does not fit" in plan.message() and "even fully folded" in plan.message()


def test_dma_bound_network_and_bad_targets():
    tiny = tc.graph(tc.mvtu("t", mw=64, mh=8, acc="INT8"))
    plan = optimize_folding(tiny, get_board("Pynq-Z1"))
    assert plan.limiting_layer == "dma" and "DMA shell is the bottleneck" in plan.reason
    for bad in ("fast", "-3", "0", "inf"):
        with pytest.raises(FoldingError, match="target-fps"):
            optimize_folding(tiny, get_board("Pynq-Z1"), target_fps=bad)


def test_user_folding_over_budget_is_rejected_with_the_largest_user():
    g = lfc_like()
    with pytest.raises(FoldingError) as e:
        fold_graph(g, get_board("Pynq-Z1"), folding={"fc1": {"pe": 1024, "simd": 1024}})
    msg = str(e.value)
    assert "does not fit on Pynq-Z1" in msg and "largest user: layer 'fc1'" in msg and "lut" in msg
    ok = lfc_like()
    cost, source, _ = fold_graph(ok, get_board("Pynq-Z1"), folding={"fc1": {"pe": 8, "simd": 32}})
    assert source == "file" and ok.layer("fc1").folding == {"pe": 8, "simd": 32}
    assert fit_problem(cost, get_board("Pynq-Z1")) is None
    assert cost.layers[1].cycles == layer_cost(ok.layer("fc1")).cycles == 128 * 32
    with pytest.raises(FoldingError, match="not both"):
        fold_graph(lfc_like(), get_board("Pynq-Z1"), target_fps=10, folding={})


def test_io_words_stay_within_the_axi_stream():
    """An 8-bit input layer must not be given a SIMD whose word is wider than an AXI DMA stream allows."""
    from compiler.estimate.folding import MAX_AXI_WORD_BITS, optimize_folding
    from compiler.ir.graph import DataflowGraph, InputSpec, Layer, OutputSpec
    from boards.catalog import get_board
    import numpy as np

    rng = np.random.default_rng(0)
    l0 = Layer("fc0", "MVTU", (784,), (64,), "INT8", "BIPOLAR",
               {"MW": 784, "MH": 64, "num_vectors": 1, "weight_dtype": "BIPOLAR", "acc_dtype": "INT18", "out_bias": 0,
                "binary_xnor": False, "noact": False},
               {"weights": rng.choice([-1, 1], (64, 784)), "thresholds": np.zeros((64, 1), np.int64)})
    l1 = Layer("fc1", "MVTU", (64,), (10,), "BIPOLAR", "INT8",
               {"MW": 64, "MH": 10, "num_vectors": 1, "weight_dtype": "BIPOLAR", "acc_dtype": "INT8", "out_bias": 0,
                "binary_xnor": True, "noact": True}, {"weights": rng.choice([-1, 1], (10, 64))})
    g = DataflowGraph("io", [l0, l1], InputSpec((784,), "INT8"), OutputSpec((10,)))
    plan = optimize_folding(g, get_board("zcu104"), "max")
    simd = plan.folding["fc0"]["simd"]
    assert 1 < simd and simd * 8 <= MAX_AXI_WORD_BITS


@pytest.mark.parametrize("board, uram", [("ZCU104", True), ("KV260", True), ("Pynq-Z2", False)])
def test_weights_in_bram_says_why_uram_is_unused(board, uram):
    """Issue 13: ZCU104 reported BRAM as the limit with its URAM at 0 and no word why. With --weights-in bram the
    weights stay in bitstream-initialised memories; the plan and the report say why URAM stays unused."""
    from compiler.workflow.report import build_report

    b = get_board(board)
    plan = optimize_folding(lfc_like(), b, "max", weights_in="bram")
    assert plan.limiting_resource == "bram18" and plan.cost.total.uram == 0 and not plan.uram_layers
    said = f"{b.resources.uram:,.0f} URAM blocks stay unused: --weights-in bram" in plan.message()
    assert said == uram
    rep = build_report("g", plan.cost, b, weights_in="bram")
    assert any("cannot be initialised by the bitstream" in n for n in rep["notes"]) == uram


@pytest.mark.parametrize("board", ["ZCU104", "KV260", "Pynq-Z2"])
def test_auto_moves_weights_to_uram_when_block_ram_limits(board):
    """Issue 13: with --weights-in auto (the default) a board with URAM whose block RAM stops the bram-only plan
    gets a faster folding with some weight memories in URAM, counted in the URAM column and within its budget;
    a board without URAM gets exactly the bram-only plan."""
    from compiler.workflow.report import build_report

    b = get_board(board)
    rom = optimize_folding(lfc_like(), b, "max", weights_in="bram")
    auto = optimize_folding(lfc_like(), b, "max")
    if not b.resources.uram:
        assert auto.folding == rom.folding and not auto.uram_layers and auto.cost.total.uram == 0
        return
    assert auto.uram_layers and auto.cost.fps > rom.cost.fps
    assert 0 < auto.cost.total.uram <= b.budget(auto.margin).uram and auto.fits
    for c in auto.cost.layers:
        styles = {m.style for m in c.memories if m.role == "weights"}
        assert (styles == {"uram"}) == (c.name in auto.uram_layers)
        assert (c.resources.uram > 0) == (c.name in auto.uram_layers)
    assert "in URAM (loaded at run time)" in auto.message()
    rep = build_report("g", auto.cost, b)
    assert rep["total"]["uram"] == auto.cost.total.uram and any("written" not in n and "in URAM" in n
                                                                   for n in rep["notes"])


def test_weights_in_uram_forces_every_weight_memory_and_needs_a_board_with_uram():
    from diagnostics.errors import CompileError

    plan = optimize_folding(lfc_like(), get_board("ZCU104"), "max", weights_in="uram")
    assert plan.uram_layers == ["fc0", "fc1", "fc2", "fc3"]
    with pytest.raises(CompileError, match="Pynq-Z2 has no URAM"):
        fold_graph(lfc_like(), get_board("Pynq-Z2"), weights_in="uram")
    g = lfc_like()
    fold_graph(g, None, weights_in="uram")                       # no board: placed, costed, nothing to fit
    assert all(l.attrs["weight_ram"] == "uram" for l in g.layers)


def test_folding_file_spills_weights_to_uram_only_when_block_ram_is_over():
    """A given folding that needs more block RAM than ZCU104 has fits once weight memories move to URAM (largest
    block-RAM user first); with --weights-in bram the same folding is refused, naming bram18."""
    folding = {"fc0": {"pe": 32, "simd": 112}, "fc1": {"pe": 8, "simd": 1024}, "fc2": {"pe": 8, "simd": 1024}}
    with pytest.raises(FoldingError, match="bram18"):
        fold_graph(lfc_like(), get_board("ZCU104"), folding=folding, weights_in="bram")
    g = lfc_like()
    cost, source, _ = fold_graph(g, get_board("ZCU104"), folding=folding)
    placed = [l.name for l in g.layers if l.attrs.get("weight_ram") == "uram"]
    assert source == "file" and placed and cost.total.uram > 0
    small = lfc_like()
    fold_graph(small, get_board("ZCU104"), folding={"fc1": {"pe": 2, "simd": 64}})
    assert not any("weight_ram" in l.attrs for l in small.layers)   # fits in block RAM: no loader needed


def test_rtl_flow_sizes_the_design_by_the_rtl_estimate():
    """flow='rtl' (bnnc compile --rtl): the optimiser's budget check and its reported cost are the RTL library's
    (compiler.estimate.cost target 'rtl'); where the RTL and HLS estimates differ, so do the foldings, and each stays
    within the budget by its own flow's estimate."""
    board = get_board("Pynq-Z1")
    budget = board.budget(0.85)
    plans = {flow: optimize_folding(lfc_like(), board, target_fps="max", flow=flow) for flow in ("hls", "rtl")}
    for flow, plan in plans.items():
        g = apply_folding(lfc_like(), plan.folding)
        cost = estimate(g, 100.0, 64, flow)
        assert plan.fits and (plan.cost.total, plan.cost.ii_cycles) == (cost.total, cost.ii_cycles)
        assert not cost.total.over(budget)
    # the HLS plan's design, costed as RTL, is another design than the RTL plan's (a different folding)
    assert plans["hls"].folding != plans["rtl"].folding
    # a user folding over the RTL budget is refused under the RTL flow, whatever the HLS estimate says
    g = apply_folding(lfc_like(), plans["hls"].folding)
    if estimate(g, 100.0, 64, "rtl").total.over(budget):
        with pytest.raises(FoldingError, match="does not fit"):
            fold_graph(lfc_like(), board, folding=plans["hls"].folding, flow="rtl")


def test_rtl_flow_keeps_weights_out_of_uram():
    from compiler.workflow.config import BuildConfig, ConfigError

    with pytest.raises(ConfigError, match="no run-time URAM loader"):
        BuildConfig(board="ZCU104", weights_in="uram", flow="rtl")
    with pytest.raises(ConfigError, match="flow must be one of hls, rtl"):
        BuildConfig(flow="vhdl")
