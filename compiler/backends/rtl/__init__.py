"""RTL backend: a folded DataflowGraph -> Verilog (hls/rtl library + generated units and AXI-stream top),
co-simulated with Verilator and synthesised with Yosys.

One emitter module per layer kind registers itself in compiler.backends.rtl.registry (`@emitter("MVTU")`),
as the HLS backend does; `get(kind)` returns it or a clear CompileError.
"""
from __future__ import annotations

from compiler.backends.rtl import label_select, maxpool, mvtu, sliding_window, streams, thresholding  # noqa: F401  (register)
from compiler.backends.rtl.registry import emitter, get, kinds, refuse, refused  # noqa: F401

# Kinds that exist in the IR, the simulator and the HLS backend but not (yet) in hls/rtl: a model using them gets
# a CompileError naming the layer and this reason from `bnnc rtlsim` / `bnnc synth` / `bnnc bitstream --rtl`.
_HLS_ONLY = "not in the Verilog library yet; use the HLS path (bnnc csim / bnnc bitstream)"
for _kind in ("AvgPool", "VVAU"):
    refuse(_kind, _HLS_ONLY)
