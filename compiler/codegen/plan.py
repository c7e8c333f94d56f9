"""Stream plan of the accelerator: which streams connect which stages, word sizes at the AXI boundary.

Every IR layer becomes one dataflow stage whose words carry pe / simd elements (compiler.cost.stream_elems,
the definition the cost model uses too); where a producer's word and its consumer's word hold different
element counts a width converter stage is inserted. The boundary words follow docs/ir.md "Stream packing":
the input word holds layer 0's input elements, the output word the last layer's output elements.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from compiler.codegen.cxx import bits
from compiler.cost import stream_elems
from compiler.ir import DataflowGraph, IRError, Layer, dtype as ir_dtype

AXI_WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024)   # stream widths AXI DMA accepts


@dataclass(frozen=True)
class StreamEnd:
    """One side of the accelerator as the host sees it (deploy.json "input" / "output")."""

    shape: tuple[int, ...]          # per-frame IR shape (NHWC), streamed in C order
    dtype: str
    elems_per_word: int
    word_bits: int
    word_bytes: int                 # bytes per word in packed files (compiler.packing)
    axi_bytes: int                  # bytes per AXI-stream beat / DMA word: word_bytes rounded up to a DMA width
    words_per_frame: int

    def as_dict(self) -> dict:
        d = asdict(self)
        d["shape"] = list(self.shape)
        return d


@dataclass
class Stage:
    """A call in the dataflow top function: an IR layer, or a width converter in front of one."""

    kind: str                       # "layer" or "convert"
    in_elems: int
    out_elems: int
    elem_bits_in: int
    elem_bits_out: int
    layer: Layer | None = None
    index: int = -1                 # layer index in the graph (also for the converter in front of it)
    total: int = 0                  # elements per frame (converters)


@dataclass
class Plan:
    stages: list[Stage] = field(default_factory=list)
    input: StreamEnd | None = None
    output: StreamEnd | None = None


def _end(shape: tuple[int, ...], dtype: str, elems: int, where: str) -> StreamEnd:
    wb = bits(dtype) * elems
    nbytes = -(-wb // 8)
    axi = next((w for w in AXI_WIDTHS if w >= 8 * nbytes), None)
    if axi is None:
        raise IRError(f"{where}: a word of {elems} x {dtype} ({wb} bits) is wider than the widest AXI DMA stream "
                      f"({AXI_WIDTHS[-1]} bits); lower that layer's pe/simd")
    return StreamEnd(tuple(int(s) for s in shape), dtype, elems, wb, nbytes, axi // 8, math.prod(shape) // elems)


MAX_WORD_BITS = 4096   # AP_INT_MAX_W in hls/include/bnnc/types.hpp (Vitis HLS accepts up to 4096 by default)


def _check_layer(l: Layer) -> None:
    """What the templates rely on beyond DataflowGraph.validate (folding divides, shapes agree)."""
    where = f"layer {l.name!r} ({l.kind})"
    a = l.attrs
    words = {"MVTU": (l.simd, l.pe), "SlidingWindow": (l.simd, l.simd), "Thresholding": (l.pe, l.pe),
             "MaxPool": (l.pe, l.pe)}.get(l.kind, (1, 1))
    for side, elems, dt in (("input", words[0], l.in_dtype), ("output", words[1], l.out_dtype)):
        if elems * bits(dt) > MAX_WORD_BITS:
            raise IRError(f"{where}: its {side} word of {elems} x {dt} ({elems * bits(dt)} bits) exceeds "
                          f"{MAX_WORD_BITS} bits; lower its pe/simd")
    n_in, n_out = math.prod(l.in_shape), math.prod(l.out_shape)
    if l.kind == "MVTU":
        ok = n_in == a["num_vectors"] * a["MW"] and n_out == a["num_vectors"] * a["MH"]
        if a["binary_xnor"] and (l.in_dtype != "BIPOLAR" or a["weight_dtype"] != "BIPOLAR"):
            raise IRError(f"{where}: binary_xnor needs BIPOLAR input and weights")
        if not a["noact"] and "thresholds" not in l.arrays:
            raise IRError(f"{where}: has no thresholds array (set noact for an accumulator output)")
    elif l.kind == "Thresholding":
        ok = n_in == n_out == a["num_vectors"] * a["num_channels"]
    elif l.kind == "SlidingWindow":
        (h, w), (kh, kw), (sh, sw), p = a["ifm_dim"], a["kernel"], a["stride"], a["pad"]
        ofm = [(h + p[0] + p[2] - kh) // sh + 1, (w + p[1] + p[3] - kw) // sw + 1]
        if list(a["ofm_dim"]) != ofm or min(ofm) < 1:
            raise IRError(f"{where}: ofm_dim {a['ofm_dim']} disagrees with ifm_dim/kernel/stride/pad ({ofm})")
        ok = tuple(l.in_shape) == (h, w, a["channels"]) and tuple(l.out_shape) == (*ofm, kh * kw * a["channels"])
    elif l.kind == "MaxPool":
        (h, w), (kh, kw), (sh, sw) = a["ifm_dim"], a["kernel"], a["stride"]
        ofm = [(h - kh) // sh + 1, (w - kw) // sw + 1]
        if list(a["ofm_dim"]) != ofm or min(ofm) < 1:
            raise IRError(f"{where}: ofm_dim {a['ofm_dim']} disagrees with ifm_dim/kernel/stride ({ofm})")
        ok = tuple(l.in_shape) == (h, w, a["channels"]) and tuple(l.out_shape) == (*ofm, a["channels"])
    else:  # LabelSelect
        ok = n_in == a["num_labels"] and tuple(l.out_shape) == (a["k"],) and 1 <= a["k"] <= a["num_labels"]
        d = ir_dtype(l.out_dtype)
        if d.signed() or int(d.max()) < a["num_labels"] - 1:
            raise IRError(f"{where}: out_dtype {l.out_dtype} cannot hold label index {a['num_labels'] - 1}")
    if not ok:
        raise IRError(f"{where}: in_shape {tuple(l.in_shape)} / out_shape {tuple(l.out_shape)} disagree with its "
                      f"attributes {a}")


def make_plan(graph: DataflowGraph) -> Plan:
    """Stages of the top function in order, with converters; raises IRError naming the offending layer."""
    graph.validate()
    plan = Plan()
    prev: Layer | None = None
    for i, l in enumerate(graph.layers):
        _check_layer(l)
        e_in, e_out = stream_elems(l, "in"), stream_elems(l, "out")
        b_in, b_out = bits(l.in_dtype), bits(l.out_dtype)
        if prev is not None:
            if prev.out_dtype != l.in_dtype:
                raise IRError(f"layer {l.name!r} reads {l.in_dtype} but {prev.name!r} produces {prev.out_dtype}")
            e_prev = stream_elems(prev, "out")
            if e_prev != e_in:
                plan.stages.append(Stage("convert", e_prev, e_in, b_in, b_in, index=i,
                                         total=math.prod(l.in_shape)))
        plan.stages.append(Stage("layer", e_in, e_out, b_in, b_out, layer=l, index=i))
        prev = l
    first, last = graph.layers[0], graph.layers[-1]
    plan.input = _end(first.in_shape, first.in_dtype, stream_elems(first, "in"), f"layer {first.name!r} input")
    plan.output = _end(last.out_shape, last.out_dtype, stream_elems(last, "out"), f"layer {last.name!r} output")
    return plan
