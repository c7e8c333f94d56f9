"""SlidingWindow -> bnnc_swg (hwlib/verilog/bnnc_swg.v)."""
from __future__ import annotations

from compiler.backends.rtl.common import Emitted, instance, kind_code, module_name, signed_value, word_bits
from compiler.ir.datatypes import element_bits as bits
from compiler.backends.rtl.registry import emitter
from compiler.ir.graph import Layer


@emitter("SlidingWindow")
def emit(layer: Layer, index: int) -> Emitted:
    a = layer.attrs
    name = module_name(layer, index)
    (h, w), (kh, kw), (sh, sw), p, (oh, ow) = a["ifm_dim"], a["kernel"], a["stride"], a["pad"], a["ofm_dim"]
    ob = bits(layer.out_dtype)
    params = {"H": h, "W": w, "C": a["channels"], "KH": kh, "KW": kw, "SH": sh, "SW": sw, "PAD_TOP": p[0],
              "PAD_LEFT": p[1], "OH": oh, "OW": ow, "SIMD": layer.simd, "IB": bits(layer.in_dtype),
              "IN_KIND": kind_code(layer.in_dtype), "OB": ob, "OUT_KIND": kind_code(layer.out_dtype),
              "PAD_CODE": signed_value(int(a.get("pad_value", 0)), ob)}
    text = instance("bnnc_swg", params, name, word_bits(layer, "in"), word_bits(layer, "out"),
                    f"layer {layer.name!r}: SlidingWindow {h}x{w}x{a['channels']} k={kh}x{kw} s={sh}x{sw} "
                    f"pad={p} simd={layer.simd}")
    return Emitted(name, text)
