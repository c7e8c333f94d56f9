"""A residual add of two branches whose scales are not a power of two apart (tests/compiler/branch_models.py
UnequalResidual: AddStreams with integer multipliers) in RTL: bnnc_add with M0/M1, bit-exact in Verilator at the
estimated cycles per frame."""
from __future__ import annotations

from rtl_check import requires_verilator
from branch_models import unequal_residual
from user_models import export_raw
from compiler.backends.rtl.project import generate_rtl
from compiler.backends.rtl.reports import hardware_layers
from compiler.backends.rtl.verilator import build, check
from compiler.estimate.cost import estimate
from compiler.sim.ir_inputs import random_inputs

pytestmark = requires_verilator


def test_unequal_scales_add_rtlsim(tmp_path):
    from boards.catalog import get_board
    from compiler.workflow.compile import compile_model
    from compiler.estimate.folding import fold_graph

    model, shape = unequal_residual()
    g = compile_model(export_raw(model, tmp_path / "m.onnx", shape, False), None)
    add = next(l for l in g.layers if l.kind == "AddStreams")
    assert add.attrs["mult"] != [1, 1]
    fold_graph(g, get_board("Pynq-Z1"), target_fps="max")
    proj = generate_rtl(g, tmp_path / "rtl")
    units = (tmp_path / "rtl" / "units.v").read_text()
    assert f".M0({add.attrs['mult'][0]})" in units and f".M1({add.attrs['mult'][1]})" in units
    build(proj)
    rep = check(g, proj, random_inputs(g, 30, 0))
    assert rep.frames == 30 and rep.mismatches == 0, rep.first_mismatch
    est = max(l.cycles for l in hardware_layers(estimate(g, target="rtl")))
    assert abs(rep.cycles_per_frame - est) <= 0.05 * est, (rep.cycles_per_frame, est)
