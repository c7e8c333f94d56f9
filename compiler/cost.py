"""Analytical cost model of the dataflow accelerator: cycles per frame and LUT/FF/BRAM18/DSP per layer.

Every layer of the IR becomes one pipeline stage; a frame streams through all of them, so the steady-state
initiation interval (II) is the slowest stage and the first-frame latency is bounded by the sum of the
stages. Formulas (full derivation and calibration in docs/cost_model.md):

Cycles per frame (one stream word per cycle per stage):
  MVTU           num_vectors * (MH/pe) * (MW/simd)                 (FINN paper, Umuroglu et al. 2017, sec. 4)
  Thresholding   num_vectors * C/pe
  SlidingWindow  fill + OH * max(OW*KH*KW*C/simd, SH*Wp*C/simd),  fill = KH*Wp*C/simd  (write/read bound)
  MaxPool        H*W*C/pe                                          (reads every input pixel once)
  LabelSelect    num_labels                                        (one value per cycle)
  dma            ceil(frame bits / shell.dma_bits) for input and output

Resources are an estimate for the HLS templates in hls/include/bnnc (weights/thresholds partitioned per
PE, as docs/ir.md's weight-memory order implies). Memories follow what Vivado HLS does for a partitioned
array: arrays of at most LUTRAM_MAX_BITS bits go to distributed RAM (one 6-LUT holds 64x1), larger ones
to block RAM, counted in 18 Kb halves with the cheapest simple-dual-port aspect ratio (UG473: 16Kx1, 8Kx2,
4Kx4, 2Kx9, 1Kx18, 512x36). The logic constants are calibrated against BNN-PYNQ's published post-route
utilization of LFC-W1A1 on Pynq-Z1 and checked on CNV-W1A1 (benchmarks/board_reports.py). This model
was written from the formulas above; FINN's own estimator (finn/custom_op/fpgadataflow MVAU
lut_estimation/bram_estimation, after FINN-R, Blott et al. 2018) was read for comparison only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from boards.catalog import Resources
from compiler.ir import DataflowGraph, Layer, dtype

# --- memory primitives (UG473 / UG474 / UG573) ---------------------------------------------------------
BRAM18_MODES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))  # depth x width
LUTRAM_DEPTH = 64          # a SLICEM 6-LUT is a 64x1 RAM
LUTRAM_MAX_BITS = 1024     # HLS maps a (partitioned) array up to ~1 Kbit to LUTRAM, larger ones to BRAM
SRL_DEPTH = 32             # a 6-LUT is a 32-deep shift register (SRLC32E)
FIFO_DEPTH = 32            # inter-layer stream FIFO depth the HLS top uses (one SRL per bit)

# --- logic constants (LUTs), see docs/cost_model.md for the calibration -------------------------------
XNOR_LUT_PER_LANE = 3.0    # XNOR + popcount-tree LUTs per SIMD lane (fitted on BNN-PYNQ LFC-W1A1, Pynq-Z1)
CTRL_LUT = {"MVTU": 120, "Thresholding": 60, "SlidingWindow": 250, "MaxPool": 80, "LabelSelect": 60}
FF_PER_LUT = 1.2           # registers per logic LUT (BNN-PYNQ LFC-W1A1: 33470 FF / 28360 LUT = 1.18)
DSP_MIN_BITS = 4           # a product uses a DSP48 only when both operands are at least this wide
# PS<->PL shell: axi_dma (simple mode) + AXI interconnect + reset/clock glue. An order-of-magnitude
# assumption, not a measured figure (docs/cost_model.md).
SHELL = Resources(lut=2000, ff=3000, bram18=4, uram=0, dsp=0)


@dataclass
class Memory:
    """One physical memory: `count` identical copies of depth x width bits."""

    role: str
    depth: int
    width: int
    count: int = 1

    @property
    def bits(self) -> int:
        return self.depth * self.width

    @property
    def style(self) -> str:
        return "lutram" if self.bits <= LUTRAM_MAX_BITS else "bram"

    @property
    def bram18(self) -> int:
        return self.count * bram18_count(self.depth, self.width) if self.style == "bram" else 0

    @property
    def lut(self) -> int:
        return self.count * lutram_luts(self.depth, self.width) if self.style == "lutram" else 0


def bram18_count(depth: int, width: int) -> int:
    """18 Kb block RAMs for a depth x width memory using the cheapest aspect ratio (UG473 table 1-11)."""
    if depth <= 0 or width <= 0:
        return 0
    return min(math.ceil(depth / d) * math.ceil(width / w) for d, w in BRAM18_MODES)


def lutram_luts(depth: int, width: int) -> int:
    """LUTs for a depth x width distributed RAM: one LUT per bit per 64 words (UG474)."""
    if depth <= 0 or width <= 0:
        return 0
    return math.ceil(depth / LUTRAM_DEPTH) * width


def fifo_luts(width: int, depth: int = FIFO_DEPTH) -> int:
    """LUTs for an SRL-based stream FIFO: one SRLC32E per bit per 32 words."""
    return math.ceil(depth / SRL_DEPTH) * width


@dataclass
class LayerCost:
    name: str
    kind: str
    pe: int
    simd: int
    cycles: int
    resources: Resources
    memories: list[Memory] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "pe": self.pe, "simd": self.simd, "cycles": self.cycles,
                "resources": self.resources.as_dict(),
                "memories": [{"role": m.role, "depth": m.depth, "width": m.width, "count": m.count,
                              "style": m.style, "bram18": m.bram18, "lut": m.lut} for m in self.memories],
                "notes": list(self.notes)}


@dataclass
class GraphCost:
    layers: list[LayerCost]            # hardware layers, then the "dma" shell stage last
    clock_mhz: float

    @property
    def ii_cycles(self) -> int:
        return max(l.cycles for l in self.layers)

    @property
    def bottleneck(self) -> LayerCost:
        return max(self.layers, key=lambda l: l.cycles)

    @property
    def latency_cycles(self) -> int:
        return sum(l.cycles for l in self.layers)

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


def bits(dtype_name: str) -> int:
    return int(dtype(dtype_name).bitwidth())


def _ceil_log2(n: int) -> int:
    return max(0, math.ceil(math.log2(n))) if n > 1 else 0


def _logic(lut: float, dsp: float = 0, memories: list[Memory] = ()) -> Resources:
    """Total resources of a stage from its logic LUTs (FFs follow them) plus its memories."""
    mem_lut = sum(m.lut for m in memories)
    return Resources(lut=round(lut + mem_lut), ff=round(FF_PER_LUT * lut), bram18=sum(m.bram18 for m in memories),
                     uram=0, dsp=dsp)


def _mvtu(l: Layer) -> LayerCost:
    a = l.attrs
    mw, mh, nv = int(a["MW"]), int(a["MH"]), int(a["num_vectors"])
    pe, simd = l.pe, l.simd
    nf, sf = mh // pe, mw // simd
    w_bits, a_bits, acc_bits, o_bits = bits(a["weight_dtype"]), bits(l.in_dtype), bits(a["acc_dtype"]), bits(l.out_dtype)
    n_thr = 0 if a.get("noact") else int(l.arrays["thresholds"].shape[1]) if "thresholds" in l.arrays else 1
    notes, dsp = [], 0
    if a.get("binary_xnor"):
        lane = XNOR_LUT_PER_LANE * simd                       # XNOR folded into the popcount compressor tree
        notes.append("xnor-popcount")
    else:
        if w_bits >= DSP_MIN_BITS and a_bits >= DSP_MIN_BITS:
            mult, dsp = 0, pe * simd                          # one DSP48 multiplier per lane
            notes.append("dsp-mac")
        else:                                                 # +-1 weight: add/subtract select; else LUT multiplier
            mult = simd * (a_bits if w_bits == 1 else w_bits if a_bits == 1 else w_bits * a_bits)
            notes.append("lut-mac")
        prod = w_bits + a_bits
        tree = (simd - 1) * (prod + _ceil_log2(simd) / 2)     # simd-1 adders, widths growing by log2(simd)
        lane = mult + tree
    per_pe = lane + acc_bits + n_thr * acc_bits + (o_bits if n_thr else 0)
    mems = [Memory("weights", nf * sf, simd * w_bits, pe)]
    if n_thr:
        mems.append(Memory("thresholds", nf, n_thr * acc_bits, pe))
    logic = pe * per_pe + CTRL_LUT["MVTU"] + fifo_luts(pe * o_bits)
    return LayerCost(l.name, l.kind, pe, simd, nv * nf * sf, _logic(logic, dsp, mems), mems, notes)


def _thresholding(l: Layer) -> LayerCost:
    a = l.attrs
    c, nv, pe = int(a["num_channels"]), int(a["num_vectors"]), l.pe
    in_bits, o_bits = bits(l.in_dtype), bits(l.out_dtype)
    n_thr = int(l.arrays["thresholds"].shape[1]) if "thresholds" in l.arrays else 1
    mems = [Memory("thresholds", c // pe, n_thr * in_bits, pe)]
    logic = pe * (n_thr * in_bits + o_bits) + CTRL_LUT["Thresholding"] + fifo_luts(pe * o_bits)
    return LayerCost(l.name, l.kind, pe, 1, nv * c // pe, _logic(logic, 0, mems), mems)


def _sliding_window(l: Layer) -> LayerCost:
    a = l.attrs
    h, w = a["ifm_dim"]
    kh, kw = a["kernel"]
    sh, _sw = a["stride"]
    top, left, bottom, right = a["pad"]
    oh, ow = a["ofm_dim"]
    c, simd, b = int(a["channels"]), l.simd, bits(l.out_dtype)
    wp = w + left + right
    cf = c // simd
    fill = kh * wp * cf
    cycles = fill + oh * max(ow * kh * kw * cf, sh * wp * cf)
    blocks = math.ceil(kh / sh) + 1                          # rows being read + the row being written
    mems = [Memory("line buffer", sh * wp * cf, simd * b, blocks)]
    logic = CTRL_LUT["SlidingWindow"] + blocks * simd * b + fifo_luts(simd * b)   # read mux over row blocks
    return LayerCost(l.name, l.kind, 1, simd, cycles, _logic(logic, 0, mems), mems)


def _maxpool(l: Layer) -> LayerCost:
    a = l.attrs
    h, w = a["ifm_dim"]
    ow = a["ofm_dim"][1]
    c, pe, b = int(a["channels"]), l.pe, bits(l.out_dtype)
    mems = [Memory("row max buffer", ow * (c // pe), pe * b)]
    logic = pe * b + CTRL_LUT["MaxPool"] + fifo_luts(pe * b)
    return LayerCost(l.name, l.kind, pe, 1, h * w * (c // pe), _logic(logic, 0, mems), mems)


def _label_select(l: Layer) -> LayerCost:
    a = l.attrs
    n, k = int(a["num_labels"]), int(a["k"])
    vb, ib = bits(l.in_dtype), max(1, _ceil_log2(n))
    logic = 2 * k * (vb + ib) + CTRL_LUT["LabelSelect"] + fifo_luts(bits(l.out_dtype))
    return LayerCost(l.name, l.kind, 1, 1, n, _logic(logic))


_BY_KIND = {"MVTU": _mvtu, "Thresholding": _thresholding, "SlidingWindow": _sliding_window,
            "MaxPool": _maxpool, "LabelSelect": _label_select}


def layer_cost(layer: Layer) -> LayerCost:
    """Cycles per frame and resources of one IR layer at its current folding."""
    return _BY_KIND[layer.kind](layer)


def stream_elems(layer: Layer, side: str) -> int:
    """Elements per stream word entering (side='in') or leaving (side='out') a layer."""
    if layer.kind == "MVTU":
        return layer.simd if side == "in" else layer.pe
    if layer.kind == "SlidingWindow":
        return layer.simd
    if layer.kind in ("Thresholding", "MaxPool"):
        return layer.pe
    return 1


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


def dwc_cost(prev: Layer, cur: Layer) -> Resources | None:
    """Stream width converter needed when prev's output word and cur's input word hold different element
    counts (docs/ir.md: words carry pe / simd elements): a register of both widths plus an output mux."""
    e_out, e_in = stream_elems(prev, "out"), stream_elems(cur, "in")
    if e_out == e_in:
        return None
    w_out, w_in = e_out * bits(prev.out_dtype), e_in * bits(cur.in_dtype)
    return Resources(lut=max(w_out, w_in), ff=w_out + w_in)


def dwc_total(layers: list[Layer]) -> Resources:
    tot = Resources()
    for prev, cur in zip(layers, layers[1:]):
        tot = tot + (dwc_cost(prev, cur) or Resources())
    return tot


def estimate(graph: DataflowGraph, clock_mhz: float = 100.0, dma_bits: int = 64) -> GraphCost:
    """Per-layer cost of the whole accelerator (hardware layers plus the DMA shell) at clock_mhz.

    A width converter between two layers whose words differ is charged to the consuming layer.
    """
    if clock_mhz <= 0:
        raise ValueError(f"clock must be positive, got {clock_mhz} MHz")
    costs = [layer_cost(l) for l in graph.layers]
    for i, (prev, cur) in enumerate(zip(graph.layers, graph.layers[1:]), start=1):
        extra = dwc_cost(prev, cur)
        if extra is not None:
            costs[i].resources = costs[i].resources + extra
            costs[i].notes.append(f"width converter {stream_elems(prev, 'out')} -> {stream_elems(cur, 'in')} elements")
    return GraphCost(costs + [dma_cost(graph, dma_bits)], clock_mhz)
