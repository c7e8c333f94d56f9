"""Stream plan of the accelerator: which streams connect which stages, word sizes at the AXI boundary.

Every IR layer becomes one dataflow stage whose words carry pe / simd elements (compiler.estimate.cost.stream_elems,
the definition the cost model uses too); where a producer's word and its consumer's word hold different
element counts a width converter stage is inserted. The boundary words follow docs/ir.md "Stream packing":
the input word holds layer 0's input elements, the output word the last layer's output elements.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from compiler.backends.hls.cxx import bits
from compiler.estimate.cost import stream_elems
from compiler import kinds
from compiler.ir.graph import INPUT_STREAM, DataflowGraph, IRError, Layer
from compiler.estimate.resources import FIFO_DEPTH

AXI_WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024)   # stream widths AXI DMA accepts


@dataclass(frozen=True)
class StreamEnd:
    """One side of the accelerator as the host sees it (deploy.json "input" / "output")."""

    shape: tuple[int, ...]          # per-frame IR shape (NHWC), streamed in C order
    dtype: str
    elems_per_word: int
    word_bits: int
    word_bytes: int                 # bytes per word in packed files (compiler.sim.packing)
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
    srcs: list[str] = field(default_factory=list)   # C++ streams read (in the layer's input order)
    dsts: list[str] = field(default_factory=list)   # C++ streams written


@dataclass
class Plan:
    stages: list[Stage] = field(default_factory=list)
    input: StreamEnd | None = None
    output: StreamEnd | None = None
    #: C++ stream name -> (word bits, FIFO depth), in declaration order; "s_in" is the input, `out_stream` the output
    streams: dict[str, tuple[int, int]] = field(default_factory=dict)
    out_stream: str = ""
    #: branch FIFOs sized by compiler.estimate.fifo (docs/cost_model.md "Branch FIFOs"): (stream, depth, why)
    branch_fifos: list[tuple[str, int, str]] = field(default_factory=list)


def _end(shape: tuple[int, ...], dtype: str, elems: int, where: str) -> StreamEnd:
    wb = bits(dtype) * elems
    nbytes = -(-wb // 8)
    axi = next((w for w in AXI_WIDTHS if w >= 8 * nbytes), None)
    if axi is None:
        raise IRError(f"{where}: a word of {elems} x {dtype} ({wb} bits) is wider than the widest AXI DMA stream "
                      f"({AXI_WIDTHS[-1]} bits); lower that layer's pe/simd")
    return StreamEnd(tuple(int(s) for s in shape), dtype, elems, wb, nbytes, axi // 8, math.prod(shape) // elems)


MAX_WORD_BITS = 4096   # AP_INT_MAX_W in hwlib/include/bnnc/types.hpp (Vitis HLS accepts up to 4096 by default)


def _check_layer(l: Layer) -> None:
    """What the templates rely on beyond DataflowGraph.validate (folding divides, shapes agree)."""
    where = f"layer {l.name!r} ({l.kind})"
    kind = kinds.get(l.kind)
    for side, end, dt in (("input", "in", l.in_dtype), ("output", "out", l.out_dtype)):
        elems = kind.stream_elems(l, end)
        if elems * bits(dt) > MAX_WORD_BITS:
            raise IRError(f"{where}: its {side} word of {elems} x {dt} ({elems * bits(dt)} bits) exceeds "
                          f"{MAX_WORD_BITS} bits; lower its pe/simd")
    try:
        kind.check(l)
        ok = kind.shapes_ok(l)
    except KeyError as e:
        raise IRError(f"{where}: missing attribute {e}") from None
    if not ok:
        raise IRError(f"{where}: in_shape {tuple(l.in_shape)} / out_shape {tuple(l.out_shape)} disagree with its "
                      f"attributes {l.attrs}")


def make_plan(graph: DataflowGraph) -> Plan:
    """Stages of the top function in dataflow order, with converters on every stream whose producer and consumer
    words differ, and the C++ streams between them (docs/ir.md "Streams"); raises IRError naming the layer."""
    from compiler.estimate.fifo import branch_fifo_depths

    graph.validate()
    plan = Plan()
    first, last = graph.layers[0], graph.layers[-1]
    plan.streams["s_in"] = (bits(first.in_dtype) * stream_elems(first, "in"), FIFO_DEPTH)
    cxx = {INPUT_STREAM: "s_in"}                  # IR stream name -> C++ stream carrying it
    producer: dict[str, Layer] = {}
    depths = branch_fifo_depths(graph)
    for i, (l, (ins, outs)) in enumerate(zip(graph.layers, graph.streams())):
        _check_layer(l)
        kind = kinds.get(l.kind)
        e_in, e_out = stream_elems(l, "in"), stream_elems(l, "out")
        b_out = bits(l.out_dtype)
        srcs = []
        for j, s in enumerate(ins):
            dt = kind.input_dtype(l, j)
            b_in = bits(dt)
            src = cxx[s]
            if s in producer:
                prev = producer[s]
                if prev.out_dtype != dt:
                    raise IRError(f"layer {l.name!r} reads {dt} but {prev.name!r} produces {prev.out_dtype}")
                e_prev = stream_elems(prev, "out")
                if e_prev != e_in:
                    dst = _new_stream(plan, "dwc", e_in * b_in)
                    plan.stages.append(Stage("convert", e_prev, e_in, b_in, b_in, index=i,
                                             total=math.prod(kind.input_shape(l, j)), srcs=[src], dsts=[dst]))
                    src = dst
            if (l.name, j) in depths:
                depth, why = depths[(l.name, j)]
                plan.streams[src] = (plan.streams[src][0], max(depth, FIFO_DEPTH))
                plan.branch_fifos.append((src, max(depth, FIFO_DEPTH), why))
            srcs.append(src)
        dsts = []
        for k, s in enumerate(outs):
            tag = l.kind.lower() + (f"_{k}" if len(outs) > 1 else "")
            dsts.append(_new_stream(plan, tag, e_out * b_out))
            cxx[s] = dsts[-1]
            producer[s] = l
        plan.stages.append(Stage("layer", e_in, e_out, bits(l.in_dtype), b_out, layer=l, index=i, srcs=srcs,
                                 dsts=dsts))
    plan.out_stream = cxx[graph.streams()[-1][1][0]]
    plan.input = _end(first.in_shape, first.in_dtype, stream_elems(first, "in"), f"layer {first.name!r} input")
    plan.output = _end(last.out_shape, last.out_dtype, stream_elems(last, "out"), f"layer {last.name!r} output")
    return plan


def _new_stream(plan: Plan, tag: str, width: int) -> str:
    """A C++ stream named after the stage that writes it (s<stage>_<kind>, as in the linear top before)."""
    name = f"s{len(plan.stages):02d}_{tag}"
    while name in plan.streams:
        name += "_"
    plan.streams[name] = (width, FIFO_DEPTH)
    return name
