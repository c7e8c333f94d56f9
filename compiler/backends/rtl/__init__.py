"""RTL backend: a folded DataflowGraph -> Verilog (hls/rtl library + generated units and AXI-stream top),
co-simulated with Verilator and synthesised with Yosys.

EMITTERS maps an IR kind name to `emit(layer, index) -> Emitted`, one module per kind.
"""
from __future__ import annotations

from typing import Callable

from compiler.backends.rtl import label_select, maxpool, mvtu, sliding_window, thresholding
from compiler.backends.rtl.common import Emitted
from compiler.ir import Layer

EMITTERS: dict[str, Callable[[Layer, int], Emitted]] = {
    "MVTU": mvtu.emit,
    "Thresholding": thresholding.emit,
    "SlidingWindow": sliding_window.emit,
    "MaxPool": maxpool.emit,
    "LabelSelect": label_select.emit,
}


def register(kind: str, emit: Callable[[Layer, int], Emitted]) -> None:
    """Add (or replace) the RTL emitter of a layer kind."""
    EMITTERS[kind] = emit
