"""HLS emission of an AvgPool layer: bnnc::avgpool (avgpool.hpp) plus its threshold ROM."""
from __future__ import annotations

from compiler.backends.hls import params
from compiler.backends.hls.common import StageCode, params_header, prefix, template_args
from compiler.backends.hls.cxx import bits, codec
from compiler.backends.hls.registry import emitter
from compiler.ir.graph import Layer


@emitter("AvgPool")
def emit(layer: Layer, index: int, src: str, dst: str, in_elems: int) -> StageCode:
    a = layer.attrs
    pre = prefix(layer, index)
    (h, w), (kh, kw), (sh, sw), (oh, ow), c = a["ifm_dim"], a["kernel"], a["stride"], a["ofm_dim"], a["channels"]
    pt, pl, pb, pr = a["pad"]
    if a["noact"]:
        nt, body = 1, [params.dummy_thresholds_decl(f"{pre}_thresholds", layer.pe, c // layer.pe)]
    else:
        tbits, t = params.threshold_rom(layer, c)
        nt, body = t.shape[2], [params.thresholds_decl(f"{pre}_thresholds", tbits, t)]
    acc = f"ap_int<{bits(a['acc_dtype']) + 1}>"      # the sum's signed type (one bit more: unsigned sums too)
    header = params_header(layer, index, f"AvgPool {kh}x{kw}/{sh}x{sw} pad {list(a['pad'])} C={c} pe={layer.pe}",
                           body)
    targs = [h, w, c, kh, kw, sh, sw, pt, pl, pb, pr, oh, ow, layer.pe, codec(layer.in_dtype), codec(layer.out_dtype), acc, nt,
             str(bool(a["noact"])).lower(), int(a["out_bias"])]
    call = f"bnnc::avgpool<{template_args(targs)}>({src}, {dst}, {pre}_thresholds, num_frames);"
    pragmas = [f"#pragma HLS ARRAY_PARTITION variable={pre}_thresholds complete dim=1",
               f"#pragma HLS ARRAY_PARTITION variable={pre}_thresholds complete dim=3"]
    return StageCode(call, header, pragmas)
