"""AvgPool -> bnnc_pool (OP 1: window sums, then thresholds or the sum) for windows that do not overlap (global
pools included), else bnnc_swg -> bnnc_winacc (OP 1), the path a stride < kernel or zero-padded window takes."""
from __future__ import annotations

import math

from compiler.backends.rtl.common import Emitted, instance, kind_code, module_name, word_bits
from compiler.backends.rtl.registry import emitter
from compiler.backends.rtl.window import WINACC_OP, activation_params, swg_params, window_chain
from compiler.ir.datatypes import element_bits as bits
from compiler.ir.graph import Layer
from compiler.backends.rtl.library_cost import sum_bits


@emitter("AvgPool")
def emit(layer: Layer, index: int) -> Emitted:
    a = layer.attrs
    name = module_name(layer, index)
    where = f"layer {layer.name!r} (AvgPool)"
    (h, w), (kh, kw), (sh, sw), (oh, ow) = a["ifm_dim"], a["kernel"], a["stride"], a["ofm_dim"]
    act, files = activation_params(layer, a["channels"], name, where)
    aw = sum_bits(layer, kh * kw)
    comment = (f"layer {layer.name!r}: AvgPool {h}x{w}x{a['channels']} k={kh}x{kw} s={sh}x{sw} pe={layer.pe}"
               f"{' noact' if a['noact'] else ''}")
    in_bits, out_bits = word_bits(layer, "in"), word_bits(layer, "out")
    b, kind = bits(layer.in_dtype), kind_code(layer.in_dtype)
    if sh < kh or sw < kw or any(a.get("pad", ())):   # overlapping or padded: a window generator, then the sum
        acc = {"K": math.prod(a["kernel"]), "C": a["channels"], "PE": layer.pe, "IB": b, "IN_KIND": kind,
               "OP": WINACC_OP["sum"], "AW": aw, **act}
        return Emitted(name, window_chain(name, swg_params(layer), acc, in_bits, out_bits, comment), files)
    params = {"H": h, "W": w, "C": a["channels"], "KH": kh, "KW": kw, "SH": sh, "SW": sw, "OH": oh, "OW": ow,
              "PE": layer.pe, "B": b, "KIND": kind, "OP": 1, "AW": aw, **act}
    return Emitted(name, instance("bnnc_pool", params, name, in_bits, out_bits, comment), files)
