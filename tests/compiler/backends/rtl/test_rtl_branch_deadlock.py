"""A branch FIFO shallower than compiler/estimate/fifo.py's depth deadlocks the dataflow, and rtlsim says so instead of
hanging: which FIFO is full, how far the run got (docs/cost_model.md "Branch FIFOs")."""
from __future__ import annotations

import pytest

from rtl_check import requires_verilator
from stream_graphs import direct_skip
from compiler.backends.rtl.project import generate_rtl
from compiler.backends.rtl.reports import deadlock_doc
from compiler.backends.rtl.verilator import RtlsimDeadlock, check
from compiler.sim.ir_inputs import random_inputs
from compiler.estimate.fifo import branch_fifo_depths

pytestmark = requires_verilator


def test_shallow_skip_fifo_deadlocks_and_is_reported(tmp_path):
    g = direct_skip()
    need = branch_fifo_depths(g)[("add3", 1)][0]
    shallow = 2                                   # what the skip holds: this FIFO and bnnc_dup's output register
    assert shallow < need - 2
    proj = generate_rtl(g, tmp_path / "rtl", branch_depths={("add3", 1): shallow})
    skip = next(f for f in proj.meta["fifos"] if f["fifo"] == "add3 input 1 (branch)")
    assert (skip["depth"], skip["computed_depth"]) == (shallow, need)
    with pytest.raises(RtlsimDeadlock) as e:
        check(g, proj, random_inputs(g, 3, 0))
    msg = str(e.value)
    assert "deadlock: no beat moved" in msg
    assert f"fifo add3 input 1 (branch): high-water {shallow} of {shallow} (FULL)" in msg
    assert "fifo add3 input 0 (branch): high-water 0" in msg          # the conv branch never produced a word
    assert e.value.stats["deadlock"] is True and e.value.stats["frame_done"] == []
    doc = deadlock_doc(proj, e.value, "verilator", 3, 0, None)         # what bnnc rtlsim writes to rtlsim.json
    assert doc["deadlock"] is True and doc["frames_completed"] == 0 and "cycles_per_frame" not in doc
    full = [f["fifo"] for f in doc["fifos"] if f["max_level"] >= f["depth"]]
    assert "add3 input 1 (branch)" in full
