"""Random integer inputs of a dataflow graph, in the IR's own values (what the accelerator reads): the frames every
backend check (C-sim, rtlsim, Icarus, the board) streams through the design and the simulator. The float model
inputs the exactness check against QONNX uses are compiler.sim.verify.random_inputs."""
from __future__ import annotations

import numpy as np

from compiler.ir.graph import DataflowGraph, dtype as ir_dtype


def random_inputs(graph: DataflowGraph, n: int, seed: int = 0) -> np.ndarray:
    """n frames of uniformly random layer-0 values over its whole datatype (both signs, extremes included)."""
    first = graph.layers[0]
    rng = np.random.default_rng(seed)
    shape = (n, *first.in_shape)
    if first.in_dtype == "BIPOLAR":
        return rng.choice(np.array([-1, 1]), size=shape)
    d = ir_dtype(first.in_dtype)
    lo, hi = int(d.min()), int(d.max())
    x = rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)
    if n >= 2:                                       # make sure both extremes occur
        x[0].flat[0], x[1].flat[0] = lo, hi
    return x
