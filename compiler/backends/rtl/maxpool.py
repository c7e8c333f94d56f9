"""MaxPool -> bnnc_maxpool (hls/rtl/bnnc_maxpool.v; non-overlapping windows)."""
from __future__ import annotations

from compiler.backends.rtl.common import Emitted, instance, kind_code, module_name, word_bits
from compiler.datatypes import element_bits as bits
from compiler.errors import CompileError
from compiler.backends.rtl.registry import emitter
from compiler.ir import Layer


@emitter("MaxPool")
def emit(layer: Layer, index: int) -> Emitted:
    a = layer.attrs
    name = module_name(layer, index)
    (h, w), (kh, kw), (sh, sw), (oh, ow) = a["ifm_dim"], a["kernel"], a["stride"], a["ofm_dim"]
    if sh < kh or sw < kw:
        raise CompileError(f"layer {layer.name!r} (MaxPool): overlapping windows (kernel {kh}x{kw}, stride "
                           f"{sh}x{sw}) are not in the RTL library yet",
                           hint="use the HLS backend (bnnc csim / bnnc hls) for this model")
    params = {"H": h, "W": w, "C": a["channels"], "KH": kh, "KW": kw, "SH": sh, "SW": sw, "OH": oh, "OW": ow,
              "PE": layer.pe, "B": bits(layer.in_dtype), "KIND": kind_code(layer.in_dtype)}
    text = instance("bnnc_maxpool", params, name, word_bits(layer, "in"), word_bits(layer, "out"),
                    f"layer {layer.name!r}: MaxPool {h}x{w}x{a['channels']} k={kh}x{kw} s={sh}x{sw} pe={layer.pe}")
    return Emitted(name, text)
