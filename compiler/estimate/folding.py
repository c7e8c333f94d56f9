"""Folding: how much parallelism (PE, SIMD) each layer gets, checked against the IR and chosen for a board.

A user folding is `{layer name: {"pe": int, "simd": int}}` (keys case-insensitive, so FINN-style "PE" /
"SIMD" work; a FINN folding config is read too, see compiler.workflow.folding_file); `validate_folding` rejects unknown layers, keys a layer kind does not take and values that
do not divide the folded dimension, listing the legal values. `optimize_folding` is FINN's SetFolding
idea: start fully folded, then repeatedly give the slowest stage its next legal step of parallelism
until the target throughput is met, the stage is fully unfolded, or the next step would leave the
board's usable budget -- in which case it says which resource and which layer stopped it.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from boards.catalog import RESOURCE_KEYS, Board, Resources
from compiler import kinds
from compiler.estimate.cost import GraphCost, LayerCost, dma_cost, dwc_total, estimate, layer_cost
from diagnostics.errors import CompileError
from compiler.ir.graph import DataflowGraph, Layer, dtype
from compiler.estimate import placement
from compiler.kinds.base import in_uram

DEFAULT_MARGIN = 0.85
MAX_AXI_WORD_BITS = 1024   # widest AXI DMA stream (compiler/backends/plan.py AXI_WIDTHS)


class FoldingError(CompileError):
    """A folding that is illegal for the graph, or a target the board cannot meet."""


def folded_dims(layer: Layer) -> dict[str, tuple[str, int]]:
    """{folding key: (name of the dimension it must divide, its size)} for a layer (docs/ir.md)."""
    return kinds.get(layer.kind).folded_dims(layer)


def divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def legal_values(layer: Layer) -> dict[str, list[int]]:
    return {k: divisors(size) for k, (_, size) in folded_dims(layer).items()}


def _normalise(folding: Any, source: str) -> dict[str, dict[str, Any]]:
    if not isinstance(folding, Mapping):
        raise FoldingError(f"{source}: expected an object {{layer name: {{\"pe\": .., \"simd\": ..}}}}, "
                           f"got {type(folding).__name__}")
    out: dict[str, dict[str, Any]] = {}
    for name, entry in folding.items():
        if not isinstance(entry, Mapping):
            raise FoldingError(f"{source}: entry for layer {name!r} must be an object like "
                               f"{{\"pe\": 4, \"simd\": 8}}, got {entry!r}")
        out[str(name)] = {str(k).lower(): v for k, v in entry.items()}
    return out


def validate_folding(graph: DataflowGraph, folding: Mapping[str, Mapping[str, Any]], source: str = "folding") -> None:
    """Raise FoldingError listing every problem (unknown layer/key, non-divisor value) with the legal values."""
    folding = _normalise(folding, source)
    by_name = {l.name: l for l in graph.layers}
    problems = []
    for name, entry in folding.items():
        layer = by_name.get(name)
        if layer is None:
            problems.append(f"unknown layer {name!r}; the graph's layers are: {', '.join(by_name)}")
            continue
        dims = folded_dims(layer)
        where = f"layer {name!r} ({layer.kind})"
        for key, value in entry.items():
            if key not in dims:
                takes = ", ".join(dims) if dims else "nothing (it is not foldable)"
                problems.append(f"{where} has no {key!r} folding; it takes: {takes}")
                continue
            dim, size = dims[key]
            legal = ", ".join(map(str, divisors(size)))
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(f"{where}: {key}={value!r} is not an integer; legal values: {legal}")
            elif value < 1 or size % value:
                problems.append(f"{where}: {key}={value} does not divide {dim}={size}; legal values: {legal}")
    if problems:
        raise FoldingError(f"{source}: " + ("\n  " if len(problems) > 1 else "") + "\n  ".join(problems))


def apply_folding(graph: DataflowGraph, folding: Mapping[str, Mapping[str, Any]]) -> DataflowGraph:
    """Validate `folding` and set it on the graph's layers in place (keys not given keep their value)."""
    validate_folding(graph, folding)
    for name, entry in _normalise(folding, "folding").items():
        graph.layer(name).folding.update({k: int(v) for k, v in entry.items()})
    return graph


def current_folding(graph: DataflowGraph) -> dict[str, dict[str, int]]:
    """The graph's folding for every foldable layer, defaults (1) filled in."""
    return {l.name: {k: int(l.folding.get(k, 1)) for k in folded_dims(l)} for l in graph.layers if folded_dims(l)}


def read_folding_json(path: Path) -> Any:
    try:
        text = path.read_text()
    except OSError as e:
        raise FoldingError(f"folding file {path}: cannot read ({e.strerror or e})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FoldingError(f"folding file {path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None


def load_folding_file(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Read a folding JSON file in bnnc's format; errors name the file and, for bad JSON, the line and column."""
    path = Path(path)
    return _normalise(read_folding_json(path), f"folding file {path}")


# ---- optimiser ----------------------------------------------------------------------------------------
@dataclass
class FoldingPlan:
    """The optimiser's answer: a folding, its cost, and whether it fits / meets the target (and why not)."""

    folding: dict[str, dict[str, int]]
    cost: GraphCost
    board: Board
    margin: float
    target_fps: float | None          # None: as fast as fits
    fits: bool
    reason: str                       # why the search stopped
    limiting_layer: str | None = None
    limiting_resource: str | None = None
    uram_layers: list[str] = field(default_factory=list)   # layers whose weights the plan puts in URAM
    weights_in: str = "auto"

    @property
    def met(self) -> bool:
        return self.fits and (self.target_fps is None or self.cost.fps >= self.target_fps)

    @property
    def budget(self) -> Resources:
        return self.board.budget(self.margin)

    def message(self) -> str:
        c, b = self.cost, self.board
        head = (f"{b.name} at {c.clock_mhz:g} MHz, {self.margin:.0%} of the device usable")
        if self.uram_layers:
            head += f", weights of {len(self.uram_layers)} layer(s) in URAM (loaded at run time)"
        if not self.fits:
            return f"the network does not fit on {head}: {self.reason}{self._uram_note()}"
        best = f"{c.fps:,.0f} FPS (II {c.ii_cycles} cycles)"
        if self.target_fps is None:
            return f"fastest folding that fits on {head}: {best}; stopped because {self.reason}{self._uram_note()}"
        if self.met:
            return f"target {self.target_fps:,.0f} FPS met on {head}: {best}"
        return (f"target {self.target_fps:,.0f} FPS is not reachable on {head}; best achievable is {best}: "
                f"{self.reason}{self._uram_note()}")

    def _uram_note(self) -> str:
        """Why the board's URAM stays unused when block RAM is what limits the design."""
        if self.limiting_resource != "bram18" or not self.board.resources.uram or self.cost.total.uram:
            return ""
        return f" ({uram_note(self.board.resources.uram, self.weights_in)})"


def uram_note(uram: float, weights_in: str) -> str:
    """Why a board's URAM stays unused although block RAM limits the design (the report says it too)."""
    head = f"the board's {uram:,.0f} URAM blocks stay unused"
    if weights_in == "bram":
        return (f"{head}: --weights-in bram keeps every weight memory in bitstream-initialised BRAM/LUTRAM "
                "(UltraScale+ URAM cannot be initialised by the bitstream); --weights-in auto or uram puts weights "
                "there, written by the runtime at load time")
    return (f"{head}: no weight memory could move there to free block RAM (thresholds, buffers and weights of "
            "kinds without a run-time weight loader stay in BRAM/LUTRAM)")


def parse_target(text: str | float | None) -> float | None:
    """'max' (or None) -> None; a positive number -> float; anything else -> FoldingError."""
    if text is None or (isinstance(text, str) and text.strip().lower() == "max"):
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise FoldingError(f"--target-fps: expected a number of frames per second or 'max', got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise FoldingError(f"--target-fps must be a positive number or 'max', got {text!r}")
    return value


def _utilisation(res: Resources, budget: Resources) -> float:
    """Largest fraction of any budgeted resource (resources with a zero budget count only if used)."""
    worst = 0.0
    for k in RESOURCE_KEYS:
        used, cap = getattr(res, k), getattr(budget, k)
        worst = max(worst, used / cap if cap else (math.inf if used else 0.0))
    return worst


def _total_share(res: Resources, budget: Resources) -> float:
    """Sum of the budgeted resources' fractions: between steps whose largest fraction ties (the RTL library's one
    weight ROM per layer costs the same block RAM for a PE step as for a SIMD step), the one that uses less of
    everything else."""
    return sum(getattr(res, k) / getattr(budget, k) for k in RESOURCE_KEYS if getattr(budget, k))


def _over(total: Resources, budget: Resources) -> tuple[str, float, float] | None:
    over = [(k, getattr(total, k), getattr(budget, k)) for k in RESOURCE_KEYS if getattr(total, k) > getattr(budget, k)]
    if not over:
        return None
    return max(over, key=lambda t: t[1] / t[2] if t[2] else math.inf)


def _fmt(v: float) -> str:
    return f"{v:,.0f}"


def optimize_folding(graph: DataflowGraph, board: Board, target_fps: float | str | None = None,
                     margin: float = DEFAULT_MARGIN, clock_mhz: float | None = None,
                     weights_in: str = "auto", flow: str = "hls") -> FoldingPlan:
    """Choose PE/SIMD per layer for `board` (the graph itself is not modified; apply plan.folding).

    Greedy and FINN-like: from fully folded (all 1), the bottleneck stage takes its next legal step -- of
    its foldable keys, the one whose result uses the smallest share of the budget -- as long as the whole
    design stays within margin x the board's resources. Stops when the target II is reached, the bottleneck
    is fully parallel (or is the DMA shell), or no step of the bottleneck fits.
    Weight memories (compiler.estimate.placement, `weights_in`): with "auto" on a board with URAM, a step (or the fully
    folded start) that only block RAM stops moves weight memories to URAM -- the bottleneck's own first, else the
    largest block-RAM user -- and the plan lists them in `uram_layers`.
    `flow`: whose hardware the budget is checked against, "hls" (the HLS templates) or "rtl" (hwlib/verilog, what
    `bnnc bitstream --rtl` builds; compiler.estimate.cost.estimate's target).
    """
    placement.check_weights_in(weights_in, board)
    spills = weights_in == "auto" and bool(board.resources.uram)
    target = parse_target(target_fps)
    clock = board.clock(clock_mhz)
    budget = board.budget(margin)
    layers = [replace(l, folding={k: 1 for k in folded_dims(l)}) for l in placement.initial(graph.layers, weights_in)]

    def cost_of(l: Layer) -> LayerCost:
        return layer_cost(l, flow)

    costs: list[LayerCost] = [cost_of(l) for l in layers]
    dma = dma_cost(DataflowGraph(graph.name, layers, graph.input, graph.output), board.shell.dma_bits)

    def total(cs: list[LayerCost], ls: list[Layer] | None = None) -> Resources:
        """Resources of stages `cs` + the DMA shell + width converters between the layers `ls`."""
        t = dma.resources + dwc_total(ls if ls is not None else layers, flow)
        for c in cs:
            t = t + c.resources
        return t

    def plan(fits: bool, reason: str, layer: str | None = None, resource: str | None = None) -> FoldingPlan:
        folding = {l.name: dict(l.folding) for l in layers if folded_dims(l)}
        final = DataflowGraph(graph.name, layers, graph.input, graph.output)
        return FoldingPlan(folding, estimate(final, clock, board.shell.dma_bits, flow), board, margin, target, fits,
                           reason, layer, resource, [l.name for l in layers if in_uram(l)], weights_in)

    def over_bram() -> bool:
        o = _over(total(costs), budget)
        return o is not None and o[0] == "bram18"

    while spills and over_bram() and placement.spill(layers, costs, cost_of, budget) is not None:
        pass
    tot = total(costs)
    over = _over(tot, budget)
    if over:
        k, used, cap = over
        hog = max(costs + [dma], key=lambda c: getattr(c.resources, k))
        return plan(False, f"even fully folded (pe=simd=1 everywhere) it needs {_fmt(used)} {k} > budget {_fmt(cap)}; "
                           f"the largest user is layer {hog.name!r} ({_fmt(getattr(hog.resources, k))} {k})",
                    hog.name, k)
    target_ii = math.floor(clock * 1e6 / target) if target else 0
    if target and target_ii < 1:
        return plan(True, f"{target:,.0f} FPS would need less than one cycle per frame at {clock:g} MHz")
    io_keys = {0: _stream_key(layers[0], "in"), len(layers) - 1: _stream_key(layers[-1], "out")}

    def io_ok(t: Layer, j: int) -> bool:
        """The accelerator's input/output word is an AXI stream: at most MAX_AXI_WORD_BITS wide."""
        ends = ([(t.folding.get(io_keys[0], 1), t.in_dtype)] if j == 0 and io_keys[0] else []) + \
               ([(t.folding.get(io_keys[j], 1), t.out_dtype)] if j == len(layers) - 1 and io_keys[j] else [])
        return all(n * dtype(dt).bitwidth() <= MAX_AXI_WORD_BITS for n, dt in ends)
    while True:
        i = max(range(len(costs)), key=lambda j: costs[j].cycles)
        ii = max(costs[i].cycles, dma.cycles)
        if target and ii <= target_ii:
            return plan(True, "the target is met")
        if dma.cycles >= costs[i].cycles:
            # DMA-bound: only wider words at the first layer's input / last layer's output help (bytes are padded)
            moves = [(j, _steps(layers[j], [k], flow)) for j, k in io_keys.items() if k]
            moves = [(j, t, c) for j, st in moves for t, c in st if io_ok(t, j)]
            best = None
            for j, t, c in moves:
                trial = layers[:j] + [t] + layers[j + 1:]
                d = dma_cost(DataflowGraph(graph.name, trial, graph.input, graph.output), board.shell.dma_bits)
                res = total(costs[:j] + [c] + costs[j + 1:], trial) - dma.resources + d.resources
                if d.cycles < dma.cycles and not _over(res, budget):
                    if best is None or _utilisation(res, budget) < best[0]:
                        best = (_utilisation(res, budget), j, t, c, d)
            if best is None:
                return plan(True, f"the DMA shell is the bottleneck: {dma.cycles} cycles per frame ({dma.notes[0]})", "dma")
            _, j, t, c, dma = best
            layers[j], costs[j] = t, c
            continue
        layer = layers[i]
        steps = [(t, c) for t, c in _steps(layer, flow=flow) if io_ok(t, i)]
        if not steps and _steps(layer, flow=flow):
            return plan(True, f"layer {layer.name!r} is the bottleneck ({costs[i].cycles} cycles) and a wider word "
                              f"would exceed the {MAX_AXI_WORD_BITS}-bit AXI stream", layer.name)
        if not steps:
            dims = ", ".join(f"{k}={layer.folding[k]}" for k in folded_dims(layer))
            return plan(True, f"layer {layer.name!r} is the bottleneck ({costs[i].cycles} cycles) and already fully "
                              f"parallel ({dims})", layer.name)
        base = total(costs[:i] + costs[i + 1:]) - dwc_total(layers, flow)   # width converters added per step below
        if i in io_keys:   # the first/last layer's folding also sets the DMA word width
            steps = [(t, c, dma_cost(DataflowGraph(graph.name, layers[:i] + [t] + layers[i + 1:], graph.input,
                                                   graph.output), board.shell.dma_bits)) for t, c in steps]
        else:
            steps = [(t, c, dma) for t, c in steps]
        def with_step(t: Layer, c: LayerCost, d: LayerCost) -> Resources:
            return base - dma.resources + d.resources + c.resources + dwc_total(layers[:i] + [t] + layers[i + 1:], flow)

        fitting = [(t, c, d) for t, c, d in steps if not _over(with_step(t, c, d), budget)]
        if not fitting and spills and placement.can_use_uram(layer):
            # the step in the other memory: URAM when block RAM stops it; back to block RAM when URAM does (at a
            # higher PE each of the PE weight memories needs a whole 4K-deep URAM, however shallow it is)
            own = [(u, cost_of(u), d) for t, c, d in steps for u in [placement.with_weights_in(t, not in_uram(t))]]
            fitting = [(t, c, d) for t, c, d in own if not _over(with_step(t, c, d), budget)]
        if not fitting and spills and any((_over(with_step(*s), budget) or ("",))[0] == "bram18" for s in steps):
            # block RAM stops this step: free block RAM elsewhere (largest user to URAM) and retry
            if placement.spill(layers, costs, cost_of, budget, exclude=i) is not None:
                continue
        if not fitting:
            t, c, d = min(steps, key=lambda s: _utilisation(with_step(*s), budget))
            k, used, cap = _over(with_step(t, c, d), budget)
            step = ", ".join(f"{key}={t.folding[key]}" for key in folded_dims(t))
            return plan(True, f"layer {layer.name!r} is the bottleneck ({costs[i].cycles} cycles) and its next step "
                              f"({step}) would need {_fmt(used)} {k} in total > budget {_fmt(cap)}", layer.name, k)
        t, c, d = min(fitting, key=lambda s: (_utilisation(with_step(*s), budget), s[1].cycles,
                                              _total_share(with_step(*s), budget)))
        layers[i], costs[i], dma = t, c, d


def _stream_key(layer: Layer, side: str) -> str | None:
    """The folding key that sets how many elements a layer's input (side='in') or output word carries."""
    return kinds.get(layer.kind).stream_key(side)


def _steps(layer: Layer, keys: list[str] | None = None, flow: str = "hls") -> list[tuple[Layer, LayerCost]]:
    """For each foldable key, the layer with that key raised to its next legal value, and its cost (`flow`'s)."""
    out = []
    for key, values in legal_values(layer).items():
        if keys is not None and key not in keys:
            continue
        bigger = [v for v in values if v > layer.folding[key]]
        if bigger:
            trial = replace(layer, folding={**layer.folding, key: bigger[0]})
            out.append((trial, layer_cost(trial, flow)))
    return out


def fit_problem(cost: GraphCost, board: Board, margin: float = DEFAULT_MARGIN) -> str | None:
    """None if `cost` fits margin x board; else a message naming each exceeded resource and its top layer."""
    budget = board.budget(margin)
    tot = cost.total
    lines = []
    for k in tot.over(budget):
        hog = max(cost.layers, key=lambda c: getattr(c.resources, k))
        lines.append(f"{k}: {_fmt(getattr(tot, k))} > budget {_fmt(getattr(budget, k))} "
                     f"({margin:.0%} of {_fmt(getattr(board.resources, k))}); largest user: layer {hog.name!r} "
                     f"({_fmt(getattr(hog.resources, k))})")
    return None if not lines else f"does not fit on {board.name}:\n  " + "\n  ".join(lines)


def estimate_for(graph: DataflowGraph, board: Board | None, clock_mhz: float | None = None,
                 flow: str = "hls") -> GraphCost:
    """Cost of the graph at its current folding on `board` (or a generic 64-bit DMA at 100 MHz), for the HLS
    templates or the RTL library (`flow`)."""
    clock = board.clock(clock_mhz) if board else (clock_mhz or 100.0)
    return estimate(graph, clock, board.shell.dma_bits if board else 64, flow)


def fold_graph(graph: DataflowGraph, board: Board | None = None, target_fps: float | str | None = None,
               folding: Mapping[str, Mapping[str, Any]] | None = None, margin: float = DEFAULT_MARGIN,
               clock_mhz: float | None = None, weights_in: str = "auto",
               flow: str = "hls") -> tuple[GraphCost, str, list[str]]:
    """Set the graph's folding from a user `folding` or (with a board) the optimiser; return its cost.

    Returns (cost, folding source: 'file' | 'optimizer' | 'graph', notes). Raises FoldingError when the folding
    is illegal, does not fit the board, or the target throughput cannot be reached -- so a build folder is
    only written for a design that fits. The weight memories are placed by `weights_in` (compiler.estimate.placement):
    the graph's layers carry the result as attribute weight_ram. `flow` "rtl" sizes the design by the RTL
    library's cost (compiler.estimate.cost.estimate target "rtl") instead of the HLS templates'.
    """
    placement.check_weights_in(weights_in, board)
    if folding is not None and target_fps is not None:
        raise FoldingError("give either a folding file or a target FPS, not both",
                           hint="--folding fixes PE/SIMD per layer; --target-fps lets the optimiser choose them")
    if folding is not None:
        apply_folding(graph, folding)
        _place(graph, placement.initial(graph.layers, weights_in))
        if weights_in == "auto" and board is not None and board.resources.uram:
            layers = list(graph.layers)
            costs = [layer_cost(l, flow) for l in layers]
            budget = board.budget(margin)
            def bram_over() -> bool:
                g = DataflowGraph(graph.name, layers, graph.input, graph.output)
                return "bram18" in estimate_for(g, board, clock_mhz, flow).total.over(budget)

            while bram_over() and placement.spill(layers, costs, lambda l: layer_cost(l, flow), budget) is not None:
                pass
            _place(graph, layers)
        cost = estimate_for(graph, board, clock_mhz, flow)
        problem = fit_problem(cost, board, margin) if board else None
        if problem:
            raise FoldingError(f"the given folding {problem}",
                               hint="lower pe/simd of the layers named above, or let `--target-fps` choose")
        return cost, "file", []
    if board is None:
        if target_fps is not None:
            raise FoldingError("a target FPS needs a board to size the design for", hint="add --board NAME")
        _place(graph, placement.initial(graph.layers, weights_in))
        return estimate_for(graph, None, clock_mhz, flow), "graph", []
    plan = optimize_folding(graph, board, target_fps, margin, clock_mhz, weights_in, flow)
    if not plan.met:
        hint = ("try a larger board (`bnnc boards`) or a narrower network"
                if not plan.fits else "use a lower --target-fps, --target-fps max, or a larger board (`bnnc boards`)")
        raise FoldingError(plan.message(), hint=hint)
    apply_folding(graph, plan.folding)
    _place(graph, [placement.with_weights_in(l, l.name in plan.uram_layers) for l in graph.layers])
    return plan.cost, "optimizer", [plan.message()]


def _place(graph: DataflowGraph, placed: list[Layer]) -> None:
    """Set each graph layer's weight_ram attribute as in `placed` (same layers, same order)."""
    for l, p in zip(graph.layers, placed):
        l.attrs = p.attrs
