"""AvgPool: sum over KxK windows of a zero-padded NHWC map, then a multi-threshold activation (or the sum).

Average pooling followed by an activation quantizer (ONNX AveragePool / GlobalAveragePool / ReduceMean over
H, W; Brevitas TruncAvgPool2d = AveragePool + Trunc) is monotone in the integer window sum, so the front end
expresses the division, the truncation and the quantizer as thresholds on that sum (compiler.frontend.pooling):
the hardware adds integers and compares, never divides. A global pool is the case kernel == ifm_dim.
Windows may overlap (stride < kernel) and the map may be zero-padded (`pad` [top, left, bottom, right]): padding
adds zeros to a sum, so ONNX's count_include_pad=1 (PyTorch's default) keeps one divisor, KH*KW, everywhere.
FINN: GlobalAccPool (+ Thresholding) for a global pool; other windows are not exported.
HLS emission in compiler.backends.hls.avgpool.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from compiler.errors import IRError
from compiler.kinds.activation import activate, n_thresholds, threshold_plan
from compiler.kinds.base import Kind, LayerData
from compiler.kinds.finn import node, range_name
from compiler.kinds import rtl_window
from compiler.kinds.registry import register
from compiler.kinds.sliding_window import check_ofm_dim, conv_out_dim
from compiler.resources import LayerCost, Memory, bits, fifo_luts, logic


@register
class AvgPool(Kind):
    name = "AvgPool"
    attrs = {"ifm_dim": (list, tuple), "channels": int, "kernel": (list, tuple), "stride": (list, tuple),
             "pad": (list, tuple), "ofm_dim": (list, tuple), "acc_dtype": str, "out_bias": int, "noact": bool}
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
        if layer.attrs["noact"] and layer.out_dtype != layer.attrs["acc_dtype"]:
            raise IRError(f"{self.where(layer)}: a noact AvgPool outputs its sum, so out_dtype must be acc_dtype "
                          f"{layer.attrs['acc_dtype']}, got {layer.out_dtype}")

    def folded_dims(self, layer: LayerData) -> dict[str, tuple[str, int]]:
        return {"pe": ("channels", int(layer.attrs["channels"]))}

    def stream_key(self, side: str) -> str:
        return "pe"

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

    def rtl_cost(self, l: LayerData) -> LayerCost:
        """bnnc_pool (OP sum) for disjoint windows, global pools included; overlapping windows: bnnc_swg ->
        bnnc_winacc (OP sum), costed as the kind's window generator plus the accumulator
        (compiler.kinds.rtl_window)."""
        return rtl_window.pool_layer_cost(l, self.cost(l), "sum")

    def first_output_lead(self, layer: LayerData) -> int:
        (h, w), c, (kh, _), p = layer.attrs["ifm_dim"], layer.attrs["channels"], layer.attrs["kernel"], layer.attrs["pad"]
        return max(1, min(h, kh - p[0])) * w * c         # the input rows of the first output row's window

    def finn_folding(self, l: LayerData) -> dict[str, tuple[str, dict[str, str]]]:
        if l.attrs["noact"]:
            return {l.name: ("GlobalAccPool", {"PE": "pe"})}
        return {f"{l.name}_acc": ("GlobalAccPool", {"PE": "pe"}), l.name: ("Thresholding", {"PE": "pe"})}

    def export_finn(self, l: LayerData, x: str, y: str, inits: dict) -> tuple[list, dict[str, str]]:
        a = l.attrs
        if list(a["kernel"]) != list(a["ifm_dim"]) or any(a["pad"]):
            raise IRError(f"layer {l.name!r} (AvgPool): only a global pool (kernel == ifm_dim, no pad) is exported "
                          f"to FINN (GlobalAccPool), got kernel {a['kernel']} on {a['ifm_dim']}, pad {a['pad']}")
        c = a["channels"]
        acc_t = y if a["noact"] else f"{l.name}_sum"
        nodes = [node("GlobalAccPool", l.name + ("" if a["noact"] else "_acc"), [x], [acc_t], NumChannels=c,
                      PE=l.pe, inputDataType=l.in_dtype, numInputVectors=[1, *a["ifm_dim"]])]
        dtypes = {acc_t: a["acc_dtype"]}
        if not a["noact"]:
            t = np.broadcast_to(l.arrays["thresholds"], (c, l.arrays["thresholds"].shape[1]))
            inits[f"{l.name}_T"] = t.astype(np.float32)
            nodes.append(node("Thresholding", l.name, [acc_t, f"{l.name}_T"], [y], NumChannels=c, PE=l.pe,
                              numSteps=int(t.shape[1]), inputDataType=a["acc_dtype"], weightDataType=range_name(t),
                              outputDataType=l.out_dtype, ActVal=int(a["out_bias"]), numInputVectors=[1, 1, 1]))
            dtypes[f"{l.name}_T"] = range_name(t)
        return nodes, dtypes
