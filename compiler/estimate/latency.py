"""First-frame latency of the dataflow pipeline from the cycle model (docs/cost_model.md "Latency").

Stages overlap within a frame: a layer starts as soon as its first input arrives and emits its first output once
it has consumed `first_output_lead` elements, so the first frame's latency is far below the sum of the stages'
cycles (CNV-W2A2 in rtlsim: 412,419 cycles against a sum of 717,320). Each stream is modelled as a straight line
of element arrival times, from its first element (time F) to its last (time L). For a layer with per-frame
`cycles` c, n_in input and n_out output elements, words of e_in / e_out elements and input arrival times T(k)
(the latest over its input streams: a join waits for every branch; a duplicate writes the same line to both):

    A = max(T(lead), T(1) + ceil(lead / e_in) - 1)       lead input elements in, at most one word per cycle
    F = A + 1                                            its first output word (one register stage)
    L = max(F + (n_out - e_out) * c / n_out,             the rest at the layer's own pace ...
            T(n_in) + drain_cycles)                      ... or behind its last input (Kind.drain_cycles)

The graph input arrives one word per cycle; the latency is the last layer's L + 1 cycles (first input word to
last output word, as `bnnc rtlsim` measures it). Branches are not added up: a join's time is the later branch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from compiler import kinds
from compiler.ir.graph import INPUT_STREAM, DataflowGraph


@dataclass
class _Line:
    """Arrival times of a stream's elements: first at `first`, last at `last`, evenly in between."""

    first: float
    last: float
    n: int

    def at(self, k: float) -> float:
        """Arrival time of element k (1-based)."""
        return self.first if self.n <= 1 else self.first + (self.last - self.first) * (k - 1) / (self.n - 1)


def pipeline_latency(graph: DataflowGraph, cycles: dict[str, int]) -> int:
    """Cycles from the first input word to the last output word of the first frame, for the per-layer
    cycles per frame `cycles` {layer name: cycles} (compiler.estimate.cost's, for either target)."""
    lines: dict[str, _Line] = {}
    first = graph.layers[0]
    k0 = kinds.get(first.kind)
    n0 = math.prod(first.in_shape)
    lines[INPUT_STREAM] = _Line(0.0, float(n0 // k0.stream_elems(first, "in") - 1), n0)
    end = 0.0
    for layer, (ins, outs) in zip(graph.layers, graph.streams()):
        kind = kinds.get(layer.kind)
        n_in, n_out = math.prod(layer.in_shape), math.prod(layer.out_shape)
        e_in, e_out = kind.stream_elems(layer, "in"), kind.stream_elems(layer, "out")
        c = cycles[layer.name]
        src = [lines[s] for s in ins]

        def t(k: float) -> float:
            return max(line.at(k) for line in src)

        lead = max(1, min(n_in, kind.first_output_lead(layer)))
        f = max(t(lead), t(1) + math.ceil(lead / e_in) - 1) + 1
        last = max(f + (n_out - e_out) * c / n_out, t(n_in) + kind.drain_cycles(layer, c))
        for s in outs:
            lines[s] = _Line(f, last, n_out)
        end = last
    return round(end) + 1
