"""Bit-accurate NumPy simulator of the dataflow IR: the reference semantics of docs/ir.md.

Each layer's kernel lives in its kind (compiler.kinds.<kind>.sim_prepare / sim_run); this module runs the
graph: host ops, batching, and the datatype checks. Layers are computed batched and vectorised with exact
integer arithmetic: an MVTU's matrix product runs on onnxruntime's 8-bit integer GEMM where that is provably
exact (compiler.kernels.int_gemm), else as packed uint64 XNOR-popcounts (binary layers) or an exact float/int
matmul; an XNOR layer's thresholds are moved to the popcount domain exactly as the HLS library does. Input values are
checked against each layer's declared datatype, so a graph that breaks the contract fails loudly, naming the
layer, instead of computing something plausible: the graph input always, and a later layer's input whenever
its predecessor cannot bound its outputs statically within that datatype (Kind.sim_out_range; thresholds
bound an activation's outputs by construction). `check_layers=True` checks every layer's input at run time.
"""
from __future__ import annotations

import numpy as np

from compiler import kinds
from compiler.sim.hostops import run_post, run_pre
from compiler.ir.datatypes import ValueRange
from compiler.ir.graph import INPUT_STREAM, DataflowGraph, IRError, Layer, dtype as ir_dtype
from compiler.kernels.simthreads import (PARTS_PER_THREAD, ROW_POOL_MACS, ROWS_PER_THREAD, map_rows, sim_threads,
                                         single_threaded, split_rows)
from compiler.kernels.activation import popcount_thresholds  # noqa: F401  (public API of this module)

# Frames processed together; bounds memory (im2col of a 32x32 image is ~27x its size) without hurting speed.
DEFAULT_BATCH = 256


def simulate(graph: DataflowGraph, x: np.ndarray, return_all: bool = False, *, batch: int = DEFAULT_BATCH,
             check_layers: bool = False):
    """User input batch (N, *graph.input.shape) -> the model's output, as the accelerator plus host compute it.

    Runs `input.pre`, every layer, then `output.post`. With `return_all`, returns (output, per-layer integer
    outputs), each of shape (N, *layer.out_shape), int64. (For many calls on one graph, use `Simulator`.)
    """
    return Simulator(graph, check_layers=check_layers)(x, return_all=return_all, batch=batch)


def simulate_layers(graph: DataflowGraph, ints: np.ndarray, return_all: bool = False, *,
                    batch: int = DEFAULT_BATCH, check_layers: bool = False):
    """Integer layer-0 input (N, *layers[0].in_shape) -> last layer's int64 output (no host ops).

    With `return_all`, returns (last output, [every layer's output]).
    """
    return Simulator(graph, check_layers=check_layers).run_layers(ints, return_all=return_all, batch=batch)


class Simulator:
    """A graph prepared once for many batches: weights packed or converted, thresholds checked (and moved to the
    popcount domain for XNOR layers), exact matmul types chosen. Arrays are read at construction, so build a new
    Simulator after changing the graph. `check_layers` checks every layer's input values at run time (a debug
    mode: without it, only inputs not bounded statically by the previous layer are checked)."""

    def __init__(self, graph: DataflowGraph, *, check_layers: bool = False):
        if not graph.layers:
            raise IRError(f"graph {graph.name!r} has no layers")
        self.graph = graph
        self.plans = [_plan(l) for l in graph.layers]
        self._single_plans: list[dict] | None = None
        self._macs_per_row = sum(_macs(l) for l in graph.layers)
        self.streams = graph.streams()          # (inputs, outputs) per layer: the DAG of docs/ir.md "Streams"
        known: dict[str, ValueRange | None] = {}   # stream -> static bound of its values (None: unknown)
        for layer, plan, (ins, outs) in zip(graph.layers, self.plans, self.streams):
            plan["check"] = [check_layers or known.get(name) is None or not _fits(known[name], plan["ranges"][j])
                             for j, name in enumerate(ins)]
            lo, hi, bipolar = plan["ranges"][0]
            rng = plan["kind"].sim_out_range(layer, plan["layer"], ValueRange(lo, hi, bipolar))
            for name in outs:
                known[name] = rng

    def __call__(self, x: np.ndarray, return_all: bool = False, *, batch: int = DEFAULT_BATCH):
        """Same as `simulate(graph, x, return_all)`."""
        ints = self._pre(np.asarray(x))
        res = self.run_layers(ints, return_all=return_all, batch=batch)
        if return_all:
            last, outs = res
            return run_post(self.graph.output, last), outs
        return run_post(self.graph.output, res)

    def _pre(self, x: np.ndarray) -> np.ndarray:
        """The host's input ops (int8 levels where they fit), row parts on both cores for a large batch."""
        spec = self.graph.input
        if x.ndim == 0 or tuple(x.shape[1:]) != tuple(spec.shape):
            return run_pre(spec, x, narrow=True)              # raises, naming the shape
        parts = split_rows(lambda s: run_pre(spec, x[s], narrow=True), len(x), x.size)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def run_layers(self, ints: np.ndarray, return_all: bool = False, *, batch: int = DEFAULT_BATCH):
        """Same as `simulate_layers(graph, ints, return_all)`."""
        layers = self.graph.layers
        first = layers[0]
        y = np.asarray(ints)
        if y.dtype.kind not in "iu":
            if y.dtype.kind == "f" and np.array_equal(y, np.round(y)):
                y = y.astype(np.int64)
            else:
                raise IRError(f"layer {first.name!r} expects integer values ({first.in_dtype}), got an array of "
                              f"{y.dtype}")
        n_in = int(np.prod(first.in_shape))
        if y.ndim == 0 or y.size != len(y) * n_in:
            raise IRError(f"layer {first.name!r} expects a batch (N, {', '.join(map(str, first.in_shape))}), "
                          f"got shape {y.shape}")
        y = y.reshape((len(y), *first.in_shape))
        batch = max(1, int(batch))
        threads = sim_threads()
        use_pool = threads > 1 and self._macs_per_row >= ROW_POOL_MACS
        chunks: list[list[np.ndarray]] = [[] for _ in layers]
        for s in range(0, max(len(y), 1), batch):
            part = y[s : s + batch]
            k = min(PARTS_PER_THREAD * threads, len(part) // ROWS_PER_THREAD) if use_pool else 1
            if k > 1:
                # the whole layer chain in parallel over row parts, each worker single-threaded
                plans = self._worker_plans()
                bounds = np.linspace(0, len(part), k + 1).astype(int)
                res = map_rows(lambda p: self._chain(p, plans, return_all),
                               [part[a:b] for a, b in zip(bounds[:-1], bounds[1:])], threads)
            else:
                res = [self._chain(part, self.plans, return_all)]
            for outs in res:
                for i, o in enumerate(outs):
                    chunks[i if return_all else -1].append(o)
        last = np.concatenate(chunks[-1]).astype(np.int64, copy=False)
        if return_all:
            return last, [np.concatenate(c).astype(np.int64, copy=False) for c in chunks]
        return last

    def _chain(self, x: np.ndarray, plans: list[dict], return_all: bool) -> list[np.ndarray]:
        """Rows x through every layer: [every layer's output] with return_all, else [the last one's]."""
        live = {INPUT_STREAM: x}
        outs = []
        for layer, plan, (ins, names) in zip(self.graph.layers, plans, self.streams):
            xs = [live.pop(name) for name in ins]
            cur = _run(layer, plan, xs[0] if len(xs) == 1 else xs)
            for name in names:
                live[name] = cur
            if return_all:
                outs.append(cur)
        return outs if return_all else [cur]

    def _worker_plans(self) -> list[dict]:
        """The plans prepared single-threaded (one-thread kernels: the row pool's workers share the cores),
        built on first use; same checks as self.plans."""
        if self._single_plans is None:
            with single_threaded():
                plans = [_plan(l) for l in self.graph.layers]
            for p, q in zip(plans, self.plans):
                p["check"] = q["check"]
            self._single_plans = plans
        return self._single_plans


# ---- per-layer preparation (once per call, not per chunk) ----------------------------------------------------
def _plan(layer: Layer) -> dict:
    where = f"layer {layer.name!r} ({layer.kind})"
    try:
        kind = kinds.get(layer.kind)
        ranges = []
        for j in range(kind.n_inputs):
            dt = kind.input_dtype(layer, j)
            d_in = ir_dtype(dt)
            ranges.append((int(d_in.min()), int(d_in.max()), dt == "BIPOLAR"))
        _check_shapes(kind, layer, where)
        return {"ranges": ranges, "kind": kind, "layer": kind.sim_prepare(layer, where)}
    except KeyError as e:
        raise IRError(f"{where}: missing attribute {e}") from None


def _macs(layer: Layer) -> int:
    """Multiply-accumulates per frame of a matrix layer (MW x MH per output vector), 0 for other kinds."""
    a = layer.attrs
    if "MW" not in a or "MH" not in a:
        return 0
    return int(a["MW"]) * int(a["MH"]) * int(np.prod(layer.out_shape[:-1], dtype=np.int64))


def _check_shapes(kind: kinds.Kind, layer: Layer, where: str) -> None:
    """in_shape/out_shape agree with the attributes, so a bad graph fails here, naming the layer."""
    if not kind.shapes_ok(layer):
        raise IRError(f"{where}: in_shape {tuple(layer.in_shape)} / out_shape {tuple(layer.out_shape)} disagree "
                      f"with its attributes")


# ---- execution ----------------------------------------------------------------------------------------------
def _fits(rng: ValueRange, declared: tuple[int, int, bool]) -> bool:
    """Values in `rng` are valid values of the declared input range (lo, hi, bipolar)."""
    lo, hi, bipolar = declared
    return lo <= rng.lo and rng.hi <= hi and (rng.zero_free or not bipolar)


def _run(layer: Layer, plan: dict, x) -> np.ndarray:
    if isinstance(x, list):
        for j, xj in enumerate(x):
            if plan["check"][j]:
                _check_range(layer, plan["ranges"][j], xj, plan["kind"].input_dtype(layer, j))
    elif plan["check"][0]:
        _check_range(layer, plan["ranges"][0], x, layer.in_dtype)
    return plan["kind"].sim_run(layer, plan["layer"], x)


def _check_range(layer: Layer, rng: tuple[int, int, bool], x: np.ndarray, dt: str) -> None:
    if not x.size:
        return
    lo, hi = int(x.min()), int(x.max())
    bad = None
    if rng[2]:
        if lo < -1 or hi > 1 or np.any(x == 0):
            bad = lo if lo < -1 else hi if hi > 1 else 0
    elif lo < rng[0] or hi > rng[1]:
        bad = lo if lo < rng[0] else hi
    if bad is not None:
        raise IRError(f"layer {layer.name!r} ({layer.kind}): input value {bad} is not a {dt} value")
