"""AvgPool: sum over disjoint KxK windows of an NHWC map, then a multi-threshold activation (or the sum).

Average pooling followed by an activation quantizer (ONNX AveragePool / GlobalAveragePool / ReduceMean over
H, W; Brevitas TruncAvgPool2d = AveragePool + Trunc) is monotone in the integer window sum, so the front end
expresses the division, the truncation and the quantizer as thresholds on that sum (compiler.frontend.pooling):
the hardware adds integers and compares, never divides. A global pool is the case kernel == ifm_dim.
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
             "ofm_dim": (list, tuple), "acc_dtype": str, "out_bias": int, "noact": bool}
    ctrl_lut = 90

    def out_shape(self, attrs: dict[str, Any]) -> tuple[int, ...]:
        (h, w), (kh, kw), (sh, sw) = attrs["ifm_dim"], attrs["kernel"], attrs["stride"]
        return (conv_out_dim(h, kh, sh), conv_out_dim(w, kw, sw), attrs["channels"])

    def shapes_ok(self, layer: LayerData) -> bool:
        a = layer.attrs
        return (tuple(layer.in_shape) == (*a["ifm_dim"], a["channels"])
                and tuple(layer.out_shape) == (*a["ofm_dim"], a["channels"]))

    def check(self, layer: LayerData) -> None:
        check_ofm_dim(self, layer, "ifm_dim/kernel/stride")
        (kh, kw), (sh, sw) = layer.attrs["kernel"], layer.attrs["stride"]
        if sh < kh or sw < kw:
            raise IRError(f"{self.where(layer)}: stride {[sh, sw]} < kernel {[kh, kw]}: overlapping average-pool "
                          "windows are not supported")
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
        (h, w), c, (kh, kw), (sh, sw) = a["ifm_dim"], a["channels"], a["kernel"], a["stride"]
        oh, ow = a["ofm_dim"]
        xi = x.reshape(n, h, w, c).astype(np.int64)
        win = sliding_window_view(xi, (kh, kw), axis=(1, 2))[:, ::sh, ::sw][:, :oh, :ow]
        acc = win.sum(axis=(-2, -1))                          # (n, oh, ow, c), exact
        if plan["thr"] is None:
            return acc
        return activate(acc.reshape(-1, c), plan["thr"]).reshape((n, oh, ow, c))

    def cost(self, l: LayerData) -> LayerCost:
        a = l.attrs
        h, w = a["ifm_dim"]
        ow = a["ofm_dim"][1]
        c, pe, ab, ob = int(a["channels"]), l.pe, bits(a["acc_dtype"]), bits(l.out_dtype)
        mems = [Memory("row sum buffer", ow * (c // pe), pe * ab)]
        n_thr = 0 if a["noact"] else n_thresholds(l)
        if n_thr:
            mems.append(Memory("thresholds", c // pe, n_thr * ab, pe))
        lut = pe * (ab + n_thr * ab) + self.ctrl_lut + fifo_luts(pe * ob)
        return LayerCost(l.name, l.kind, pe, 1, h * w * (c // pe), logic(lut, 0, mems), mems)

    def rtl_cost(self, l: LayerData) -> LayerCost:
        """bnnc_pool (OP sum) for disjoint windows, global pools included; overlapping windows: bnnc_swg ->
        bnnc_winacc (OP sum), costed as the kind's window generator plus the accumulator
        (compiler.kinds.rtl_window)."""
        return rtl_window.pool_layer_cost(l, self.cost(l), "sum")

    def first_output_lead(self, layer: LayerData) -> int:
        (h, w), c, (kh, _) = layer.attrs["ifm_dim"], layer.attrs["channels"], layer.attrs["kernel"]
        return min(h, kh) * w * c

    def finn_folding(self, l: LayerData) -> dict[str, tuple[str, dict[str, str]]]:
        if l.attrs["noact"]:
            return {l.name: ("GlobalAccPool", {"PE": "pe"})}
        return {f"{l.name}_acc": ("GlobalAccPool", {"PE": "pe"}), l.name: ("Thresholding", {"PE": "pe"})}

    def export_finn(self, l: LayerData, x: str, y: str, inits: dict) -> tuple[list, dict[str, str]]:
        a = l.attrs
        if list(a["kernel"]) != list(a["ifm_dim"]):
            raise IRError(f"layer {l.name!r} (AvgPool): only a global pool (kernel == ifm_dim) is exported to FINN "
                          f"(GlobalAccPool), got kernel {a['kernel']} on {a['ifm_dim']}")
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
