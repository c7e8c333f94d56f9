"""The RadioML-style 1-D CNN (tests/compiler/signal_models.py: QuantConv1d padded / dilated / strided, MaxPool1d,
AvgPool1d), compiled, verified against QONNX, folded for Pynq-Z1, and its RTL co-simulated in Verilator: bit-exact
on 30 frames and at the RTL cost model's cycles per frame."""
from __future__ import annotations

from rtl_check import requires_verilator
from signal_models import radioml_graph
from compiler.backends.rtl.project import generate_rtl
from compiler.backends.rtl.reports import hardware_layers
from compiler.backends.rtl.verilator import build, check
from compiler.estimate.cost import estimate
from compiler.sim.ir_inputs import random_inputs

pytestmark = requires_verilator


def test_radioml_1d_rtlsim(tmp_path):
    g, rep, _ = radioml_graph(tmp_path)
    assert all(rep.layer_mismatches[n] == 0 for n in rep.integer_layers)
    proj = generate_rtl(g, tmp_path / "rtl")
    build(proj)
    res = check(g, proj, random_inputs(g, 30, 0))
    assert res.frames == 30 and res.mismatches == 0, res.first_mismatch
    est = max(l.cycles for l in hardware_layers(estimate(g, target="rtl")))
    assert abs(res.cycles_per_frame - est) <= 0.05 * est, (res.cycles_per_frame, est)
