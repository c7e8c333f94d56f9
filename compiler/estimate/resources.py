"""Hardware resource primitives the per-kind cost models share (docs/cost_model.md).

Memories follow what Vivado HLS does for a partitioned array: arrays of at most LUTRAM_MAX_BITS bits go to
distributed RAM (one 6-LUT holds 64x1), larger ones to block RAM, counted in 18 Kb halves with the cheapest
simple-dual-port aspect ratio (UG473). `LayerCost` is what every kind's `cost` returns. Target-neutral: what the RTL
library becomes under Yosys is the RTL backend's (compiler.backends.rtl.library_cost).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from boards.catalog import Resources
from compiler.ir.datatypes import datatype

# --- memory primitives (UG473 / UG474 / UG573) ---------------------------------------------------------
BRAM18_MODES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))  # depth x width
LUTRAM_DEPTH = 64          # a SLICEM 6-LUT is a 64x1 RAM
LUTRAM_MAX_BITS = 1024     # HLS maps a (partitioned) array up to ~1 Kbit to LUTRAM, larger ones to BRAM
URAM_DEPTH, URAM_WIDTH = 4096, 72   # one UltraScale+ URAM288 block is 4K x 72 (UG573); no narrower aspect ratios
SRL_DEPTH = 32             # a 6-LUT is a 32-deep shift register (SRLC32E)
FIFO_DEPTH = 32            # inter-layer stream FIFO depth the HLS top uses (one SRL per bit)

# --- logic constants (LUTs), see docs/cost_model.md for the calibration -------------------------------
XNOR_LUT_PER_LANE = 3.0    # XNOR + popcount-tree LUTs per SIMD lane (fitted on BNN-PYNQ LFC-W1A1, Pynq-Z1)
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
    mapping: str | None = None     # None: the HLS rule (by size); "lutram"/"bram"/"uram": fixed; the RTL backend's
    #                                rules: compiler.backends.rtl.library_cost.RtlMemory

    @property
    def bits(self) -> int:
        return self.depth * self.width

    @property
    def style(self) -> str:
        """'lutram' (distributed RAM), 'logic' (a ROM as LUT logic), 'bram' or 'uram' (run-time loaded weights)."""
        if self.mapping in ("lutram", "bram", "uram"):
            return self.mapping
        return "lutram" if self.bits <= LUTRAM_MAX_BITS else "bram"

    @property
    def bram18(self) -> int:
        return self.count * bram18_count(self.depth, self.width) if self.style == "bram" else 0

    @property
    def lut(self) -> int:
        if self.style in ("bram", "uram"):
            return 0
        return self.count * lutram_luts(self.depth, self.width)

    @property
    def uram(self) -> int:
        return self.count * uram_count(self.depth, self.width) if self.style == "uram" else 0


def bram18_count(depth: int, width: int) -> int:
    """18 Kb block RAMs for a depth x width memory using the cheapest aspect ratio (UG473 table 1-11)."""
    if depth <= 0 or width <= 0:
        return 0
    return min(math.ceil(depth / d) * math.ceil(width / w) for d, w in BRAM18_MODES)


def uram_count(depth: int, width: int) -> int:
    """URAM288 blocks for a depth x width memory: 4K x 72 tiles (UG573), cascaded in depth, side by side in width."""
    if depth <= 0 or width <= 0:
        return 0
    return math.ceil(depth / URAM_DEPTH) * math.ceil(width / URAM_WIDTH)


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
                              "style": m.style, "bram18": m.bram18, "uram": m.uram, "lut": m.lut} for m in self.memories],
                "notes": list(self.notes)}


def bits(dtype_name: str) -> int:
    return int(datatype(dtype_name).bitwidth())


def ceil_log2(n: int) -> int:
    return max(0, math.ceil(math.log2(n))) if n > 1 else 0


def logic(lut: float, dsp: float = 0, memories: list[Memory] = ()) -> Resources:
    """Total resources of a stage from its logic LUTs (FFs follow them) plus its memories."""
    mem_lut = sum(m.lut for m in memories)
    return Resources(lut=round(lut + mem_lut), ff=round(FF_PER_LUT * lut), bram18=sum(m.bram18 for m in memories),
                     uram=sum(m.uram for m in memories), dsp=dsp)
