"""MaxPool -> bnnc_pool (OP 0) for windows that do not overlap, else bnnc_swg -> bnnc_winacc (OP 0)."""
from __future__ import annotations

import math

from compiler.backends.rtl.common import Emitted, instance, kind_code, module_name, word_bits
from compiler.backends.rtl.registry import emitter
from compiler.backends.rtl.window import WINACC_OP, swg_params, window_chain
from compiler.ir.datatypes import element_bits as bits
from compiler.ir.graph import Layer


@emitter("MaxPool")
def emit(layer: Layer, index: int) -> Emitted:
    a = layer.attrs
    name = module_name(layer, index)
    (h, w), (kh, kw), (sh, sw), (oh, ow) = a["ifm_dim"], a["kernel"], a["stride"], a["ofm_dim"]
    b, kind = bits(layer.in_dtype), kind_code(layer.in_dtype)
    comment = f"layer {layer.name!r}: MaxPool {h}x{w}x{a['channels']} k={kh}x{kw} s={sh}x{sw} pe={layer.pe}"
    in_bits, out_bits = word_bits(layer, "in"), word_bits(layer, "out")
    if sh < kh or sw < kw:          # overlapping windows: a window generator, then the running maximum
        acc = {"K": math.prod(a["kernel"]), "C": a["channels"], "PE": layer.pe, "IB": b, "IN_KIND": kind,
               "OP": WINACC_OP["max"], "OB": b}
        return Emitted(name, window_chain(name, swg_params(layer), acc, in_bits, out_bits, comment))
    params = {"H": h, "W": w, "C": a["channels"], "KH": kh, "KW": kw, "SH": sh, "SW": sw, "OH": oh, "OW": ow,
              "PE": layer.pe, "B": b, "KIND": kind, "OP": 0, "OB": b}
    return Emitted(name, instance("bnnc_pool", params, name, in_bits, out_bits, comment))
