"""MaxPool: max over KxK windows of an NHWC map (no padding), PE channels per word in and out.

Schema, checks (the pooling output-size formula), golden model, cost and the FINN StreamingMaxPool export;
HLS emission in compiler.backends.hls.maxpool.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from compiler.errors import IRError
from compiler.kinds.registry import register
from compiler.kinds.base import Kind, LayerData, ValueRange
from compiler.kinds.finn import node
from compiler.kinds.sliding_window import check_ofm_dim, conv_out_dim
from compiler.resources import LayerCost, Memory, bits, fifo_luts, logic


@register
class MaxPool(Kind):
    name = "MaxPool"
    attrs = {"ifm_dim": (list, tuple), "channels": int, "kernel": (list, tuple), "stride": (list, tuple),
             "ofm_dim": (list, tuple)}
    ctrl_lut = 80

    def out_shape(self, attrs: dict[str, Any]) -> tuple[int, ...]:
        (h, w), (kh, kw), (sh, sw) = attrs["ifm_dim"], attrs["kernel"], attrs["stride"]
        return (conv_out_dim(h, kh, sh), conv_out_dim(w, kw, sw), attrs["channels"])

    def shapes_ok(self, layer: LayerData) -> bool:
        a = layer.attrs
        return (tuple(layer.in_shape) == (*a["ifm_dim"], a["channels"])
                and tuple(layer.out_shape) == (*a["ofm_dim"], a["channels"]))

    def check(self, layer: LayerData) -> None:
        check_ofm_dim(self, layer, "ifm_dim/kernel/stride")

    def folded_dims(self, layer: LayerData) -> dict[str, tuple[str, int]]:
        return {"pe": ("channels", int(layer.attrs["channels"]))}

    def stream_key(self, side: str) -> str:
        return "pe"

    def sim_prepare(self, layer: LayerData, where: str) -> dict:
        self.check(layer)
        return {}

    def sim_run(self, layer: LayerData, plan: dict, x: np.ndarray) -> np.ndarray:
        a = layer.attrs
        n = len(x)
        (h, w), c, (kh, kw), (sh, sw) = a["ifm_dim"], a["channels"], a["kernel"], a["stride"]
        oh, ow = a["ofm_dim"]
        win = sliding_window_view(x.reshape(n, h, w, c), (kh, kw), axis=(1, 2))[:, ::sh, ::sw][:, :oh, :ow]
        return win.max(axis=(-2, -1))

    def sim_out_range(self, layer: LayerData, plan: dict, in_range: ValueRange) -> ValueRange:
        return in_range                                   # a max of input values

    def cost(self, l: LayerData) -> LayerCost:
        a = l.attrs
        h, w = a["ifm_dim"]
        ow = a["ofm_dim"][1]
        c, pe, b = int(a["channels"]), l.pe, bits(l.out_dtype)
        mems = [Memory("row max buffer", ow * (c // pe), pe * b)]
        lut = pe * b + self.ctrl_lut + fifo_luts(pe * b)
        return LayerCost(l.name, l.kind, pe, 1, h * w * (c // pe), logic(lut, 0, mems), mems)

    def export_finn(self, l: LayerData, x: str, y: str, inits: dict) -> tuple[list, dict[str, str]]:
        a = l.attrs
        if list(a["stride"]) != list(a["kernel"]):
            raise IRError(f"layer {l.name!r}: FINN's StreamingMaxPool needs stride == kernel, got stride "
                          f"{a['stride']} and kernel {a['kernel']}")
        return [node("StreamingMaxPool", l.name, [x], [y], ImgDim=list(a["ifm_dim"]), PoolDim=list(a["kernel"]),
                     NumChannels=a["channels"], PE=l.pe, CeilMode=0, dataType=l.in_dtype)], {}
