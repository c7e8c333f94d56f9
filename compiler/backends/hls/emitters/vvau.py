"""HLS emission of a VVAU (depthwise) layer: bnnc::vvau (vvau.hpp) plus its weight and threshold ROMs.

Weights are stored as signed integer values [p][cf][k] (channel c = cf*PE + p), thresholds as for MVTU.
"""
from __future__ import annotations

import math

import numpy as np

from compiler.backends.hls import params
from compiler.backends.hls.common import StageCode, params_header, prefix, template_args
from compiler.backends.hls.cxx import bits, codec, signed_bits, value_range
from compiler.backends.hls.registry import emitter
from compiler.ir.graph import IRError, Layer


@emitter("VVAU")
def emit(layer: Layer, index: int, src: str, dst: str, in_elems: int) -> StageCode:
    a = layer.attrs
    pre, pe, c, k = prefix(layer, index), layer.pe, a["channels"], math.prod(a["kernel"])
    w = np.asarray(layer.arrays["weights"], np.int64)
    rom = np.ascontiguousarray(w.reshape(c // pe, pe, k).transpose(1, 0, 2))
    body = [params.thresholds_decl(f"{pre}_weights", signed_bits(int(w.min()), int(w.max())), rom)]
    if a["noact"]:
        nt = 1
        body.append(params.dummy_thresholds_decl(f"{pre}_thresholds", pe, c // pe))
    else:
        tbits, t = params.threshold_rom(layer, c)
        nt = t.shape[2]
        body.append(params.thresholds_decl(f"{pre}_thresholds", tbits, t))
    lo, hi = value_range(layer.in_dtype)
    p1, p2 = w * lo, w * hi
    acc = max(signed_bits(int(np.minimum(np.minimum(p1, p2), 0).sum(1).min(initial=0)),
                          int(np.maximum(np.maximum(p1, p2), 0).sum(1).max(initial=0))),
              bits(a["acc_dtype"]) + 1)
    if acc > 64:
        raise IRError(f"layer {layer.name!r} (VVAU): accumulator needs {acc} bits; at most 64 are supported")
    header = params_header(layer, index, f"VVAU C={c} K={k} pe={pe} num_vectors={a['num_vectors']}", body)
    targs = [c, pe, k, a["num_vectors"], codec(layer.in_dtype), codec(layer.out_dtype), f"ap_int<{acc}>", nt,
             str(bool(a["noact"])).lower(), int(a["out_bias"])]
    call = f"bnnc::vvau<{template_args(targs)}>({src}, {dst}, {pre}_weights, {pre}_thresholds, num_frames);"
    pragmas = [f"#pragma HLS ARRAY_PARTITION variable={pre}_weights complete dim=1",
               f"#pragma HLS ARRAY_PARTITION variable={pre}_thresholds complete dim=1",
               f"#pragma HLS ARRAY_PARTITION variable={pre}_thresholds complete dim=3"]
    return StageCode(call, header, pragmas)
