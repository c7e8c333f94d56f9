"""Analytical cost model of the dataflow accelerator: cycles per frame and LUT/FF/BRAM18/DSP per layer.

Every layer of the IR becomes one pipeline stage; a frame streams through all of them, so the steady-state
initiation interval (II) is the slowest stage; the first-frame latency follows the stages' overlap through
the stream DAG (compiler.estimate.latency). Formulas (full derivation and calibration in docs/cost_model.md):

Cycles per frame (one stream word per cycle per stage):
  MVTU           num_vectors * (MH/pe) * (MW/simd)                 (FINN paper, Umuroglu et al. 2017, sec. 4)
  Thresholding   num_vectors * C/pe
  SlidingWindow  fill + OH * max(OW*KH*KW*C/simd, SH*Wp*C/simd),  fill = KH*Wp*C/simd  (write/read bound)
  MaxPool        H*W*C/pe                                          (reads every input pixel once)
  AvgPool        H*W*C/pe                                          (likewise, adding into window sums)
  VVAU           num_vectors * KH*KW * C/pe                        (one window position of pe channels/cycle)
  LabelSelect    num_labels                                        (one value per cycle)
  dma            ceil(frame bits / shell.dma_bits) for input and output

Resources are an estimate for the HLS templates in hwlib/include/bnnc (weights/thresholds partitioned per
PE, as docs/ir.md's weight-memory order implies). Memories follow what Vivado HLS does for a partitioned
array: arrays of at most LUTRAM_MAX_BITS bits go to distributed RAM (one 6-LUT holds 64x1), larger ones
to block RAM, counted in 18 Kb halves with the cheapest simple-dual-port aspect ratio (UG473: 16Kx1, 8Kx2,
4Kx4, 2Kx9, 1Kx18, 512x36). The logic constants are calibrated against BNN-PYNQ's published post-route
utilization of LFC-W1A1 on Pynq-Z1 and checked on CNV-W1A1 (benchmarks/board_reports.py). This model
was written from the formulas above; FINN's own estimator (finn/custom_op/fpgadataflow MVAU
lut_estimation/bram_estimation, after FINN-R, Blott et al. 2018) was read for comparison only.

Target "rtl" costs the layers as the RTL library builds them instead; that model belongs to the RTL backend
(compiler.backends.rtl.cost, which says why this module imports it inside the functions that need it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from boards.catalog import Resources
from compiler import kinds
from compiler.ir.graph import DataflowGraph, Layer, stream_edges

from compiler.estimate.resources import (BRAM18_MODES, DSP_MIN_BITS, FF_PER_LUT, FIFO_DEPTH, LUTRAM_DEPTH,  # noqa: F401
                                LUTRAM_MAX_BITS, SHELL, SRL_DEPTH, XNOR_LUT_PER_LANE, LayerCost, Memory, bits,
                                bram18_count, ceil_log2, fifo_luts, lutram_luts)

#: control-logic LUTs per kind (each kind module owns its constant; this view is for reports and tests)
CTRL_LUT = {k.name: k.ctrl_lut for k in kinds.all()}


@dataclass
class GraphCost:
    layers: list[LayerCost]            # hardware layers, then the "dma" shell stage last
    clock_mhz: float
    #: first-frame latency of the hardware layers (compiler.estimate.latency); None: the sum of their cycles (a bound)
    pipeline_latency: int | None = None

    @property
    def ii_cycles(self) -> int:
        return max(l.cycles for l in self.layers)

    @property
    def bottleneck(self) -> LayerCost:
        return max(self.layers, key=lambda l: l.cycles)

    @property
    def latency_cycles(self) -> int:
        """First-frame latency: the pipeline's plus the DMA shell stage's cycles (not overlapped)."""
        if self.pipeline_latency is None:
            return sum(l.cycles for l in self.layers)
        return self.pipeline_latency + sum(l.cycles for l in self.layers if l.kind == "dma")

    @property
    def fps(self) -> float:
        return self.clock_mhz * 1e6 / self.ii_cycles

    @property
    def latency_us(self) -> float:
        return self.latency_cycles / self.clock_mhz

    @property
    def total(self) -> Resources:
        tot = Resources()
        for l in self.layers:
            tot = tot + l.resources
        return tot


TARGETS = ("hls", "rtl")


def layer_cost(layer: Layer, target: str = "hls") -> LayerCost:
    """Cycles per frame and resources of one IR layer at its current folding, as the HLS templates build it
    (target 'hls', the default and what the folding optimiser and report use) or as the RTL library builds it
    (target 'rtl', calibrated against Yosys; docs/cost_model.md)."""
    if target not in TARGETS:
        raise ValueError(f"unknown cost target {target!r}: choose one of {', '.join(TARGETS)}")
    if target == "rtl":
        from compiler.backends.rtl import cost as rtl_cost    # the RTL library's cost model (its module says why)

        return rtl_cost.layer_cost(layer)
    return kinds.get(layer.kind).cost(layer)


def stream_elems(layer: Layer, side: str) -> int:
    """Elements per stream word entering (side='in') or leaving (side='out') a layer."""
    return kinds.get(layer.kind).stream_elems(layer, side)


def dma_cost(graph: DataflowGraph, dma_bits: int = 64) -> LayerCost:
    """The shell stage: DMA in/out at dma_bits per cycle, words padded to whole bytes (docs/ir.md packing)."""
    first, last = graph.layers[0], graph.layers[-1]

    def frame_bits(layer: Layer, side: str) -> int:
        shape = layer.in_shape if side == "in" else layer.out_shape
        dt = layer.in_dtype if side == "in" else layer.out_dtype
        n = math.prod(shape)
        e = stream_elems(layer, side)
        return (n // e) * math.ceil(e * bits(dt) / 8) * 8

    cin = math.ceil(frame_bits(first, "in") / dma_bits)
    cout = math.ceil(frame_bits(last, "out") / dma_bits)
    return LayerCost("dma", "dma", 1, 1, max(cin, cout), SHELL, [],
                     [f"in {cin} + out {cout} cycles at {dma_bits} bit/cycle"])


def dwc_cost(prev: Layer, cur: Layer, target: str = "hls") -> Resources | None:
    """Stream width converter needed when prev's output word and cur's input word hold different element
    counts (docs/ir.md: words carry pe / simd elements): a register of both widths plus an output mux. On the
    RTL target: bnnc_dwc as synthesized (integer ratios cheap, others a shifter) plus the FIFO the RTL puts
    after it in front of a single-input layer (compiler.backends.rtl.cost.converter_cost)."""
    e_out, e_in = stream_elems(prev, "out"), stream_elems(cur, "in")
    if e_out == e_in:
        return None
    w_out, w_in = e_out * bits(prev.out_dtype), e_in * bits(cur.in_dtype)
    if target != "rtl":
        return Resources(lut=max(w_out, w_in), ff=w_out + w_in)
    from compiler.backends.rtl import cost as rtl_cost

    return rtl_cost.converter_cost(cur, e_out, e_in, w_out, w_in)


def dwc_total(layers: list[Layer], target: str = "hls") -> Resources:
    tot = Resources()
    for prev, cur, _ in stream_edges(layers):
        tot = tot + (dwc_cost(prev, cur, target) or Resources())
    return tot


def estimate(graph: DataflowGraph, clock_mhz: float = 100.0, dma_bits: int = 64, target: str = "hls") -> GraphCost:
    """Per-layer cost of the whole accelerator (hardware layers plus the DMA shell) at clock_mhz, for the HLS
    (default) or the RTL (`target='rtl'`) implementation of the layers.

    A width converter between two layers whose words differ is charged to the consuming layer.
    """
    if clock_mhz <= 0:
        raise ValueError(f"clock must be positive, got {clock_mhz} MHz")
    costs = [layer_cost(l, target) for l in graph.layers]
    index = {id(l): i for i, l in enumerate(graph.layers)}
    for prev, cur, _ in stream_edges(graph.layers):
        extra = dwc_cost(prev, cur, target)
        if extra is not None:
            i = index[id(cur)]
            costs[i].resources = costs[i].resources + extra
            costs[i].notes.append(f"width converter {stream_elems(prev, 'out')} -> {stream_elems(cur, 'in')} elements")
    from compiler.estimate.fifo import branch_fifo_depths

    if target == "rtl":               # the RTL places and builds branch FIFOs its own way (bnnc_fifo, LUTRAM)
        from compiler.backends.rtl import cost as rtl_cost

        rtl_cost.branch_fifo_costs(graph, costs)
    for (name, j), (depth, why) in branch_fifo_depths(graph).items() if target != "rtl" else ():
        if depth <= FIFO_DEPTH:
            continue
        i = next(k for k, l in enumerate(graph.layers) if l.name == name)
        l = graph.layers[i]
        kind = kinds.get(l.kind)
        mem = Memory(f"branch FIFO (input {j})", depth, stream_elems(l, "in") * bits(kind.input_dtype(l, j)))
        costs[i].memories.append(mem)
        costs[i].resources = costs[i].resources + Resources(lut=mem.lut, bram18=mem.bram18)
        costs[i].notes.append(f"branch FIFO: input {j} of {name} is {depth} words deep ({why})")
    from compiler.estimate.latency import pipeline_latency

    latency = pipeline_latency(graph, {l.name: c.cycles for l, c in zip(graph.layers, costs)})
    return GraphCost(costs + [dma_cost(graph, dma_bits)], clock_mhz, latency)
