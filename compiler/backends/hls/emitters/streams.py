"""HLS emission of the branching kinds: bnnc::duplicate, bnnc::add_streams and bnnc::concat_streams (branches.hpp).

Multi-stream layers get their streams as comma-separated lists in `src` / `dst` (compiler.backends.plan orders
them as the layer's inputs / outputs)."""
from __future__ import annotations

import math

from compiler.backends.hls import params
from compiler.backends.hls.common import StageCode, params_header, prefix, template_args
from compiler.backends.hls.cxx import bits, codec
from compiler.backends.hls.registry import emitter
from compiler.ir.graph import Layer
from compiler.kinds.streams import mults


@emitter("DuplicateStreams")
def emit_duplicate(layer: Layer, index: int, src: str, dst: str, in_elems: int) -> StageCode:
    words = math.prod(layer.in_shape) // layer.pe
    return StageCode(f"bnnc::duplicate<{words}, {layer.pe * bits(layer.in_dtype)}>({src}, {dst}, num_frames);")


@emitter("AddStreams")
def emit_add(layer: Layer, index: int, src: str, dst: str, in_elems: int) -> StageCode:
    a = layer.attrs
    pre, c, pe = prefix(layer, index), a["num_channels"], layer.pe
    if a["noact"]:
        nt, body = 1, [params.dummy_thresholds_decl(f"{pre}_thresholds", pe, c // pe)]
    else:
        tbits, t = params.threshold_rom(layer, c)
        nt, body = t.shape[2], [params.thresholds_decl(f"{pre}_thresholds", tbits, t)]
    acc = f"ap_int<{bits(a['acc_dtype']) + 1}>"
    header = params_header(layer, index, f"AddStreams C={c} pe={pe} shift={list(a['shift'])}", body)
    targs = [c, pe, a["num_vectors"], codec(layer.in_dtype), codec(a["in1_dtype"]), codec(layer.out_dtype), acc,
             int(a["shift"][0]), int(a["shift"][1]), nt, str(bool(a["noact"])).lower(), int(a["out_bias"])]
    m = mults(layer)
    if m != [1, 1]:
        targs += [m[0], m[1]]                     # (the ROM type stays deduced from the thresholds argument)
    call = f"bnnc::add_streams<{template_args(targs)}>({src}, {dst}, {pre}_thresholds, num_frames);"
    pragmas = [f"#pragma HLS ARRAY_PARTITION variable={pre}_thresholds complete dim=1",
               f"#pragma HLS ARRAY_PARTITION variable={pre}_thresholds complete dim=3"]
    return StageCode(call, header, pragmas)


@emitter("ConcatStreams")
def emit_concat(layer: Layer, index: int, src: str, dst: str, in_elems: int) -> StageCode:
    a = layer.attrs
    c0, c1 = (int(v) for v in a["channels"])
    targs = [c0, c1, layer.pe, a["num_vectors"], codec(layer.in_dtype), codec(a["in1_dtype"]), codec(layer.out_dtype),
             int(a["shift"][0]), int(a["shift"][1])]
    m = mults(layer)
    if m != [1, 1]:
        targs += [m[0], m[1]]
    return StageCode(f"bnnc::concat_streams<{template_args(targs)}>({src}, {dst}, num_frames);")
