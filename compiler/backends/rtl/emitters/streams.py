"""DuplicateStreams -> bnnc_dup, AddStreams -> bnnc_add, ConcatStreams -> bnnc_concat (hwlib/verilog; semantics in
compiler.kinds.streams).

Their wrappers have several stream ports (common.port: in0/in1, out0/out1); compiler.backends.rtl.project
wires them along the graph's streams and puts the branch FIFOs (compiler.estimate.fifo) in front of AddStreams."""
from __future__ import annotations

from compiler.backends.rtl.common import PARAMS_DIR, Emitted, hex_rom, kind_code, module_name, multi_instance
from compiler.backends.rtl.registry import emitter
from compiler.ir.datatypes import element_bits as bits
from compiler.ir.graph import IRError, Layer
from compiler.kernels.activation import threshold_table
from compiler.kinds.streams import mults


@emitter("DuplicateStreams")
def emit_duplicate(layer: Layer, index: int) -> Emitted:
    name = module_name(layer, index)
    w = layer.pe * bits(layer.in_dtype)
    text = multi_instance("bnnc_dup", {"W": w}, name, [w], [w, w],
                          f"layer {layer.name!r}: DuplicateStreams {layer.attrs['num_channels']} channels pe={layer.pe}")
    return Emitted(name, text)


@emitter("AddStreams")
def emit_add(layer: Layer, index: int) -> Emitted:
    a = layer.attrs
    name = module_name(layer, index)
    where = f"layer {layer.name!r} (AddStreams)"
    c, pe = int(a["num_channels"]), layer.pe
    d0, d1, ob = layer.in_dtype, a["in1_dtype"], bits(layer.out_dtype)
    if not a["noact"] and layer.out_dtype != "BIPOLAR" and ob > 32:
        raise IRError(f"{where}: a thresholded output of {ob} bits is not supported by the RTL library (<= 32)")
    params = {"C": c, "PE": pe, "IB0": bits(d0), "KIND0": kind_code(d0), "IB1": bits(d1), "KIND1": kind_code(d1),
              "SHIFT0": int(a["shift"][0]), "SHIFT1": int(a["shift"][1]), "OB": ob, "NOACT": int(bool(a["noact"]))}
    m = mults(layer)
    if m != [1, 1]:
        params.update({"M0": m[0], "M1": m[1]})
    files = {}
    if not a["noact"]:
        tb, t = threshold_table(layer, c)                       # (PE, C/PE, T)
        nt = t.shape[2]
        tfile = f"{PARAMS_DIR}/{name}_thresholds.hex"
        files[tfile] = hex_rom(t.transpose(1, 0, 2).reshape(c // pe, pe * nt), f"INT{tb}", f"{where} thresholds")
        params.update({"NT": nt, "TB": tb, "OUT_BIAS": int(a["out_bias"]),
                       "OUT_BIPOLAR": int(layer.out_dtype == "BIPOLAR"), "TFILE": tfile})
    text = multi_instance("bnnc_add", params, name, [pe * bits(d0), pe * bits(d1)], [pe * ob],
                          f"layer {layer.name!r}: AddStreams C={c} pe={pe} shift={list(a['shift'])}"
                          f"{' noact' if a['noact'] else ''}")
    return Emitted(name, text, files)


@emitter("ConcatStreams")
def emit_concat(layer: Layer, index: int) -> Emitted:
    a = layer.attrs
    name = module_name(layer, index)
    c0, c1 = (int(v) for v in a["channels"])
    d0, d1, ob, pe = layer.in_dtype, a["in1_dtype"], bits(layer.out_dtype), layer.pe
    params = {"C0": c0, "C1": c1, "PE": pe, "IB0": bits(d0), "KIND0": kind_code(d0), "IB1": bits(d1),
              "KIND1": kind_code(d1), "SHIFT0": int(a["shift"][0]), "SHIFT1": int(a["shift"][1]), "OB": ob}
    m = mults(layer)
    if m != [1, 1]:
        params.update({"M0": m[0], "M1": m[1]})
    text = multi_instance("bnnc_concat", params, name, [pe * bits(d0), pe * bits(d1)], [pe * ob],
                          f"layer {layer.name!r}: ConcatStreams channels={[c0, c1]} pe={pe} shift={list(a['shift'])}"
                          f"{f' mult={m}' if m != [1, 1] else ''}")
    return Emitted(name, text)
