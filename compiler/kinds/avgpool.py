"""AvgPool: sum over KxK windows of a zero-padded NHWC map, then a multi-threshold activation (or the sum).

Average pooling followed by an activation quantizer (ONNX AveragePool / GlobalAveragePool / ReduceMean over
H, W; Brevitas TruncAvgPool2d = AveragePool + Trunc) is monotone in the integer window sum, so the front end
expresses the division, the truncation and the quantizer as thresholds on that sum (compiler.frontend.pooling):
the hardware adds integers and compares, never divides. A global pool is the case kernel == ifm_dim.
Windows may overlap (stride < kernel) and the map may be zero-padded (`pad` [top, left, bottom, right]): padding
adds zeros to a sum, so ONNX's count_include_pad=1 (PyTorch's default) keeps one divisor, KH*KW, everywhere.
FINN: GlobalAccPool (global pool) or [FMPadding +] depthwise ConvolutionInputGenerator + Pool(AccPool), then
Thresholding.
HLS emission in compiler.backends.hls.emitters.avgpool.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from compiler.ir.datatypes import datatype
from diagnostics.errors import IRError
from compiler.kernels.activation import activate, n_thresholds, threshold_plan
from compiler.ir.jsontypes import BOOL, DTYPE, INT, PADS, PAIR, POS
from compiler.kinds.base import ChannelLanes, Kind, LayerData
from compiler.backends.finn.nodes import intermediate, no_bipolar_values, node, thresholding_node, window_sum_dtype
from compiler.kinds.registry import register
from compiler.kinds.sliding_window import check_ofm_dim, conv_out_dim
from compiler.estimate.resources import LayerCost, Memory, bits, fifo_luts, logic


@register
class AvgPool(ChannelLanes, Kind):
    name = "AvgPool"
    attrs = {"ifm_dim": PAIR, "channels": POS, "kernel": PAIR, "stride": PAIR, "pad": PADS, "ofm_dim": PAIR,
             "acc_dtype": DTYPE, "out_bias": INT, "noact": BOOL}
    ctrl_lut = 90

    def out_shape(self, attrs: dict[str, Any]) -> tuple[int, ...]:
        (h, w), (kh, kw), (sh, sw), p = attrs["ifm_dim"], attrs["kernel"], attrs["stride"], attrs["pad"]
        return (conv_out_dim(h, kh, sh, p[0], p[2]), conv_out_dim(w, kw, sw, p[1], p[3]), attrs["channels"])

    def shapes_ok(self, layer: LayerData) -> bool:
        a = layer.attrs
        return (tuple(layer.in_shape) == (*a["ifm_dim"], a["channels"])
                and tuple(layer.out_shape) == (*a["ofm_dim"], a["channels"]))

    def check(self, layer: LayerData) -> None:
        (kh, kw), p = layer.attrs["kernel"], layer.attrs["pad"]
        if len(p) != 4 or any(not isinstance(v, int) or v < 0 for v in p) or max(p[0], p[2]) >= kh \
                or max(p[1], p[3]) >= kw:
            raise IRError(f"{self.where(layer)}: pad {list(p)} must be 4 integers [top, left, bottom, right], each "
                          f"in 0..kernel-1 (kernel {[kh, kw]}), so that every window holds an input pixel")
        check_ofm_dim(self, layer, "ifm_dim/kernel/stride/pad")
        self.check_noact(layer, "sum")

    def sim_prepare(self, layer: LayerData, where: str) -> dict:
        self.check(layer)
        if layer.attrs["noact"]:
            return {"thr": None}
        return {"thr": threshold_plan(layer, layer.attrs["channels"], where)}

    def sim_run(self, layer: LayerData, plan: dict, x: np.ndarray) -> np.ndarray:
        a = layer.attrs
        n = len(x)
        (h, w), c, (kh, kw), (sh, sw), p = a["ifm_dim"], a["channels"], a["kernel"], a["stride"], a["pad"]
        oh, ow = a["ofm_dim"]
        xi = x.reshape(n, h, w, c).astype(np.int64)
        if any(p):
            xi = np.pad(xi, ((0, 0), (p[0], p[2]), (p[1], p[3]), (0, 0)))     # zeros add nothing to a sum
        win = sliding_window_view(xi, (kh, kw), axis=(1, 2))[:, ::sh, ::sw][:, :oh, :ow]
        acc = win.sum(axis=(-2, -1))                          # (n, oh, ow, c), exact
        if plan["thr"] is None:
            return acc
        return activate(acc.reshape(-1, c), plan["thr"]).reshape((n, oh, ow, c))

    def cost(self, l: LayerData) -> LayerCost:
        """One pass over the padded map (padding cycles feed zeros); a window-sum row buffer for each of the
        ceil(KH/SH) output rows in flight, and ceil(KH/SH)*ceil(KW/SW) adders per channel of a word."""
        a = l.attrs
        (h, w), (kh, kw), (sh, sw), p = a["ifm_dim"], a["kernel"], a["stride"], a["pad"]
        ow = a["ofm_dim"][1]
        ny, nx = -(-kh // sh), -(-kw // sw)
        c, pe, ab, ob = int(a["channels"]), l.pe, bits(a["acc_dtype"]), bits(l.out_dtype)
        mems = [Memory("row sum buffer", ny * ow * (c // pe), pe * ab)]
        n_thr = 0 if a["noact"] else n_thresholds(l)
        if n_thr:
            mems.append(Memory("thresholds", c // pe, n_thr * ab, pe))
        lut = pe * (ny * nx * ab + n_thr * ab) + self.ctrl_lut + fifo_luts(pe * ob)
        cycles = (h + p[0] + p[2]) * (w + p[1] + p[3]) * (c // pe)
        return LayerCost(l.name, l.kind, pe, 1, cycles, logic(lut, 0, mems), mems)

    def first_output_lead(self, layer: LayerData) -> int:
        (h, w), c, (kh, _), p = layer.attrs["ifm_dim"], layer.attrs["channels"], layer.attrs["kernel"], layer.attrs["pad"]
        return max(1, min(h, kh - p[0])) * w * c         # the input rows of the first output row's window

    def _finn_names(self, l: LayerData) -> tuple[str | None, str]:
        """(window generator or None for a global pool, summing node): the last node carries the layer's name."""
        glob = list(l.attrs["kernel"]) == list(l.attrs["ifm_dim"]) and not any(l.attrs["pad"])
        return None if glob else f"{l.name}_swg", l.name if l.attrs["noact"] else f"{l.name}_acc"

    def finn_folding(self, l: LayerData) -> dict[str, tuple[str, dict[str, str]]]:
        swg, acc = self._finn_names(l)
        out = {acc: ("GlobalAccPool" if swg is None else "Pool", {"PE": "pe"})}
        if swg is not None:
            out[swg] = ("ConvolutionInputGenerator", {"SIMD": "pe"})
        if any(l.attrs["pad"]):
            out[f"{l.name}_pad"] = ("FMPadding", {"SIMD": "pe"})
        if not l.attrs["noact"]:
            out[l.name] = ("Thresholding", {"PE": "pe"})
        return out

    def export_finn(self, l: LayerData, x: str, y: str, inits: dict) -> tuple[list, dict[str, str]]:
        """The window sum as finn-plus computes it, then FINN's Thresholding (the division, truncation and
        quantizer folded into thresholds, as in bnnc). A global pool (kernel == ifm_dim) is a GlobalAccPool; any
        other window (overlapping too) a depthwise ConvolutionInputGenerator `<name>_swg` feeding a Pool with
        Function AccPool. The sum tensor carries the datatype FINN infers for it (window_sum_dtype)."""
        a = l.attrs
        (kh, kw), (sh, sw), c = a["kernel"], a["stride"], int(a["channels"])
        no_bipolar_values(l, "average pooling")
        swg, acc_name = self._finn_names(l)
        sum_dt = window_sum_dtype(l.in_dtype, kh * kw)
        acc_t = y if a["noact"] else intermediate(inits, f"{l.name}_sum", l.out_shape)
        nodes, dtypes = [], {acc_t: sum_dt}
        if swg is None:
            nodes.append(node("GlobalAccPool", acc_name, [x], [acc_t], NumChannels=c, PE=l.pe,
                              inputDataType=l.in_dtype, numInputVectors=[1, *a["ifm_dim"]]))
        else:
            if sh > kh or sw > kw:
                raise IRError(f"layer {l.name!r}: FINN pools with a sliding window, which needs stride <= kernel, "
                              f"got stride {a['stride']} and kernel {a['kernel']}")
            (h, w), pad, src = a["ifm_dim"], list(a["pad"]), x
            if any(pad):        # count_include_pad: the zeros FMPadding adds are summed like the pool's padding
                src = intermediate(inits, f"{l.name}_padded", (h + pad[0] + pad[2], w + pad[1] + pad[3], c))
                dtypes[src] = l.in_dtype
                nodes.append(node("FMPadding", f"{l.name}_pad", [x], [src], ImgDim=[h, w], Padding=pad,
                                  NumChannels=c, SIMD=l.pe, inputDataType=l.in_dtype, numInputVectors=1))
                h, w = h + pad[0] + pad[2], w + pad[1] + pad[3]
            win = intermediate(inits, f"{l.name}_win", (*a["ofm_dim"], kh * kw * c))
            dtypes[win] = l.in_dtype
            nodes += [node("ConvolutionInputGenerator", swg, [src], [win], ConvKernelDim=[kh, kw], IFMChannels=c,
                           IFMDim=[h, w], OFMDim=list(a["ofm_dim"]), SIMD=l.pe, Stride=[sh, sw],
                           Dilation=[1, 1], inputDataType=l.in_dtype, outputDataType=l.in_dtype, depthwise=1),
                      node("Pool", acc_name, [win], [acc_t], Channels=c, PE=l.pe, KernelSize=[kh, kw],
                           Function="AccPool", OutImgDims=list(a["ofm_dim"]), InputDataType=l.in_dtype,
                           OutputDataType=sum_dt, AccumBits=datatype(sum_dt).bitwidth(), BatchSize=1)]
        if not a["noact"]:
            thr, tdt = thresholding_node(l.name, acc_t, y, np.asarray(l.arrays["thresholds"]), c, l.pe, sum_dt,
                                         l.out_dtype, a["out_bias"], l.out_shape[:-1], inits)
            nodes.append(thr)
            dtypes.update(tdt)
        return nodes, dtypes
