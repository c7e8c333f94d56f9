"""HLS emission of an MVTU layer: bnnc::mvtu (hwlib/include/bnnc/mvtu.hpp) plus its weight/threshold ROMs.

Weights in URAM (attribute weight_ram, compiler.estimate.placement) get no initialiser: the top declares the array, binds it
to URAM and fills it in its weight-load mode (compiler.backends.hls.top)."""
from __future__ import annotations

from compiler.backends.hls.registry import emitter
from compiler.backends.hls.common import LoadedMemory, StageCode, params_header, prefix, template_args
from compiler.backends.hls import params
from compiler.backends.hls.cxx import codec
from compiler.kinds.base import in_uram
from compiler.kinds.mvtu import accumulator_bits
from compiler.ir.graph import IRError, Layer


@emitter("MVTU")
def emit(layer: Layer, index: int, src: str, dst: str, in_elems: int) -> StageCode:
    a = layer.attrs
    pre = prefix(layer, index)
    pe, simd = layer.pe, layer.simd
    nf = a["MH"] // pe
    wbits, chunks = params.weight_rom(layer)
    loaded = [LoadedMemory(f"{pre}_weights", wbits, chunks, layer.name)] if in_uram(layer) else []
    body = [] if loaded else [params.weights_decl(f"{pre}_weights", wbits, chunks)]
    if a["noact"]:
        nt = 1
        body.append(params.dummy_thresholds_decl(f"{pre}_thresholds", pe, nf))
    else:
        tbits, t = params.threshold_rom(layer, a["MH"], a["MW"] if a["binary_xnor"] else None)
        nt = t.shape[2]
        body.append(params.thresholds_decl(f"{pre}_thresholds", tbits, t))
    acc = accumulator_bits(layer)
    if acc > 64:
        raise IRError(f"layer {layer.name!r} (MVTU): accumulator needs {acc} bits; at most 64 are supported")
    out_bias = int(a.get("out_bias", 0))
    targs = [a["MW"], a["MH"], simd, pe, a["num_vectors"], codec(layer.in_dtype), codec(a["weight_dtype"]),
             codec(layer.out_dtype), f"ap_int<{acc}>", nt, str(bool(a["binary_xnor"])).lower(),
             str(bool(a["noact"])).lower(), out_bias]
    header = params_header(layer, index, f"MVTU MW={a['MW']} MH={a['MH']} pe={pe} simd={simd} "
                           f"num_vectors={a['num_vectors']} acc=ap_int<{acc}>", body)
    call = f"bnnc::mvtu<{template_args(targs)}>({src}, {dst}, {pre}_weights, {pre}_thresholds, num_frames);"
    pragmas = ([] if loaded else [f"#pragma HLS ARRAY_PARTITION variable={pre}_weights complete dim=1"]) + \
        [f"#pragma HLS ARRAY_PARTITION variable={pre}_thresholds complete dim=1",
         f"#pragma HLS ARRAY_PARTITION variable={pre}_thresholds complete dim=3"]
    return StageCode(call, header, pragmas, loaded)
