"""One dataflow stage -> its template call in the top function (and, for MVTU/Thresholding, its ROM header)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from compiler.codegen import params
from compiler.codegen.cxx import codec, identifier, signed_bits, value_range
from compiler.codegen.plan import Stage
from compiler.ir import IRError, Layer
from compiler.names import cxx_comment


@dataclass
class StageCode:
    call: str                                   # C++ statement(s) in the top function
    header: tuple[str, str] | None = None       # (file name under src/params, contents)
    pragmas: list[str] = field(default_factory=list)


def prefix(layer: Layer, index: int) -> str:
    return f"l{index:02d}_{identifier(layer.name)}"


def accumulator_bits(layer: Layer) -> int:
    """Signed width holding every partial sum of an MVTU row exactly (for XNOR: the popcount and 2*pc - MW)."""
    a = layer.attrs
    if a["binary_xnor"]:
        return signed_bits(-a["MW"], a["MW"])
    lo, hi = value_range(layer.in_dtype)
    w = np.asarray(layer.arrays["weights"], np.int64)
    p1, p2 = w * lo, w * hi
    neg = np.minimum(np.minimum(p1, p2), 0).sum(axis=1)
    pos = np.maximum(np.maximum(p1, p2), 0).sum(axis=1)
    return signed_bits(int(neg.min(initial=0)), int(pos.max(initial=0)))


def _mvtu(layer: Layer, index: int, src: str, dst: str) -> StageCode:
    a = layer.attrs
    pre = prefix(layer, index)
    pe, simd = layer.pe, layer.simd
    nf = a["MH"] // pe
    wbits, chunks = params.weight_rom(layer)
    body = [params.weights_decl(f"{pre}_weights", wbits, chunks)]
    if a["noact"]:
        nt = 1
        body.append(params.dummy_thresholds_decl(f"{pre}_thresholds", pe, nf))
    else:
        tbits, t = params.threshold_rom(layer, a["MH"])
        nt = t.shape[2]
        body.append(params.thresholds_decl(f"{pre}_thresholds", tbits, t))
    acc = accumulator_bits(layer)
    if acc > 64:
        raise IRError(f"layer {layer.name!r} (MVTU): accumulator needs {acc} bits; at most 64 are supported")
    out_bias = int(a.get("out_bias", 0))
    targs = [a["MW"], a["MH"], simd, pe, a["num_vectors"], codec(layer.in_dtype), codec(a["weight_dtype"]),
             codec(layer.out_dtype), f"ap_int<{acc}>", nt, str(bool(a["binary_xnor"])).lower(),
             str(bool(a["noact"])).lower(), out_bias]
    header = _header(layer, index, f"MVTU MW={a['MW']} MH={a['MH']} pe={pe} simd={simd} "
                     f"num_vectors={a['num_vectors']} acc=ap_int<{acc}>", body)
    call = f"bnnc::mvtu<{_args(targs)}>({src}, {dst}, {pre}_weights, {pre}_thresholds, num_frames);"
    pragmas = [f"#pragma HLS ARRAY_PARTITION variable={pre}_weights complete dim=1",
               f"#pragma HLS ARRAY_PARTITION variable={pre}_thresholds complete dim=1",
               f"#pragma HLS ARRAY_PARTITION variable={pre}_thresholds complete dim=3"]
    return StageCode(call, header, pragmas)


def _thresholding(layer: Layer, index: int, src: str, dst: str) -> StageCode:
    a = layer.attrs
    pre = prefix(layer, index)
    tbits, t = params.threshold_rom(layer, a["num_channels"])
    header = _header(layer, index, f"Thresholding C={a['num_channels']} pe={layer.pe}",
                     [params.thresholds_decl(f"{pre}_thresholds", tbits, t)])
    targs = [a["num_channels"], layer.pe, a["num_vectors"], codec(layer.in_dtype), codec(layer.out_dtype),
             t.shape[2], int(a.get("out_bias", 0))]
    call = f"bnnc::thresholding<{_args(targs)}>({src}, {dst}, {pre}_thresholds, num_frames);"
    pragmas = [f"#pragma HLS ARRAY_PARTITION variable={pre}_thresholds complete dim=1",
               f"#pragma HLS ARRAY_PARTITION variable={pre}_thresholds complete dim=3"]
    return StageCode(call, header, pragmas)


def _sliding_window(layer: Layer, index: int, src: str, dst: str) -> StageCode:
    a = layer.attrs
    (h, w), (kh, kw), (sh, sw), p, (oh, ow) = a["ifm_dim"], a["kernel"], a["stride"], a["pad"], a["ofm_dim"]
    targs = [h, w, a["channels"], kh, kw, sh, sw, p[0], p[1], oh, ow, layer.simd, codec(layer.in_dtype),
             codec(layer.out_dtype), int(a.get("pad_value", 0))]
    return StageCode(f"bnnc::sliding_window<{_args(targs)}>({src}, {dst}, num_frames);")


def _maxpool(layer: Layer, index: int, src: str, dst: str) -> StageCode:
    a = layer.attrs
    (h, w), (kh, kw), (sh, sw), (oh, ow) = a["ifm_dim"], a["kernel"], a["stride"], a["ofm_dim"]
    fn = "maxpool_disjoint" if sh >= kh and sw >= kw else "maxpool_overlapping"
    targs = [h, w, a["channels"], kh, kw, sh, sw, oh, ow, layer.pe, codec(layer.in_dtype)]
    return StageCode(f"bnnc::{fn}<{_args(targs)}>({src}, {dst}, num_frames);")


def _label_select(layer: Layer, index: int, src: str, dst: str, in_elems: int) -> StageCode:
    a = layer.attrs
    targs = [a["num_labels"], a["k"], in_elems, codec(layer.in_dtype), codec(layer.out_dtype)]
    return StageCode(f"bnnc::label_select<{_args(targs)}>({src}, {dst}, num_frames);")


def stage_code(stage: Stage, src: str, dst: str) -> StageCode:
    if stage.kind == "convert":
        targs = [stage.in_elems, stage.out_elems, stage.elem_bits_in, stage.total]
        return StageCode(f"bnnc::width_convert<{_args(targs)}>({src}, {dst}, num_frames);")
    l = stage.layer
    if l.kind == "MVTU":
        return _mvtu(l, stage.index, src, dst)
    if l.kind == "Thresholding":
        return _thresholding(l, stage.index, src, dst)
    if l.kind == "SlidingWindow":
        return _sliding_window(l, stage.index, src, dst)
    if l.kind == "MaxPool":
        return _maxpool(l, stage.index, src, dst)
    return _label_select(l, stage.index, src, dst, stage.in_elems)


def _args(values: list) -> str:
    return ", ".join(str(v) for v in values)


def _header(layer: Layer, index: int, summary: str, body: list[str]) -> tuple[str, str]:
    name = f"{prefix(layer, index)}.hpp"
    guard = f"BNNC_PARAMS_{prefix(layer, index).upper()}"
    text = (f"// Generated by bnnc: constant memories of layer {cxx_comment(layer.name)} ({summary}).\n"
            f"#ifndef {guard}\n#define {guard}\n\n#include \"bnnc/types.hpp\"\n\n" + "\n".join(body) + "\n#endif\n")
    return name, text
