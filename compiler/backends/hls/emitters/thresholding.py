"""HLS emission of a Thresholding layer: bnnc::thresholding (thresholding.hpp) plus its threshold ROM."""
from __future__ import annotations

from compiler.backends.hls.registry import emitter
from compiler.backends.hls.common import StageCode, params_header, prefix, template_args
from compiler.backends.hls import params
from compiler.backends.hls.cxx import codec
from compiler.ir.graph import Layer


@emitter("Thresholding")
def emit(layer: Layer, index: int, src: str, dst: str, in_elems: int) -> StageCode:
    a = layer.attrs
    pre = prefix(layer, index)
    tbits, t = params.threshold_rom(layer, a["num_channels"])
    header = params_header(layer, index, f"Thresholding C={a['num_channels']} pe={layer.pe}",
                           [params.thresholds_decl(f"{pre}_thresholds", tbits, t)])
    targs = [a["num_channels"], layer.pe, a["num_vectors"], codec(layer.in_dtype), codec(layer.out_dtype),
             t.shape[2], int(a.get("out_bias", 0))]
    call = f"bnnc::thresholding<{template_args(targs)}>({src}, {dst}, {pre}_thresholds, num_frames);"
    pragmas = [f"#pragma HLS ARRAY_PARTITION variable={pre}_thresholds complete dim=1",
               f"#pragma HLS ARRAY_PARTITION variable={pre}_thresholds complete dim=3"]
    return StageCode(call, header, pragmas)
