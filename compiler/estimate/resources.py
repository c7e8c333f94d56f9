"""Hardware resource primitives the per-kind cost models share (docs/cost_model.md).

Memories follow what Vivado HLS does for a partitioned array: arrays of at most LUTRAM_MAX_BITS bits go to
distributed RAM (one 6-LUT holds 64x1), larger ones to block RAM, counted in 18 Kb halves with the cheapest
simple-dual-port aspect ratio (UG473). `LayerCost` is what every kind's `cost` returns.
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

# --- the RTL library (hwlib/verilog) as Yosys 0.23 synth_xilinx maps it (docs/cost_model.md, "RTL target") -------
RTL_ROM_LOGIC_DEPTH = 64   # a ROM at most this deep becomes LUT logic (a 64-word ROM bit is one LUT6), deeper: BRAM
RTL_FF_PER_LUT = 0.3       # registers per logic LUT of the kinds without a structural register model
RTL_COUNTER_BITS = 32      # bnnc_swg / bnnc_pool keep their position counters in 32-bit registers
# Yosys 0.23 memory_libmap puts a ROM in LUT logic while that is cheaper than block RAM: measured on the
# bnnc_winacc weight/threshold ROMs (144x32 bits: logic; 256x135, 2304x4: block RAM), as if one RAMB18
# were worth 64 * 129 ROM bits (its library cost 129, a logic ROM bit 1/64)
RTL_ROM_BITS_PER_BRAM18 = 64 * 129
RTL_SHALLOW_ROM_DEPTH = 8  # a logic ROM this shallow merges into the logic it feeds: RTL_SHALLOW_ROM_LUT_PER_BIT
RTL_SHALLOW_ROM_LUT_PER_BIT = 0.25   # measured on bnnc_pool / bnnc_winacc threshold ROMs of 4 and 8 words


RTL_LUTRAM_PRIM_COST = 8    # Yosys 0.23 lutrams_xc5v.txt: one RAM32M/RAM64M; a RAMB18 costs 129 (brams_xc4v.txt)
RTL_BRAM18_COST = 129


def rtl_fifo(depth: int, width: int) -> Resources:
    """bnnc_fifo (hwlib/verilog) as Yosys 0.23 maps it (fitted on W 4..32, DEPTH 17..145, xc7): its asynchronously read
    array becomes LUTRAM (RAM32M, 32 x 6 bits, up to 32 words; RAM64M, 64 x 3, up to 64; deeper: 32-word banks
    behind a read mux), plus read/write pointers, the occupancy count and the high-water register (about 6 LUTs
    and 5 FFs per address bit)."""
    ab = max(1, ceil_log2(depth))
    if depth <= 32:
        ram, banks = 4 * math.ceil(width / 6), 1
    elif depth <= 64:
        ram, banks = 4 * math.ceil(width / 3), 1
    else:
        banks = math.ceil(depth / 32)
        ram = banks * 4 * math.ceil(width / 6)
    return Resources(lut=round(6 * ab + 2 + 1.5 * width * (banks - 1)) + ram, ff=5 * ab + 2, bram18=0, uram=0, dsp=0)


def rtl_ram(role: str, depth: int, width: int) -> Memory:
    """A RAM of the RTL library where Yosys' memory_libmap puts it: distributed RAM (RAM32M / RAM64M) while its
    primitives cost no more than the block RAMs (measured on bnnc_swg line buffers: 512 x 4 bits in 16 RAM64M,
    512 x 8 in one RAMB18)."""
    prims = rtl_lutram_luts(depth, width) // 4
    cheaper = prims * RTL_LUTRAM_PRIM_COST <= RTL_BRAM18_COST * bram18_count(depth, width)
    return Memory(role, depth, width, 1, "rtl-lutram" if cheaper else "bram")


@dataclass
class Memory:
    """One physical memory: `count` identical copies of depth x width bits."""

    role: str
    depth: int
    width: int
    count: int = 1
    mapping: str | None = None     # None: the HLS rule (by size); "rtl-rom": RTL_ROM_LOGIC_DEPTH; "rtl-rom-cost":
    #                                RTL_ROM_BITS_PER_BRAM18; "rtl-lutram": RAM32M/RAM64M as Yosys packs them;
    #                                "lutram"/"bram"/"uram"

    @property
    def bits(self) -> int:
        return self.depth * self.width

    @property
    def style(self) -> str:
        """'lutram' (distributed RAM), 'logic' (a ROM as LUT logic), 'bram' or 'uram' (run-time loaded weights)."""
        if self.mapping == "rtl-rom":
            return "logic" if self.depth <= RTL_ROM_LOGIC_DEPTH else "bram"
        if self.mapping == "rtl-rom-cost":
            return "logic" if self.bits <= RTL_ROM_BITS_PER_BRAM18 * bram18_count(self.depth, self.width) else "bram"
        if self.mapping in ("lutram", "bram", "uram"):
            return self.mapping
        if self.mapping == "rtl-lutram":
            return "lutram"
        return "lutram" if self.bits <= LUTRAM_MAX_BITS else "bram"

    @property
    def bram18(self) -> int:
        return self.count * bram18_count(self.depth, self.width) if self.style == "bram" else 0

    @property
    def lut(self) -> int:
        if self.style in ("bram", "uram"):
            return 0
        if self.mapping == "rtl-lutram":
            return self.count * rtl_lutram_luts(self.depth, self.width)
        if self.mapping == "rtl-rom-cost" and self.depth <= RTL_SHALLOW_ROM_DEPTH:
            return self.count * math.ceil(RTL_SHALLOW_ROM_LUT_PER_BIT * self.width)
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


def rtl_lutram_luts(depth: int, width: int) -> int:
    """LUTs of an asynchronously read RAM as Yosys 0.23 maps it for xc7: RAM32M (32 words x 6 bits in 4 LUTs) up
    to 32 words, else RAM64M (64 x 3 in 4 LUTs) per 64 words (measured: bnnc_winacc / bnnc_pool buffers)."""
    if depth <= 0 or width <= 0:
        return 0
    if depth <= 32:
        return 4 * math.ceil(width / 6)
    return math.ceil(depth / 64) * 4 * math.ceil(width / 3)


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


def rtl_registers(c: LayerCost) -> LayerCost:
    """An HLS-path LayerCost with the register count of the RTL library: RTL_FF_PER_LUT per logic LUT (the HLS
    FF_PER_LUT, fitted on HLS post-route designs, is 3-9x what Yosys counts on the RTL)."""
    logic_lut = c.resources.lut - sum(m.lut for m in c.memories)
    r = c.resources
    c.resources = Resources(lut=r.lut, ff=round(RTL_FF_PER_LUT * logic_lut), bram18=r.bram18, uram=r.uram, dsp=r.dsp)
    c.notes.append("rtl")
    return c
