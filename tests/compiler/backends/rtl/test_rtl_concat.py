"""ConcatStreams in RTL (bnnc_concat): the Inception (shifted, with integer multipliers, and four towers as a chain
of two-input concats) and DenseNet-style blocks of tests/compiler/branch_models.py,
compiled, folded for Pynq-Z1 and co-simulated in Verilator: bit-exact at the RTL cost model's cycles per frame with
the branch FIFOs compiler/estimate/fifo.py computes. The DenseNet skip (concatenated first, while the two-conv path fills its
windows) uses its whole computed depth; shallower, the block runs below full rate, and far shallower it deadlocks,
reported with the FIFO that was full (measured: docs/cost_model.md "Branch FIFOs")."""
from __future__ import annotations

import pytest

from rtl_check import requires_verilator
from branch_models import (dense_layers, densenet, inception, inception4, inception_residual, nested_dense,
                           scaled_inception)
from user_models import export_raw
from compiler.backends.rtl.project import generate_rtl
from compiler.backends.rtl.reports import hardware_layers
from compiler.backends.rtl.verilator import RtlsimDeadlock, build, check
from compiler.estimate.cost import estimate
from compiler.sim.ir_inputs import random_inputs
from compiler.estimate.fifo import branch_fifo_depths

pytestmark = requires_verilator
SKIP = ("Concat_0_concat", 0)


def _graph(factory, work):
    from boards.catalog import get_board
    from compiler.workflow.compile import compile_model
    from compiler.estimate.folding import fold_graph

    model, shape = factory()
    g = compile_model(export_raw(model, work / "m.onnx", shape, False), None)
    fold_graph(g, get_board("Pynq-Z1"), target_fps="max")
    return g


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    work = tmp_path_factory.mktemp("rtl_dense")
    return work, _graph(densenet, work)


@pytest.mark.parametrize("factory", [inception, densenet, scaled_inception, inception4],
                         ids=["inception", "densenet", "scaled_inception", "inception4"])
def test_concat_blocks_rtlsim(factory, tmp_path):
    g = _graph(factory, tmp_path)
    proj = generate_rtl(g, tmp_path / "rtl")
    cat = next(l for l in g.layers if l.kind == "ConcatStreams")
    if "mult" in cat.attrs:             # the integer multipliers reach the RTL module
        units = (tmp_path / "rtl" / "units.v").read_text()
        assert f".M0({cat.attrs['mult'][0]})" in units and f".M1({cat.attrs['mult'][1]})" in units
    build(proj)
    rep = check(g, proj, random_inputs(g, 30, 0))
    assert rep.frames == 30 and rep.mismatches == 0, rep.first_mismatch
    est = max(l.cycles for l in hardware_layers(estimate(g, target="rtl")))
    assert abs(rep.cycles_per_frame - est) <= 0.05 * est, (rep.cycles_per_frame, est)
    fifos = {f["fifo"]: f for f in proj.meta["fifos"]}
    for j in range(2):
        f = fifos[f"Concat_0_concat input {j} (branch)"]
        assert f["computed_depth"] == branch_fifo_depths(g)[("Concat_0_concat", j)][0]
    rep = check(g, proj, random_inputs(g, 6, 1), stall_seed=3)          # random gaps on both AXI sides
    assert rep.mismatches == 0, rep.first_mismatch


def test_densenet_skip_fifo_depth(dense):
    """At the computed depth the skip FIFO fills (it is needed) at full rate; at a quarter of it the block
    deadlocks and rtlsim names the full FIFO."""
    work, g = dense
    need = branch_fifo_depths(g)[SKIP][0]
    proj = generate_rtl(g, work / "full", branch_depths={SKIP: need})
    rep = check(g, proj, random_inputs(g, 8, 0))
    assert rep.mismatches == 0
    level = dict(zip([f["fifo"] for f in proj.meta["fifos"]], rep.fifo_max_level))
    assert level["Concat_0_concat input 0 (branch)"] > need // 2
    shallow = need // 4
    proj = generate_rtl(g, work / "shallow", branch_depths={SKIP: shallow})
    with pytest.raises(RtlsimDeadlock) as e:
        check(g, proj, random_inputs(g, 3, 0))
    assert f"fifo Concat_0_concat input 0 (branch): high-water {shallow} of {shallow} (FULL)" in str(e.value)


@pytest.mark.parametrize("factory, join, joins, cut", [(nested_dense, ("Concat_1_concat", 0), 2, 4),
                                                       (inception_residual, ("Add_0_add", 0), 2, 4),
                                                       (dense_layers, ("Concat_2_concat", 0), 6, 16)],
                         ids=["nested_dense", "inception_residual", "dense_layers"])
def test_nested_concat_fifo_depths(factory, join, joins, cut, tmp_path):
    """A concat nested in a branch of another join (an Inception split inside a DenseNet path; x + cat(towers of
    x)) or joins whose branches cross (a DenseNet block of three layers): at compiler.estimate.fifo's depths bit-exact, no
    deadlock, at the cost model's rate, the deepest skip FIFO used; at 1/cut of its depth (below the sweep's
    deadlock depth: benchmarks/rtl_concat_fifos.py --bisect, docs/cost_model.md "Branch FIFOs") the dataflow
    deadlocks and rtlsim names that FIFO FULL."""
    g = _graph(factory, tmp_path)
    depths = branch_fifo_depths(g)
    assert max(depths, key=lambda k: depths[k][0]) == join
    assert sum(l.kind in ("ConcatStreams", "AddStreams") for l in g.layers) == joins
    need = depths[join][0]
    proj = generate_rtl(g, tmp_path / "computed")
    build(proj)
    rep = check(g, proj, random_inputs(g, 12, 0))
    assert rep.frames == 12 and rep.mismatches == 0, rep.first_mismatch
    est = max(l.cycles for l in hardware_layers(estimate(g, target="rtl")))
    assert abs(rep.cycles_per_frame - est) <= 0.05 * est, (rep.cycles_per_frame, est)
    fifo = f"{join[0]} input {join[1]} (branch)"
    level = dict(zip([f["fifo"] for f in proj.meta["fifos"]], rep.fifo_max_level))
    assert need // 2 < level[fifo] <= need, (level[fifo], need)
    shallow = need // cut
    proj = generate_rtl(g, tmp_path / "shallow", branch_depths={join: shallow})
    with pytest.raises(RtlsimDeadlock) as e:
        check(g, proj, random_inputs(g, 3, 0))
    assert f"fifo {fifo}: high-water {shallow} of {shallow} (FULL)" in str(e.value)
