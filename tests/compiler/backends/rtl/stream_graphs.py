"""Small stream DAGs for the RTL tests of DuplicateStreams / AddStreams (built from tests/hwlib/irgraphs)."""
from __future__ import annotations

import numpy as np

import irgraphs
from compiler.ir.graph import DataflowGraph, Layer


def dup(name: str, shape, dt: str, pe: int) -> Layer:
    return Layer(name, "DuplicateStreams", shape, shape, dt, dt,
                 attrs={"num_channels": shape[-1], "num_vectors": int(np.prod(shape[:-1]))}, folding={"pe": pe},
                 outputs=[f"{name}:0", f"{name}:1"])


def add_noact(name: str, shape, dt0: str, dt1: str, shift, acc: str, pe: int, inputs) -> Layer:
    return Layer(name, "AddStreams", shape, shape, dt0, acc,
                 attrs={"num_channels": shape[-1], "num_vectors": int(np.prod(shape[:-1])), "in1_dtype": dt1,
                        "shift": list(shift), "acc_dtype": acc, "out_bias": 0, "noact": True},
                 folding={"pe": pe}, inputs=list(inputs))


def two_adds(seed: int = 4) -> DataflowGraph:
    """irgraphs.residual (conv branch, Thresholding skip behind a width converter, thresholded add with shifts
    [1, 0]) followed by a second block: a Thresholding branch behind converters and a direct skip, summed by a
    noact AddStreams with shifts [0, 2] (its output is the sum itself)."""
    g = irgraphs.residual(seed)
    rng = np.random.default_rng(seed + 1)
    d5 = dup("dup5", (5, 5, 4), "UINT2", 2)
    t6 = irgraphs.thresholding("thr6", rng, (5, 5), 4, "UINT2", "UINT2", nt=3, pe=1)
    t6.inputs = ["dup5:0"]
    a7 = add_noact("add7", (5, 5, 4), "UINT2", "UINT2", (0, 2), "UINT4", 2, ["thr6", "dup5:1"])
    return irgraphs.graph("two_adds", [*g.layers, d5, t6, a7])


def direct_skip(seed: int = 6) -> DataflowGraph:
    """DuplicateStreams -> 3x3 conv (SlidingWindow + MVTU) and a direct skip -> noact AddStreams."""
    rng = np.random.default_rng(seed)
    d0 = dup("dup0", (4, 4, 2), "INT3", 2)
    s1 = irgraphs.swg("swg1", (4, 4, 2), (3, 3), (1, 1), (1, 1, 1, 1), "INT3", simd=2)
    s1.inputs = ["dup0:0"]
    m2 = irgraphs.mvtu("mvtu2", rng, (4, 4), 18, 2, "INT3", "INT2", "UINT2", nt=3, pe=2, simd=6)
    a3 = add_noact("add3", (4, 4, 2), "UINT2", "INT3", (0, 0), "INT4", 2, ["mvtu2", "dup0:1"])
    return irgraphs.graph("direct_skip", [d0, s1, m2, a3])
