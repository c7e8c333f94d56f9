"""Branching kinds of the stream DAG (docs/ir.md "Streams"): DuplicateStreams (one stream -> two identical
streams; FINN: DuplicateStreams), AddStreams (two streams -> their element-wise sum, then thresholds;
FINN: ElementwiseAdd, with ElementwiseMul by 2**shift and a Thresholding node) and ConcatStreams (two streams ->
their channels one after the other; FINN: StreamingConcat). HLS emission in compiler.backends.hls.emitters.streams.

A residual add of two quantized tensors with power-of-two scale ratio is exact on integers: with s = the
smaller scale, x0*s0 + x1*s1 = ((x0 << shift[0]) + (x1 << shift[1])) * s, and the float ops plus quantizer after
the add become thresholds on that integer sum (compiler.frontend.residual).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from compiler.ir.datatypes import datatype, range_dtype
from diagnostics.errors import IRError
from compiler.kernels.activation import activate, n_thresholds, threshold_plan
from compiler.ir.jsontypes import BOOL, DTYPE, INT, PAIR, POS, SHIFTS
from compiler.kinds.base import ChannelLanes, Kind, LayerData
from compiler.backends.finn.nodes import finn_dtype, intermediate, node, thresholding_node
from compiler.kinds.registry import register
from compiler.estimate.resources import LayerCost, Memory, bits, fifo_luts, logic


def mults(layer: LayerData) -> list[int]:
    """AddStreams' integer multipliers [m0, m1] (optional attribute `mult`, default [1, 1]): acc = (x0 * m0 << k0)
    + (x1 * m1 << k1), for branch scales not related by a power of two (compiler.frontend.scaled_add)."""
    return [int(v) for v in layer.attrs.get("mult", (1, 1))]


def mult_luts(layer: LayerData) -> int:
    """LUTs of the constant multiplies by `mults(layer)` (shift-and-add: popcount - 1 adders of the output width per
    lane), the same in the HLS templates and the RTL library."""
    return sum(max(0, bin(m).count("1") - 1) for m in mults(layer)) * layer.pe * bits(layer.out_dtype)


def _elems_ok(layer: LayerData) -> bool:
    a = layer.attrs
    n_in, n_out = int(np.prod(layer.in_shape)), int(np.prod(layer.out_shape))
    return n_in == n_out == a["num_vectors"] * a["num_channels"]


@register
class DuplicateStreams(ChannelLanes, Kind):
    name = "DuplicateStreams"
    lanes = "num_channels"
    attrs = {"num_channels": POS, "num_vectors": POS}
    ctrl_lut = 20
    n_outputs = 2

    def out_shape(self, attrs: dict[str, Any]) -> None:
        return None

    def shapes_ok(self, layer: LayerData) -> bool:
        return _elems_ok(layer) and tuple(layer.in_shape) == tuple(layer.out_shape)

    def check(self, layer: LayerData) -> None:
        if layer.in_dtype != layer.out_dtype:
            raise IRError(f"{self.where(layer)}: copies its input, so out_dtype must be in_dtype {layer.in_dtype}")

    def sim_prepare(self, layer: LayerData, where: str) -> dict:
        self.check(layer)
        return {}

    def sim_run(self, layer: LayerData, plan: dict, x: np.ndarray) -> np.ndarray:
        return x.reshape((len(x), *layer.out_shape))

    def cost(self, l: LayerData) -> LayerCost:
        a = l.attrs
        w = l.pe * bits(l.out_dtype)
        return LayerCost(l.name, l.kind, l.pe, 1, a["num_vectors"] * a["num_channels"] // l.pe,
                         logic(self.ctrl_lut + 2 * fifo_luts(w), 0, []), [])

    def first_output_lead(self, layer: LayerData) -> int:
        return layer.pe

    def export_finn(self, l: LayerData, x: str, y: list[str], inits: dict) -> tuple[list, dict[str, str]]:
        """FINN's DuplicateStreams with two output tensors (y is their list)."""
        return [node("DuplicateStreams", l.name, [x], list(y), NumChannels=int(l.attrs["num_channels"]), PE=l.pe,
                     NumOutputStreams=2, inputDataType=finn_dtype(l.in_dtype),
                     numInputVectors=[1, *l.in_shape[:-1]])], {}

    def finn_folding(self, l: LayerData) -> dict[str, tuple[str, dict[str, str]]]:
        return {l.name: ("DuplicateStreams", {"PE": "pe"})}


@register
class AddStreams(ChannelLanes, Kind):
    name = "AddStreams"
    lanes = "num_channels"
    attrs = {"num_channels": POS, "num_vectors": POS, "in1_dtype": DTYPE, "shift": SHIFTS, "acc_dtype": DTYPE,
             "out_bias": INT, "noact": BOOL}
    optional_attrs = {"mult": PAIR}
    ctrl_lut = 60
    n_inputs = 2

    def input_dtype(self, layer: LayerData, j: int) -> str:
        return layer.in_dtype if j == 0 else layer.attrs["in1_dtype"]

    def out_shape(self, attrs: dict[str, Any]) -> None:
        return None

    def shapes_ok(self, layer: LayerData) -> bool:
        return _elems_ok(layer)

    def check(self, layer: LayerData) -> None:
        sh = layer.attrs["shift"]
        if len(sh) != 2 or min(sh) < 0 or max(sh) > 32:
            raise IRError(f"{self.where(layer)}: shift must be two integers in 0..32, got {sh}")
        m = mults(layer)
        if len(m) != 2 or min(m) < 1 or max(m) > 1 << 16:
            raise IRError(f"{self.where(layer)}: mult must be two integers in 1..65536, got {m}")
        self.check_noact(layer, "sum")

    def sim_prepare(self, layer: LayerData, where: str) -> dict:
        self.check(layer)
        thr = None if layer.attrs["noact"] else threshold_plan(layer, layer.attrs["num_channels"], where)
        return {"thr": thr, "shift": [int(v) for v in layer.attrs["shift"]], "mult": mults(layer)}

    def sim_run(self, layer: LayerData, plan: dict, x) -> np.ndarray:
        a, b = (np.asarray(v, np.int64).reshape(len(v), -1) for v in x)
        acc = ((a * plan["mult"][0]) << plan["shift"][0]) + ((b * plan["mult"][1]) << plan["shift"][1])
        if plan["thr"] is not None:
            acc = activate(acc.reshape(-1, layer.attrs["num_channels"]), plan["thr"])
        return acc.reshape((len(a), *layer.out_shape))

    def cost(self, l: LayerData) -> LayerCost:
        a = l.attrs
        c, pe, ab, ob = int(a["num_channels"]), l.pe, bits(a["acc_dtype"]), bits(l.out_dtype)
        n_thr = 0 if a["noact"] else n_thresholds(l)
        mems = [Memory("thresholds", c // pe, n_thr * ab, pe)] if n_thr else []
        lut = pe * (ab + n_thr * ab) + self.ctrl_lut + fifo_luts(pe * ob)
        return LayerCost(l.name, l.kind, pe, 1, a["num_vectors"] * c // pe, logic(lut, 0, mems), mems)

    def first_output_lead(self, layer: LayerData) -> int:
        return layer.pe

    def _finn_names(self, l: LayerData) -> tuple[list[str | None], str]:
        """Names of the FINN nodes: one left shift per input whose shift is non-zero, then the add (the layer's
        own name when it is the last node)."""
        shifts = [f"{l.name}_shift{j}" if int(v) or m != 1 else None
                  for j, (v, m) in enumerate(zip(l.attrs["shift"], mults(l)))]
        return shifts, l.name if l.attrs["noact"] else f"{l.name}_add"

    def export_finn(self, l: LayerData, x: list[str], y: str, inits: dict) -> tuple[list, dict[str, str]]:
        """FINN's elementwise ops: `x_j * mult[j] << shift[j]` as an ElementwiseMul by that constant (per channel),
        ElementwiseAdd of the two, then a Thresholding node (none when `noact`). Every value stays an integer, so
        FINN's execution is exact."""
        a = l.attrs
        c, vectors = int(a["num_channels"]), list(l.out_shape[:-1])
        shape = [1, *l.in_shape]
        for j in range(2):
            if self.input_dtype(l, j) == "BIPOLAR":
                raise IRError(f"layer {l.name!r}: FINN carries BIPOLAR activations as BINARY bits, so adding "
                              f"input {j} cannot be expressed as FINN dataflow nodes")
        shift_names, add_name = self._finn_names(l)
        nodes, dtypes, terms = [], {}, []
        for j, (xj, name) in enumerate(zip(x, shift_names)):
            dt = self.input_dtype(l, j)
            if name is None:
                terms.append((xj, dt))
                continue
            k = mults(l)[j] << int(a["shift"][j])
            d = datatype(dt)
            sdt = range_dtype(int(d.min()) * k, int(d.max()) * k)
            const, out = f"{name}_c", intermediate(inits, f"{name}_out", l.in_shape)
            inits[const] = np.full(c, k, np.float32)
            dtypes.update({const: range_dtype(k, k), out: sdt})
            nodes.append(node("ElementwiseMul", name, [xj, const], [out], lhs_dtype=dt, rhs_dtype=range_dtype(k, k),
                              out_dtype=sdt, lhs_shape=shape, rhs_shape=[c], out_shape=shape, lhs_style="input",
                              rhs_style="const", PE=l.pe))
            terms.append((out, sdt))
        acc = y if a["noact"] else intermediate(inits, f"{l.name}_sum", l.out_shape)
        nodes.append(node("ElementwiseAdd", add_name, [terms[0][0], terms[1][0]], [acc], lhs_dtype=terms[0][1],
                          rhs_dtype=terms[1][1], out_dtype=a["acc_dtype"], lhs_shape=shape, rhs_shape=shape,
                          out_shape=[1, *l.out_shape], PE=l.pe))
        dtypes[acc] = a["acc_dtype"]
        if not a["noact"]:
            thr, tdt = thresholding_node(l.name, acc, y, np.asarray(l.arrays["thresholds"]), c, l.pe,
                                         a["acc_dtype"], l.out_dtype, a["out_bias"], vectors, inits)
            nodes.append(thr)
            dtypes.update(tdt)
        return nodes, dtypes

    def finn_folding(self, l: LayerData) -> dict[str, tuple[str, dict[str, str]]]:
        shift_names, add_name = self._finn_names(l)
        out = {n: ("ElementwiseMul", {"PE": "pe"}) for n in shift_names if n}
        out[add_name] = ("ElementwiseAdd", {"PE": "pe"})
        if not l.attrs["noact"]:
            out[l.name] = ("Thresholding", {"PE": "pe"})
        return out


@register
class ConcatStreams(Kind):
    """Channel concatenation of two streams (Inception towers, DenseNet / U-Net skips; FINN: StreamingConcat):
    per pixel, the C0 channels of input 0 (each value * mult[0] << shift[0]) then the C1 channels of input 1
    (* mult[1] << shift[1]). The shifts put two branches whose scales differ by a power of two on the smaller
    scale, exactly as AddStreams does; the optional integer multipliers `mult` (default [1, 1]) put branches whose
    scales are in another exact integer ratio m0 : m1 on their common unit (compiler.frontend.scaled_add
    exact_multipliers). The output datatype holds both scaled ranges (FINN's rule for StreamingConcat).
    Folding: `pe` divides both channel counts; words of `pe` channels in and out, so each output word comes from
    one input."""

    name = "ConcatStreams"
    attrs = {"channels": PAIR, "num_vectors": POS, "in1_dtype": DTYPE, "shift": SHIFTS}
    optional_attrs = {"mult": PAIR}
    ctrl_lut = 30
    n_inputs = 2

    def input_dtype(self, layer: LayerData, j: int) -> str:
        return layer.in_dtype if j == 0 else layer.attrs["in1_dtype"]

    def input_shape(self, layer: LayerData, j: int) -> tuple[int, ...]:
        return (*layer.in_shape[:-1], int(layer.attrs["channels"][j]))

    def out_shape(self, attrs: dict[str, Any]) -> None:
        return None

    def shapes_ok(self, layer: LayerData) -> bool:
        a = layer.attrs
        c0, c1 = (int(v) for v in a["channels"])
        nv = int(a["num_vectors"])
        return (int(np.prod(layer.in_shape)) == nv * c0 and int(np.prod(layer.out_shape)) == nv * (c0 + c1)
                and layer.in_shape[-1] == c0 and layer.out_shape[-1] == c0 + c1
                and tuple(layer.in_shape[:-1]) == tuple(layer.out_shape[:-1]))

    def check(self, layer: LayerData) -> None:
        a = layer.attrs
        sh, ch = a["shift"], a["channels"]
        if len(ch) != 2 or min(int(v) for v in ch) < 1:
            raise IRError(f"{self.where(layer)}: channels must be two positive counts, got {ch}")
        if len(sh) != 2 or min(sh) < 0 or max(sh) > 16:
            raise IRError(f"{self.where(layer)}: shift must be two integers in 0..16, got {sh}")
        m = mults(layer)
        if len(m) != 2 or min(m) < 1 or max(m) > 1 << 16:
            raise IRError(f"{self.where(layer)}: mult must be two integers in 1..65536, got {m}")
        lo, hi = self.value_bounds(layer)
        d = datatype(layer.out_dtype)
        if layer.out_dtype == "BIPOLAR" and (layer.in_dtype != "BIPOLAR" or a["in1_dtype"] != "BIPOLAR"):
            raise IRError(f"{self.where(layer)}: a BIPOLAR output needs two BIPOLAR inputs")
        if layer.out_dtype != "BIPOLAR" and (int(d.min()) > lo or int(d.max()) < hi):
            raise IRError(f"{self.where(layer)}: out_dtype {layer.out_dtype} does not hold the scaled inputs "
                          f"[{lo}, {hi}]")
        if (any(sh) or mults(layer) != [1, 1]) and "BIPOLAR" in (layer.in_dtype, a["in1_dtype"]):
            raise IRError(f"{self.where(layer)}: a BIPOLAR input cannot be shifted or multiplied")

    def value_bounds(self, layer: LayerData) -> tuple[int, int]:
        """[lo, hi] of the output values: the union of the two scaled input ranges."""
        f = self.factors(layer)
        ds = [datatype(self.input_dtype(layer, j)) for j in range(2)]
        return (min(int(d.min()) * k for d, k in zip(ds, f)), max(int(d.max()) * k for d, k in zip(ds, f)))

    def factors(self, layer: LayerData) -> list[int]:
        """mult[j] << shift[j]: what input j's values are multiplied by."""
        return [m << int(k) for m, k in zip(mults(layer), layer.attrs["shift"])]

    def folded_dims(self, layer: LayerData) -> dict[str, tuple[str, int]]:
        import math

        c0, c1 = (int(v) for v in layer.attrs["channels"])
        return {"pe": ("gcd of the two channel counts", math.gcd(c0, c1))}

    def stream_key(self, side: str) -> str:
        return "pe"

    def sim_prepare(self, layer: LayerData, where: str) -> dict:
        self.check(layer)
        return {"factor": self.factors(layer)}

    def sim_run(self, layer: LayerData, plan: dict, x) -> np.ndarray:
        n = len(x[0])
        c0, c1 = (int(v) for v in layer.attrs["channels"])
        a = np.asarray(x[0], np.int64).reshape(n, -1, c0) * plan["factor"][0]
        b = np.asarray(x[1], np.int64).reshape(n, -1, c1) * plan["factor"][1]
        return np.concatenate([a, b], axis=2).reshape((n, *layer.out_shape))

    def cost(self, l: LayerData) -> LayerCost:
        """One output word per cycle: (C0 + C1) / PE words per pixel; a PE-lane 2:1 multiplexer (plus the shift and
        sign extension, free wiring), per integer multiplier m > 1 its constant multiply as popcount(m) - 1 adders
        per lane, and the output FIFO."""
        a = l.attrs
        c0, c1 = (int(v) for v in a["channels"])
        ob = bits(l.out_dtype)
        lut = self.ctrl_lut + l.pe * ob + fifo_luts(l.pe * ob) + mult_luts(l)
        return LayerCost(l.name, l.kind, l.pe, 1, int(a["num_vectors"]) * (c0 + c1) // l.pe, logic(lut, 0, []), [])

    def first_output_lead(self, layer: LayerData) -> int:
        return layer.pe

    def _finn_names(self, l: LayerData) -> list[str | None]:
        return [f"{l.name}_shift{j}" if f != 1 else None for j, f in enumerate(self.factors(l))]

    def export_finn(self, l: LayerData, x: list[str], y: str, inits: dict) -> tuple[list, dict[str, str]]:
        """FINN's StreamingConcat (ChannelsPerStream [C0, C1], SIMD = PE), after an ElementwiseMul by the constant
        mult[j] * 2**shift[j] on each input where it is not 1 (as AddStreams exports its shifts and multipliers)."""
        a = l.attrs
        chans = [int(v) for v in a["channels"]]
        if "BIPOLAR" in (l.in_dtype, a["in1_dtype"]):
            raise IRError(f"layer {l.name!r}: FINN carries BIPOLAR activations as BINARY bits and its StreamingConcat "
                          "infers an unsigned output from them, so this concatenation is not exported to FINN")
        nodes, dtypes, terms = [], {}, []
        for j, (xj, name) in enumerate(zip(x, self._finn_names(l))):
            dt = self.input_dtype(l, j)
            if name is None:
                terms.append((xj, finn_dtype(dt)))
                continue
            k = self.factors(l)[j]
            d = datatype(dt)
            sdt = range_dtype(int(d.min()) * k, int(d.max()) * k)
            shape_j = [1, *self.input_shape(l, j)]
            const, out = f"{name}_c", intermediate(inits, f"{name}_out", self.input_shape(l, j))
            inits[const] = np.full(chans[j], k, np.float32)
            dtypes.update({const: range_dtype(k, k), out: sdt})
            nodes.append(node("ElementwiseMul", name, [xj, const], [out], lhs_dtype=dt, rhs_dtype=range_dtype(k, k),
                              out_dtype=sdt, lhs_shape=shape_j, rhs_shape=[chans[j]], out_shape=shape_j,
                              lhs_style="input", rhs_style="const", PE=l.pe))
            terms.append((out, sdt))
        nodes.append(node("StreamingConcat", l.name, [t for t, _ in terms], [y], SIMD=l.pe, ChannelsPerStream=chans,
                          inputDataTypes=[d for _, d in terms], numInputVectors=[1, *l.in_shape[:-1]]))
        return nodes, dtypes

    def finn_folding(self, l: LayerData) -> dict[str, tuple[str, dict[str, str]]]:
        out = {n: ("ElementwiseMul", {"PE": "pe"}) for n in self._finn_names(l) if n}
        out[l.name] = ("StreamingConcat", {"SIMD": "pe"})
        return out
