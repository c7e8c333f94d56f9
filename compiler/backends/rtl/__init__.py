"""RTL backend: a folded DataflowGraph -> Verilog (hwlib/verilog library + generated units and AXI-stream top),
co-simulated with Verilator and synthesised with Yosys.

One emitter module per layer kind registers itself in compiler.backends.rtl.registry (`@emitter("MVTU")`),
as the HLS backend does; `get(kind)` returns it or a clear CompileError. What the library costs (the `--flow rtl` /
`estimate(target="rtl")` model, calibrated on Yosys) is compiler.backends.rtl.cost and library_cost.
"""
from __future__ import annotations

from compiler.backends.rtl import emitters  # noqa: F401  (registers every emitter)
from compiler.backends.rtl.registry import emitter, get, kinds, refuse, refused  # noqa: F401

# Every IR kind has an emitter today; a kind added to the IR and HLS backend before its Verilog gets
# `refuse(kind, why)` here, so `bnnc rtlsim` / `bnnc synth` / `bnnc bitstream --rtl` name the layer and the reason.
