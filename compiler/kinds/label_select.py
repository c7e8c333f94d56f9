"""LabelSelect: indices of the k largest values (ties to the lower index), one value per cycle.

Schema, checks, golden model, cost and the FINN LabelSelect export; HLS emission in
compiler.backends.hls.emitters.label_select. A graph ending in it yields class labels (`produces_labels`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from compiler.ir.datatypes import datatype
from diagnostics.errors import IRError
from compiler.kinds.registry import register
from compiler.ir.jsontypes import POS
from compiler.kinds.base import Kind, LayerData
from compiler.ir.datatypes import ValueRange
from compiler.backends.finn.nodes import finn_dtype, node
from compiler.estimate.resources import LayerCost, bits, ceil_log2, fifo_luts, logic


@register
class LabelSelect(Kind):
    name = "LabelSelect"
    attrs = {"num_labels": POS, "k": POS}
    ctrl_lut = 60
    produces_labels = True

    def out_shape(self, attrs: dict[str, Any]) -> tuple[int, ...]:
        return (attrs["k"],)

    def shapes_ok(self, layer: LayerData) -> bool:
        a = layer.attrs
        return int(np.prod(layer.in_shape)) == a["num_labels"] and tuple(layer.out_shape) == self.out_shape(a)

    def check(self, layer: LayerData) -> None:
        a = layer.attrs
        if not 1 <= a["k"] <= a["num_labels"]:
            raise IRError(f"{self.where(layer)}: k={a['k']} must be in [1, num_labels={a['num_labels']}]")
        d = datatype(layer.out_dtype)
        if d.signed() or int(d.max()) < a["num_labels"] - 1:
            raise IRError(f"{self.where(layer)}: out_dtype {layer.out_dtype} cannot hold label index "
                          f"{a['num_labels'] - 1}")

    def folded_dims(self, layer: LayerData) -> dict[str, tuple[str, int]]:
        return {}

    def stream_key(self, side: str) -> None:
        return None

    def sim_prepare(self, layer: LayerData, where: str) -> dict:
        a = layer.attrs
        if not 1 <= a["k"] <= a["num_labels"]:
            raise IRError(f"{where}: k={a['k']} must be in [1, num_labels={a['num_labels']}]")
        return {}

    def sim_run(self, layer: LayerData, plan: dict, x: np.ndarray) -> np.ndarray:
        # stable sort of the negated values = descending, ties to the lower index
        a = layer.attrs
        v = x.reshape(len(x), a["num_labels"]).astype(np.int64)
        return np.argsort(-v, axis=1, kind="stable")[:, : a["k"]]

    def sim_out_range(self, layer: LayerData, plan: dict, in_range: ValueRange) -> ValueRange:
        return ValueRange(0, int(layer.attrs["num_labels"]) - 1, False)     # label indices

    def cost(self, l: LayerData) -> LayerCost:
        a = l.attrs
        n, k = int(a["num_labels"]), int(a["k"])
        vb, ib = bits(l.in_dtype), max(1, ceil_log2(n))
        lut = 2 * k * (vb + ib) + self.ctrl_lut + fifo_luts(bits(l.out_dtype))
        return LayerCost(l.name, l.kind, 1, 1, n, logic(lut))

    def export_finn(self, l: LayerData, x: str, y: str, inits: dict) -> tuple[list, dict[str, str]]:
        a = l.attrs
        return [node("LabelSelect", l.name, [x], [y], Labels=a["num_labels"], PE=l.pe, K=a["k"],
                     inputDataType=finn_dtype(l.in_dtype), outputDataType=l.out_dtype)], {}
