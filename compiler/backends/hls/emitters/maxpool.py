"""HLS emission of a MaxPool layer: bnnc::maxpool_disjoint / maxpool_overlapping (maxpool.hpp)."""
from __future__ import annotations

from compiler.backends.hls.registry import emitter
from compiler.backends.hls.common import StageCode, template_args
from compiler.backends.hls.cxx import codec
from compiler.ir.graph import Layer


@emitter("MaxPool")
def emit(layer: Layer, index: int, src: str, dst: str, in_elems: int) -> StageCode:
    a = layer.attrs
    (h, w), (kh, kw), (sh, sw), (oh, ow) = a["ifm_dim"], a["kernel"], a["stride"], a["ofm_dim"]
    fn = "maxpool_disjoint" if sh >= kh and sw >= kw else "maxpool_overlapping"
    targs = [h, w, a["channels"], kh, kw, sh, sw, oh, ow, layer.pe, codec(layer.in_dtype)]
    return StageCode(f"bnnc::{fn}<{template_args(targs)}>({src}, {dst}, num_frames);")
