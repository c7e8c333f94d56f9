"""Thresholding -> bnnc_thresholding (hwlib/verilog/bnnc_thresholding.v) with its threshold ROM file."""
from __future__ import annotations

from compiler.backends.rtl.common import PARAMS_DIR, Emitted, hex_rom, instance, kind_code, module_name, word_bits
from compiler.ir.datatypes import element_bits as bits
from compiler.kernels.activation import threshold_table
from compiler.backends.rtl.registry import emitter
from compiler.ir.graph import IRError, Layer


@emitter("Thresholding")
def emit(layer: Layer, index: int) -> Emitted:
    a = layer.attrs
    name = module_name(layer, index)
    where = f"layer {layer.name!r} (Thresholding)"
    c, pe = a["num_channels"], layer.pe
    tb, t = threshold_table(layer, c)                          # (PE, C/PE, T)
    nt = t.shape[2]
    tw = t.transpose(1, 0, 2).reshape(c // pe, pe * nt)
    ob = bits(layer.out_dtype)
    if layer.out_dtype != "BIPOLAR" and ob > 32:
        raise IRError(f"{where}: a thresholded output of {ob} bits is not supported by the RTL library (<= 32)")
    tfile = f"{PARAMS_DIR}/{name}_thresholds.hex"
    params = {"C": c, "PE": pe, "IB": bits(layer.in_dtype), "IN_KIND": kind_code(layer.in_dtype), "OB": ob,
              "NT": nt, "TB": tb, "OUT_BIAS": int(a.get("out_bias", 0)),
              "OUT_BIPOLAR": int(layer.out_dtype == "BIPOLAR"), "TFILE": tfile}
    text = instance("bnnc_thresholding", params, name, word_bits(layer, "in"), word_bits(layer, "out"),
                    f"layer {layer.name!r}: Thresholding C={c} pe={pe} T={nt}")
    return Emitted(name, text, {tfile: hex_rom(tw, f"INT{tb}", f"{where} thresholds")})
