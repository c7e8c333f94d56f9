"""SlidingWindow: im2col of an NHWC feature map (with padding), feeding a convolution's MVTU.

Owns the convolution output-size formula (`ofm_dim`), the line-buffer cost model, the golden model and the
FINN export (FMPadding + ConvolutionInputGenerator); HLS emission in compiler.backends.hls.emitters.sliding_window.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from compiler.ir.datatypes import datatype
from diagnostics.errors import IRError
from compiler.kinds.registry import register
from compiler.ir.jsontypes import INT, PADS, PAIR, POS
from compiler.kinds.base import Kind, LayerData
from compiler.ir.datatypes import ValueRange
from compiler.backends.finn.nodes import finn_dtype, no_bipolar_values, node
from compiler.estimate.resources import LayerCost, Memory, bits, fifo_luts, logic

CONV_NOTE = ("convolutional layers: in calibration the model gave ~0.7x the LUTs and BRAM18 of a published "
             "post-route CNV design (docs/cost_model.md); keep extra headroom (e.g. --margin 0.6)")


def conv_out_dim(size: int, kernel: int, stride: int, pad_before: int = 0, pad_after: int = 0) -> int:
    """Output size of a window sweep along one axis (floor mode): (size + pads - kernel) // stride + 1."""
    return (size + pad_before + pad_after - kernel) // stride + 1


def check_ofm_dim(kind: Kind, layer: LayerData, inputs: str) -> None:
    """ofm_dim equals what the window sweep gives (kind.out_shape) and is at least 1x1."""
    oh, ow, _ = kind.out_shape(layer.attrs)
    if min(oh, ow) < 1 or [oh, ow] != list(layer.attrs["ofm_dim"]):
        raise IRError(f"{kind.where(layer)}: ofm_dim {layer.attrs['ofm_dim']} disagrees with {inputs} ({oh}, {ow})")


@register
class SlidingWindow(Kind):
    name = "SlidingWindow"
    attrs = {"ifm_dim": PAIR, "channels": POS, "kernel": PAIR, "stride": PAIR, "pad": PADS, "pad_value": INT,
             "ofm_dim": PAIR}
    ctrl_lut = 250
    report_notes = (CONV_NOTE,)

    def out_shape(self, attrs: dict[str, Any]) -> tuple[int, ...]:
        (h, w), (kh, kw), (sh, sw), p = attrs["ifm_dim"], attrs["kernel"], attrs["stride"], attrs["pad"]
        return (conv_out_dim(h, kh, sh, p[0], p[2]), conv_out_dim(w, kw, sw, p[1], p[3]), kh * kw * attrs["channels"])

    def shapes_ok(self, layer: LayerData) -> bool:
        a = layer.attrs
        c_out = a["kernel"][0] * a["kernel"][1] * a["channels"]
        return (tuple(layer.in_shape) == (*a["ifm_dim"], a["channels"])
                and tuple(layer.out_shape) == (*a["ofm_dim"], c_out))

    def check(self, layer: LayerData) -> None:
        check_ofm_dim(self, layer, "ifm_dim/kernel/stride/pad")

    def folded_dims(self, layer: LayerData) -> dict[str, tuple[str, int]]:
        return {"simd": ("channels", int(layer.attrs["channels"]))}

    def stream_key(self, side: str) -> str:
        return "simd"

    def sim_prepare(self, layer: LayerData, where: str) -> dict:
        a = layer.attrs
        self.check(layer)
        if not datatype(layer.out_dtype).allowed(a["pad_value"]) and any(a["pad"]):
            raise IRError(f"{where}: pad_value {a['pad_value']} is not a {layer.out_dtype} value")
        return {}

    def sim_run(self, layer: LayerData, plan: dict, x: np.ndarray) -> np.ndarray:
        """im2col: (N, H, W, C) -> (N, OH, OW, KH*KW*C), last axis in (ky, kx, c) order, padded with pad_value."""
        a = layer.attrs
        n = len(x)
        (h, w), c, (kh, kw), (sh, sw), p = a["ifm_dim"], a["channels"], a["kernel"], a["stride"], a["pad"]
        oh, ow = a["ofm_dim"]
        x = x.reshape(n, h, w, c)
        if any(p):
            pv = int(a["pad_value"])
            if not np.iinfo(x.dtype).min <= pv <= np.iinfo(x.dtype).max:
                x = x.astype(np.int64)
            x = np.pad(x, ((0, 0), (p[0], p[2]), (p[1], p[3]), (0, 0)), constant_values=pv)
        win = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw][:, :oh, :ow]   # (N, OH, OW, C, KH, KW)
        return np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(n, oh, ow, kh * kw * c)

    def sim_out_range(self, layer: LayerData, plan: dict, in_range: ValueRange) -> ValueRange:
        a = layer.attrs
        if not any(a["pad"]):
            return in_range                               # a rearrangement of input values
        pv = int(a["pad_value"])
        return ValueRange(min(in_range.lo, pv), max(in_range.hi, pv), in_range.zero_free and pv != 0)

    def cost(self, l: LayerData) -> LayerCost:
        a = l.attrs
        h, w = a["ifm_dim"]
        kh, kw = a["kernel"]
        sh, _sw = a["stride"]
        top, left, bottom, right = a["pad"]
        oh, ow = a["ofm_dim"]
        c, simd, b = int(a["channels"]), l.simd, bits(l.out_dtype)
        wp = w + left + right
        cf = c // simd
        fill = kh * wp * cf
        cycles = fill + oh * max(ow * kh * kw * cf, sh * wp * cf)
        blocks = math.ceil(kh / sh) + 1                          # rows being read + the row being written
        mems = [Memory("line buffer", sh * wp * cf, simd * b, blocks)]
        lut = self.ctrl_lut + blocks * simd * b + fifo_luts(simd * b)   # read mux over row blocks
        return LayerCost(l.name, l.kind, 1, simd, cycles, logic(lut, 0, mems), mems)

    def first_output_lead(self, layer: LayerData) -> int:
        (h, w), c, (kh, _) = layer.attrs["ifm_dim"], layer.attrs["channels"], layer.attrs["kernel"]
        return min(h, kh) * w * c                        # KH buffered rows (the cost model's fill)

    def drain_cycles(self, layer: LayerData, cycles: int) -> int:
        """After the last input row arrives, the output rows whose windows read it are still to be written."""
        a = layer.attrs
        (h, _), (kh, kw), (sh, _), (oh, ow) = a["ifm_dim"], a["kernel"], a["stride"], a["ofm_dim"]
        rows = sum(1 for oy in range(oh) if oy * sh - a["pad"][0] + kh >= h)
        return rows * ow * kh * kw * (int(a["channels"]) // layer.simd) + 1

    def export_finn(self, l: LayerData, x: str, y: str, inits: dict) -> tuple[list, dict[str, str]]:
        a = l.attrs
        (h, w), c, pad = a["ifm_dim"], a["channels"], a["pad"]
        nodes, dtypes, src, dt = [], {}, x, finn_dtype(l.out_dtype)
        shapes = inits.setdefault("__shapes__", {})
        if any(pad):
            if a["pad_value"] != 0:
                raise IRError(f"layer {l.name!r}: FINN's FMPadding pads with 0, not {a['pad_value']}")
            no_bipolar_values(l, "zero padding")
            src = f"{l.name}_padded"
            nodes.append(node("FMPadding", f"{l.name}_pad", [x], [src], ImgDim=[h, w], Padding=list(pad),
                              NumChannels=c, SIMD=l.simd, inputDataType=dt, numInputVectors=1))
            h, w = h + pad[0] + pad[2], w + pad[1] + pad[3]
            dtypes[src] = dt
            shapes[src] = (h, w, c)
        nodes.append(node("ConvolutionInputGenerator", l.name, [src], [y], ConvKernelDim=list(a["kernel"]),
                          IFMChannels=c, IFMDim=[h, w], OFMDim=list(a["ofm_dim"]), SIMD=l.simd,
                          Stride=list(a["stride"]), Dilation=[1, 1], inputDataType=dt, outputDataType=dt,
                          depthwise=0))
        return nodes, dtypes

    def finn_folding(self, l: LayerData) -> dict[str, tuple[str, dict[str, str]]]:
        out = {l.name: ("ConvolutionInputGenerator", {"SIMD": "simd"})}
        if any(l.attrs["pad"]):
            out[f"{l.name}_pad"] = ("FMPadding", {"SIMD": "simd"})
        return out
