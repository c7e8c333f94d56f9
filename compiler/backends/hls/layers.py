"""One dataflow stage -> its template call in the top function: width converters here, layers through the
HLS backend's per-kind emitters (compiler.backends.hls.emitters)."""
from __future__ import annotations

from compiler.backends.hls import emitters
from compiler.backends.hls.common import StageCode, template_args
from compiler.backends.plan import Stage

__all__ = ["StageCode", "stage_code"]


def stage_code(stage: Stage, src: str, dst: str) -> StageCode:
    if stage.kind == "convert":
        targs = [stage.in_elems, stage.out_elems, stage.elem_bits_in, stage.total]
        return StageCode(f"bnnc::width_convert<{template_args(targs)}>({src}, {dst}, num_frames);")
    l = stage.layer
    return emitters.get(l.kind)(l, stage.index, src, dst, stage.in_elems)
