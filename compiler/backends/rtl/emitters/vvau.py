"""VVAU -> bnnc_winacc (OP 2) with its weight and threshold ROM files. The layer reads its SlidingWindow's
stream, PE channels of one window position per word in (k, cf) order (compiler.kinds.vvau)."""
from __future__ import annotations

import math

import numpy as np

from compiler.backends.rtl.common import PARAMS_DIR, Emitted, hex_rom, instance, kind_code, module_name, word_bits
from compiler.backends.rtl.registry import emitter
from compiler.backends.rtl.window import WINACC_OP, activation_params
from compiler.ir.datatypes import element_bits as bits
from compiler.ir.graph import IRError, Layer
from compiler.backends.rtl.library_cost import mac_bits


@emitter("VVAU")
def emit(layer: Layer, index: int) -> Emitted:
    a = layer.attrs
    name = module_name(layer, index)
    where = f"layer {layer.name!r} (VVAU)"
    c, k, pe = a["channels"], math.prod(a["kernel"]), layer.pe
    w = np.asarray(layer.arrays["weights"])
    if w.shape != (c, k):
        raise IRError(f"{where}: weights have shape {w.shape}, expected (channels, KH*KW) = ({c}, {k})")
    # word k*CF + cf holds weights[cf*PE + p, k] at field p
    words = w.reshape(c // pe, pe, k).transpose(2, 0, 1).reshape(k * (c // pe), pe)
    wfile = f"{PARAMS_DIR}/{name}_weights.hex"
    act, files = activation_params(layer, c, name, where)
    files[wfile] = hex_rom(words, a["weight_dtype"], f"{where} weights")
    params = {"K": k, "C": c, "PE": pe, "IB": bits(layer.in_dtype), "IN_KIND": kind_code(layer.in_dtype),
              "OP": WINACC_OP["mac"], "WB": bits(a["weight_dtype"]), "W_KIND": kind_code(a["weight_dtype"]),
              "AW": mac_bits(layer, w), **act, "WFILE": wfile}
    text = instance("bnnc_winacc", params, name, word_bits(layer, "in"), word_bits(layer, "out"),
                    f"layer {layer.name!r}: VVAU C={c} K={k} pe={pe}{' noact' if a['noact'] else ''}")
    return Emitted(name, text, files)
