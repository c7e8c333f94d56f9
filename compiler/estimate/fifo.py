"""Branch FIFO depths of a stream DAG from the cycle model (docs/cost_model.md "Branch FIFOs").

A DuplicateStreams D writes every word to both branches; the AddStreams A at their end reads one word of each
branch per step. If one branch (the "long" one: convolutions, windows) must consume L_long elements of D's
output before it emits its first element, D has meanwhile pushed L_long elements into the other ("skip")
branch, which passes them on after only L_skip; unless the skip branch can hold the difference, D blocks on it,
the long branch starves and the dataflow deadlocks. So A's input from branch b gets a FIFO of

    depth_b = ceil(max(0, L_other - L_b) * |A input| / |D output| / elems per word of A's input) + 2

words (+2: the words in flight in A and D). L of a branch composes its stages backwards from A:
to emit m elements, a stage with lead `first_output_lead` (elements consumed before its first output) and
`in`/`out` elements per frame consumes lead + ceil((m - 1) * in / out) elements; the branch's L is that
for m = 1 traced back to D (through a nested AddStreams: the larger of its two inputs).
"""
from __future__ import annotations

import math

from compiler import kinds
from compiler.ir.graph import INPUT_STREAM, DataflowGraph, Layer

SLACK_WORDS = 2


def branch_fifo_depths(graph: DataflowGraph) -> dict[tuple[str, int], tuple[int, str]]:
    """{(AddStreams layer name, input index): (FIFO depth in words, explanation)} for every multi-input layer."""
    streams = graph.streams()
    producer: dict[str, Layer] = {}
    inputs: dict[str, list[str]] = {}
    for l, (ins, outs) in zip(graph.layers, streams):
        inputs[l.name] = ins
        for s in outs:
            producer[s] = l
    res: dict[tuple[str, int], tuple[int, str]] = {}
    for l, (ins, _) in zip(graph.layers, streams):
        if len(ins) < 2:
            continue
        sources = [producer.get(s) for s in ins]
        dup = _common_duplicate(sources, producer, inputs)
        need = [_need(p, 1, dup, producer, inputs) if p is not None else 0 for p in sources]
        e_in = kinds.get(l.kind).stream_elems(l, "in")
        kind = kinds.get(l.kind)
        for j in range(len(ins)):
            ratio = math.prod(kind.input_shape(l, j)) / math.prod(dup.out_shape) if dup is not None else 1.0
            gap = max(need) - need[j]
            depth = math.ceil(gap * ratio / e_in) + SLACK_WORDS
            res[(l.name, j)] = (depth, f"{l.name} input {j}: the other branch consumes {max(need)} elements of "
                                f"{dup.name if dup else 'the input'} before its first output, this one {need[j]}")
    return res


def _need(layer: Layer, m: int, stop: Layer | None, producer, inputs) -> int:
    """Elements of `stop`'s output consumed before `layer` has emitted m elements."""
    if stop is not None and layer is stop:
        return m
    kind = kinds.get(layer.kind)
    n_in, n_out = math.prod(layer.in_shape), math.prod(layer.out_shape)
    m_in = min(n_in, kind.first_output_lead(layer) + math.ceil((m - 1) * n_in / n_out))
    ups = [producer[s] for s in inputs[layer.name] if s != INPUT_STREAM and s in producer]
    if stop is None or not ups:
        return m_in
    return max(_need(p, m_in, stop, producer, inputs) for p in ups)


def _common_duplicate(sources, producer, inputs) -> Layer | None:
    """The nearest DuplicateStreams that every source descends from (None when there is none)."""
    def ancestors(l: Layer | None) -> list[Layer]:
        out, todo = [], [l] if l is not None else []
        while todo:
            x = todo.pop(0)
            if x in out:
                continue
            out.append(x)
            todo += [producer[s] for s in inputs[x.name] if s in producer]
        return out

    sets = [ancestors(s) for s in sources]
    for cand in sets[0]:
        if kinds.get(cand.kind).n_outputs > 1 and all(any(c is cand for c in s) for s in sets[1:]):
            # the head of a chain of duplicates of one tensor (N > 2 branches): the branches' lags count from the
            # tensor, not from the last split (a DenseNet block's final concat waits for every layer)
            while True:
                up = [producer[s] for s in inputs[cand.name] if s in producer]
                if len(up) != 1 or up[0].kind != cand.kind:
                    return cand
                cand = up[0]
    return None
