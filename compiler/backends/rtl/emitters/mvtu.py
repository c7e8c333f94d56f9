"""MVTU -> bnnc_mvtu (hwlib/verilog/bnnc_mvtu.v) with its weight and threshold ROM files."""
from __future__ import annotations

import numpy as np

from compiler.backends.rtl.common import PARAMS_DIR, Emitted, hex_rom, instance, kind_code, module_name, word_bits
from compiler.ir.datatypes import element_bits as bits, signed_bits
from compiler.kinds.mvtu import accumulator_bits, dsp_products
from compiler.kernels.activation import threshold_table
from compiler.backends.rtl.registry import emitter
from compiler.ir.graph import IRError, Layer


@emitter("MVTU")
def emit(layer: Layer, index: int) -> Emitted:
    a = layer.attrs
    name = module_name(layer, index)
    where = f"layer {layer.name!r} (MVTU)"
    mh, mw, pe, simd = a["MH"], a["MW"], layer.pe, layer.simd
    nf, sf = mh // pe, mw // simd
    w = np.asarray(layer.arrays["weights"])
    if w.shape != (mh, mw):
        raise IRError(f"{where}: weights have shape {w.shape}, expected (MH, MW) = ({mh}, {mw})")
    # word nf*SF + sf holds weights[nf*PE + p, sf*SIMD + s] at field p*SIMD + s
    words = w.reshape(nf, pe, sf, simd).transpose(0, 2, 1, 3).reshape(nf * sf, pe * simd)
    files = {f"{PARAMS_DIR}/{name}_weights.hex": hex_rom(words, a["weight_dtype"], f"{where} weights")}
    xnor, noact = bool(a["binary_xnor"]), bool(a["noact"])
    aw = signed_bits(-mw, mw) if xnor else accumulator_bits(layer)
    nt, tb = 1, 2
    if not noact:
        tb, t = threshold_table(layer, mh, a["MW"] if a["binary_xnor"] else None)   # (PE, NF, T), popcount domain for XNOR
        nt = t.shape[2]
        tw = t.transpose(1, 0, 2).reshape(nf, pe * nt)      # word nf: thr[nf*PE + p][t] at field p*NT + t
        files[f"{PARAMS_DIR}/{name}_thresholds.hex"] = hex_rom(tw, f"INT{tb}", f"{where} thresholds")
    ob = bits(layer.out_dtype)
    if not noact and layer.out_dtype != "BIPOLAR" and ob > 32:
        raise IRError(f"{where}: a thresholded output of {ob} bits is not supported by the RTL library (<= 32)")
    params = {"MW": mw, "MH": mh, "SIMD": simd, "PE": pe, "IB": bits(layer.in_dtype),
              "IN_KIND": kind_code(layer.in_dtype), "WB": bits(a["weight_dtype"]),
              "W_KIND": kind_code(a["weight_dtype"]), "OB": ob, "AW": aw, "NT": nt, "TB": tb,
              "XNOR": int(xnor), "NOACT": int(noact), "OUT_BIAS": int(a.get("out_bias", 0)),
              "OUT_BIPOLAR": int(layer.out_dtype == "BIPOLAR"),
              "WFILE": f"{PARAMS_DIR}/{name}_weights.hex", "TFILE": f"{PARAMS_DIR}/{name}_thresholds.hex",
              "MUL_DSP": int(dsp_products(layer))}
    text = instance("bnnc_mvtu", params, name, word_bits(layer, "in"), word_bits(layer, "out"),
                    f"layer {layer.name!r}: MVTU MW={mw} MH={mh} pe={pe} simd={simd} "
                    f"{'xnor' if xnor else 'mac'}{' noact' if noact else ''}")
    return Emitted(name, text, files)
