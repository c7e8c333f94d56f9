"""VVAU: depthwise convolution after a SlidingWindow (FINN: VectorVectorActivation), then thresholds.

Per output pixel and channel c: acc[c] = sum_k weights[c, k] * x[k*C + c] over the K = KH*KW window positions
(the SlidingWindow's (ky, kx, c) order), then the multi-threshold activation of docs/ir.md (or the sum when
`noact`). Words carry PE channels of one window position in and PE channels out; K * C/PE cycles per pixel.
HLS emission in compiler.backends.hls.emitters.vvau.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from diagnostics.errors import IRError
from compiler.kernels.activation import activate, n_thresholds, threshold_plan
from compiler.ir.jsontypes import BOOL, DTYPE, INT, PAIR, POS
from compiler.kinds.base import ChannelLanes, Kind, LayerData
from compiler.backends.finn.nodes import finn_dtype, no_bipolar_values, node, producer_attrs, range_name
from compiler.kinds.registry import register
from compiler.estimate.resources import DSP_MIN_BITS, LayerCost, Memory, bits, fifo_luts, logic


@register
class VVAU(ChannelLanes, Kind):
    name = "VVAU"
    attrs = {"channels": POS, "kernel": PAIR, "num_vectors": POS, "weight_dtype": DTYPE, "acc_dtype": DTYPE,
             "out_bias": INT, "noact": BOOL}
    ctrl_lut = 110

    def out_shape(self, attrs: dict[str, Any]) -> None:
        return None                       # (..., C) with the SlidingWindow's pixel prefix

    def shapes_ok(self, layer: LayerData) -> bool:
        a = layer.attrs
        k, c = math.prod(a["kernel"]), a["channels"]
        return (tuple(layer.in_shape[:-1]) == tuple(layer.out_shape[:-1]) and layer.in_shape[-1] == k * c
                and layer.out_shape[-1] == c and math.prod(layer.out_shape[:-1]) == a["num_vectors"])

    def check(self, layer: LayerData) -> None:
        a = layer.attrs
        w = layer.arrays.get("weights")
        want = (a["channels"], math.prod(a["kernel"]))
        if w is None or tuple(w.shape) != want:
            raise IRError(f"{self.where(layer)}: weights must have shape (channels, KH*KW) = {want}, got "
                          f"{None if w is None else tuple(w.shape)}")
        self.check_noact(layer, "accumulator")

    def sim_prepare(self, layer: LayerData, where: str) -> dict:
        self.check(layer)
        thr = None if layer.attrs["noact"] else threshold_plan(layer, layer.attrs["channels"], where)
        return {"w": np.asarray(layer.arrays["weights"], np.int64), "thr": thr}

    def sim_run(self, layer: LayerData, plan: dict, x: np.ndarray) -> np.ndarray:
        a = layer.attrs
        c, k = a["channels"], math.prod(a["kernel"])
        xv = x.reshape(-1, k, c).astype(np.int64)
        acc = np.einsum("rkc,ck->rc", xv, plan["w"])          # exact int64
        if plan["thr"] is not None:
            acc = activate(acc, plan["thr"])
        return acc.reshape((len(x), *layer.out_shape))

    def cost(self, l: LayerData) -> LayerCost:
        a = l.attrs
        c, k, nv, pe = int(a["channels"]), math.prod(a["kernel"]), int(a["num_vectors"]), l.pe
        wb, ib, ab, ob = bits(a["weight_dtype"]), bits(l.in_dtype), bits(a["acc_dtype"]), bits(l.out_dtype)
        n_thr = 0 if a["noact"] else n_thresholds(l)
        mems = [Memory("weights", (c // pe) * k, wb, pe), Memory("accumulators", c // pe, ab, pe)]
        if n_thr:
            mems.append(Memory("thresholds", c // pe, n_thr * ab, pe))
        dsp = pe if min(wb, ib) >= DSP_MIN_BITS else 0
        mul_lut = 0 if dsp else wb * ib
        lut = pe * (mul_lut + ab + n_thr * ab) + self.ctrl_lut + fifo_luts(pe * ob)
        return LayerCost(l.name, l.kind, pe, 1, nv * k * (c // pe), logic(lut, dsp, mems), mems)

    def first_output_lead(self, layer: LayerData) -> int:
        return math.prod(layer.attrs["kernel"]) * int(layer.attrs["channels"])      # one window

    def finn_folding(self, l: LayerData) -> dict[str, tuple[str, dict[str, str]]]:
        return {l.name: ("VVAU", {"PE": "pe"})}      # SIMD (kernel-element parallelism) stays 1: bnnc does not fold it

    def export_finn(self, l: LayerData, x: str, y: str, inits: dict) -> tuple[list, dict[str, str]]:
        """FINN's VVAU (weights (C, 1, KH, KW)); its ConvolutionInputGenerator is switched to depthwise mode with
        SIMD = this PE, the order FINN's VVAU hardware reads (channel folds outside the window positions: a width
        converter cannot reorder it, so FINN's SetFolding ties the two as well). FINN's execution computes the same
        im2col either way."""
        a = l.attrs
        c, (kh, kw) = a["channels"], a["kernel"]
        no_bipolar_values(l, "a depthwise convolution")
        producer_attrs(inits, x, depthwise=1, SIMD=l.pe)
        w = np.asarray(l.arrays["weights"])
        inits[f"{l.name}_W"] = w.reshape(c, 1, kh, kw).astype(np.float32)
        ins, dtypes = [x, f"{l.name}_W"], {f"{l.name}_W": a["weight_dtype"]}
        attrs = dict(PE=l.pe, SIMD=1, Dim=list(l.out_shape[:-1]) if len(l.out_shape) == 3 else [1, 1],
                     Channels=c, Kernel=[kh, kw], inputDataType=l.in_dtype, weightDataType=a["weight_dtype"],
                     accDataType=a["acc_dtype"], outputDataType=finn_dtype(l.out_dtype),
                     noActivation=int(a["noact"]), ActVal=0)
        if not a["noact"]:
            t = np.broadcast_to(l.arrays["thresholds"], (c, l.arrays["thresholds"].shape[1]))
            inits[f"{l.name}_T"] = t.astype(np.float32)
            ins.append(f"{l.name}_T")
            dtypes[f"{l.name}_T"] = range_name(t)
            attrs["ActVal"] = 0 if l.out_dtype == "BIPOLAR" else int(a["out_bias"])
        return [node("VVAU", l.name, ins, [y], **attrs)], dtypes
