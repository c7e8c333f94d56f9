"""HLS emission of a SlidingWindow layer: bnnc::sliding_window (sliding_window.hpp)."""
from __future__ import annotations

from compiler.backends.hls.registry import emitter
from compiler.backends.hls.common import StageCode, template_args
from compiler.backends.hls.cxx import codec
from compiler.ir.graph import Layer


@emitter("SlidingWindow")
def emit(layer: Layer, index: int, src: str, dst: str, in_elems: int) -> StageCode:
    a = layer.attrs
    (h, w), (kh, kw), (sh, sw), p, (oh, ow) = a["ifm_dim"], a["kernel"], a["stride"], a["pad"], a["ofm_dim"]
    targs = [h, w, a["channels"], kh, kw, sh, sw, p[0], p[1], oh, ow, layer.simd, codec(layer.in_dtype),
             codec(layer.out_dtype), int(a.get("pad_value", 0))]
    return StageCode(f"bnnc::sliding_window<{template_args(targs)}>({src}, {dst}, num_frames);")
