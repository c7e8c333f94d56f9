"""MaxPool: max over KxK windows of an NHWC map (no padding), PE channels per word in and out.

Schema, checks (the pooling output-size formula), golden model, cost and the FINN export (depthwise
ConvolutionInputGenerator + Pool);
HLS emission in compiler.backends.hls.emitters.maxpool.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from diagnostics.errors import IRError
from compiler.kinds.registry import register
from compiler.ir.jsontypes import PAIR, POS
from compiler.kinds.base import ChannelLanes, Kind, LayerData
from compiler.ir.datatypes import ValueRange
from compiler.backends.finn.nodes import finn_dtype, node
from compiler.kinds.sliding_window import check_ofm_dim, conv_out_dim
from compiler.estimate.resources import LayerCost, Memory, bits, fifo_luts, logic


@register
class MaxPool(ChannelLanes, Kind):
    name = "MaxPool"
    attrs = {"ifm_dim": PAIR, "channels": POS, "kernel": PAIR, "stride": PAIR, "ofm_dim": PAIR}
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

    def first_output_lead(self, layer: LayerData) -> int:
        (h, w), c, (kh, _) = layer.attrs["ifm_dim"], layer.attrs["channels"], layer.attrs["kernel"]
        return min(h, kh) * w * c

    def export_finn(self, l: LayerData, x: str, y: str, inits: dict) -> tuple[list, dict[str, str]]:
        """As finn-plus expresses pooling: a depthwise ConvolutionInputGenerator `<name>_swg` (window `kernel`, step
        `stride`) feeding a Pool node; the window tensor `<name>_win` is (OH, OW, KH*KW*C) ordered (ky, kx, c).
        PE folds the channels (the window generator's SIMD is that PE)."""
        a = l.attrs
        (kh, kw), (sh, sw), c = a["kernel"], a["stride"], a["channels"]
        if sh > kh or sw > kw:
            raise IRError(f"layer {l.name!r}: FINN pools with a sliding window, which needs stride <= kernel, got "
                          f"stride {a['stride']} and kernel {a['kernel']}")
        dt, win = finn_dtype(l.in_dtype), f"{l.name}_win"
        inits.setdefault("__shapes__", {})[win] = (*a["ofm_dim"], kh * kw * c)
        return [node("ConvolutionInputGenerator", f"{l.name}_swg", [x], [win], ConvKernelDim=[kh, kw],
                     IFMChannels=c, IFMDim=list(a["ifm_dim"]), OFMDim=list(a["ofm_dim"]), SIMD=l.pe,
                     Stride=[sh, sw], Dilation=[1, 1], inputDataType=dt, outputDataType=dt, depthwise=1),
                node("Pool", l.name, [win], [y], Channels=c, PE=l.pe, KernelSize=[kh, kw], Function="MaxPool",
                     OutImgDims=list(a["ofm_dim"]), InputDataType=dt, OutputDataType=dt, BatchSize=1)], {win: dt}

    def finn_folding(self, l: LayerData) -> dict[str, tuple[str, dict[str, str]]]:
        return {f"{l.name}_swg": ("ConvolutionInputGenerator", {"SIMD": "pe"}), l.name: ("Pool", {"PE": "pe"})}
