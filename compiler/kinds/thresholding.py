"""Thresholding: a standalone multi-threshold activation per channel (PE channels per word in and out).

Schema, checks, folding, golden model, cost and the FINN Thresholding export; HLS emission in
compiler.backends.hls.emitters.thresholding.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from compiler.kinds.registry import register
from compiler.kernels.activation import activate, activation_range, n_thresholds, threshold_plan
from compiler.ir.jsontypes import INT, POS
from compiler.kinds.base import ChannelLanes, Kind, LayerData
from compiler.ir.datatypes import ValueRange
from compiler.backends.finn.nodes import no_bipolar_values, thresholding_node
from compiler.estimate.resources import LayerCost, Memory, bits, fifo_luts, logic


@register
class Thresholding(ChannelLanes, Kind):
    name = "Thresholding"
    lanes = "num_channels"
    attrs = {"num_channels": POS, "num_vectors": POS}
    optional_attrs = {"out_bias": INT}
    ctrl_lut = 60

    def out_shape(self, attrs: dict[str, Any]) -> None:
        return None                       # same element count as the input

    def shapes_ok(self, layer: LayerData) -> bool:
        a = layer.attrs
        n_in, n_out = int(np.prod(layer.in_shape)), int(np.prod(layer.out_shape))
        return n_in == n_out == a["num_vectors"] * a["num_channels"]

    def check(self, layer: LayerData) -> None:
        pass                              # the thresholds array is checked where it is used (threshold_plan)

    def sim_prepare(self, layer: LayerData, where: str) -> dict:
        return {"thr": threshold_plan(layer, layer.attrs["num_channels"], where)}

    def sim_run(self, layer: LayerData, plan: dict, x: np.ndarray) -> np.ndarray:
        return activate(x.reshape(-1, layer.attrs["num_channels"]), plan["thr"]).reshape((len(x), *layer.out_shape))

    def sim_out_range(self, layer: LayerData, plan: dict, in_range: ValueRange) -> ValueRange:
        return activation_range(plan["thr"])

    def cost(self, l: LayerData) -> LayerCost:
        a = l.attrs
        c, nv, pe = int(a["num_channels"]), int(a["num_vectors"]), l.pe
        in_bits, o_bits = bits(l.in_dtype), bits(l.out_dtype)
        n_thr = n_thresholds(l)
        mems = [Memory("thresholds", c // pe, n_thr * in_bits, pe)]
        lut = pe * (n_thr * in_bits + o_bits) + self.ctrl_lut + fifo_luts(pe * o_bits)
        return LayerCost(l.name, l.kind, pe, 1, nv * c // pe, logic(lut, 0, mems), mems)

    def first_output_lead(self, layer: LayerData) -> int:
        return layer.pe

    def export_finn(self, l: LayerData, x: str, y: str, inits: dict) -> tuple[list, dict[str, str]]:
        a = l.attrs
        no_bipolar_values(l, "thresholding")
        thr, dtypes = thresholding_node(l.name, x, y, np.asarray(l.arrays["thresholds"]), a["num_channels"], l.pe,
                                        l.in_dtype, l.out_dtype, a["out_bias"], l.out_shape[:-1], inits)
        return [thr], dtypes

    def finn_folding(self, l: LayerData) -> dict[str, tuple[str, dict[str, str]]]:
        return {l.name: ("Thresholding", {"PE": "pe"})}
