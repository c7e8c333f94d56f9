"""A residual block written with raw Brevitas (two 3x3 convs + skip add, tests/compiler/frontend/test_residual.py),
compiled, verified against QONNX, folded for Pynq-Z1, then its RTL co-simulated in Verilator: bit-exact on 50
frames, cycles per frame within 5 % of the cost model, first-frame latency within 10 %, no deadlock, and rtlsim.json reports how full each
branch FIFO got beside compiler/estimate/fifo.py's depth."""
from __future__ import annotations

import pytest

from rtl_check import requires_verilator
from residual_model import residual_graph
from compiler.backends.rtl.project import generate_rtl
from compiler.backends.rtl.reports import rtlsim_doc
from compiler.backends.rtl.verilator import build, check
from compiler.estimate.cost import estimate
from compiler.sim.ir_inputs import random_inputs
from compiler.estimate.fifo import branch_fifo_depths

pytestmark = requires_verilator


@pytest.fixture(scope="module")
def residual(tmp_path_factory):
    work = tmp_path_factory.mktemp("rtl_residual")
    g = residual_graph(work, blocks=1)
    proj = generate_rtl(g, work / "rtl")
    build(proj)
    return g, proj


def test_residual_block_rtlsim(residual):
    g, proj = residual
    assert [l.kind for l in g.layers].count("AddStreams") == 1
    rep = check(g, proj, random_inputs(g, 50, 0))
    assert rep.frames == 50 and rep.mismatches == 0, rep.first_mismatch
    doc = rtlsim_doc(g, proj, rep, estimate(g, target="rtl"), "verilator", 0, None)
    est = doc["estimated_cycles_per_frame"]
    assert abs(rep.cycles_per_frame - est) <= 0.05 * est, (rep.cycles_per_frame, est)
    # first-frame latency (compiler.estimate.latency: stages overlap, the join waits for the longer branch) against
    # the measured one; the sum of the stages' cycles is 2.5x it
    lat = doc["estimated_latency_cycles"]
    assert abs(rep.latency_cycles - lat) <= 0.10 * lat, (rep.latency_cycles, lat)
    computed = branch_fifo_depths(g)
    branch = [f for f in doc["fifos"] if f["role"] == "branch"]
    add = next(l for l in g.layers if l.kind == "AddStreams")
    assert {f["fifo"] for f in branch} == {f"{add.name} input {j} (branch)" for j in range(2)}
    for f in branch:
        j = int(f["fifo"].split(" input ")[1].split()[0])
        assert f["computed_depth"] == computed[(add.name, j)][0]
        assert f["depth"] >= f["computed_depth"] and 0 <= f["max_level"] <= f["depth"]
    # the skip is the input whose branch has no convolution: it buffers what the conv branch has in flight
    skip = max(branch, key=lambda f: f["computed_depth"])
    assert skip["max_level"] > 2


def test_residual_block_under_backpressure(residual):
    """Random valid/ready gaps on both AXI sides: the join and the duplicate stall paths stay exact."""
    g, proj = residual
    rep = check(g, proj, random_inputs(g, 8, 1), stall_seed=5)
    assert rep.mismatches == 0, rep.first_mismatch
