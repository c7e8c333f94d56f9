"""RTL emitters, one module per layer kind, each registered in compiler.backends.rtl.registry; importing this
package loads them all, so `emitters.get(kind)` returns a kind's emitter or a clear CompileError."""
from compiler.backends.rtl.emitters import (avgpool, label_select, maxpool, mvtu, sliding_window,  # noqa: F401
                                            streams, thresholding, vvau)
from compiler.backends.rtl.registry import emitter, get, kinds, refuse, refused  # noqa: F401

# Every IR kind has an emitter today; a kind added to the IR and HLS backend before its Verilog gets
# `refuse(kind, why)` here, so `bnnc rtlsim` / `bnnc synth` / `bnnc bitstream --rtl` name the layer and the reason.
