"""HLS emission of a LabelSelect layer: bnnc::label_select (label_select.hpp)."""
from __future__ import annotations

from compiler.backends.hls.registry import emitter
from compiler.backends.hls.common import StageCode, template_args
from compiler.backends.hls.cxx import codec
from compiler.ir.graph import Layer


@emitter("LabelSelect")
def emit(layer: Layer, index: int, src: str, dst: str, in_elems: int) -> StageCode:
    a = layer.attrs
    targs = [a["num_labels"], a["k"], in_elems, codec(layer.in_dtype), codec(layer.out_dtype)]
    return StageCode(f"bnnc::label_select<{template_args(targs)}>({src}, {dst}, num_frames);")
