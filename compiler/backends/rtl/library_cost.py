"""What the modules of the RTL library (hwlib/verilog) cost as Yosys 0.23 synth_xilinx maps them for xc7: memories,
FIFOs, registers, threshold comparators, width converters and the window-reduction modules that the pool and
depthwise kinds share (bnnc_winacc: VVAU and overlapping pools behind a bnnc_swg; bnnc_pool: disjoint and global
pools). compiler.backends.rtl.cost composes them per layer kind.

Structural where the RTL is: ROMs and partial-result buffers from their shapes (RtlMemory), registers from the
source; logic LUTs per lane and per threshold comparator fitted on Yosys 0.23 counts
(benchmarks/rtl_calibrate_kinds.py, benchmarks/rtl_dwc.py; docs/cost_model.md "RTL target"). It builds on the
target-neutral primitives of compiler.estimate.resources and imports nothing of the RTL generator.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from boards.catalog import Resources
from compiler.estimate.resources import LayerCost, Memory, bits, bram18_count, ceil_log2, fifo_luts, lutram_luts
from compiler.ir.datatypes import signed_bits, value_range
from compiler.kinds.base import LayerData

# --- memories, registers and counters (docs/cost_model.md, "RTL target") ----------------------------------------
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

# --- fitted on benchmarks/rtl_calibrate_kinds.py (Yosys 0.23, xc7) ---------------------------------------------
ACT_LUT_PER_BIT = 1.17     # bnnc_act: LUTs per threshold per comparator bit (max(acc, thr) + 1), count adder included
WINACC_CTRL_LUT = 40       # bnnc_winacc counters, enables, address
POOL_CTRL_LUT = 350        # bnnc_pool: seven 32-bit position counters with their compares
DSP_MIN_PRODUCT_BITS = 9   # Yosys maps a product to a DSP48 when its result is at least this wide (mul2dsp)
FIFO_FF = 27               # bnnc_fifo's registers besides its SRL/LUTRAM storage (pointers, level, output)

# bnnc_dwc as Yosys 0.23 maps it (benchmarks/rtl_dwc.py, xc7): LUTs of the integer-ratio paths and of the general
# path's variable shifter, per bit of the wider word
RTL_DWC_DOWN_LUT_PER_BIT, RTL_DWC_DOWN_LUT = 0.65, 4     # IN = K*OUT: K:1 output mux, per input-word bit
RTL_DWC_UP_LUT = 7                                       # OUT = K*IN: a shift register with enables, a counter
RTL_DWC_ANY_LUT_PER_BIT = 5.3                            # otherwise


@dataclass
class RtlMemory(Memory):
    """A memory of the RTL library where Yosys puts it. `mapping` adds three rules to Memory's: "rtl-rom" (LUT logic
    up to RTL_ROM_LOGIC_DEPTH words, else block RAM), "rtl-rom-cost" (LUT logic while cheaper than block RAM by
    Yosys' library costs: RTL_ROM_BITS_PER_BRAM18; a ROM of at most RTL_SHALLOW_ROM_DEPTH words merges into the
    logic it feeds) and "rtl-lutram" (RAM32M / RAM64M as Yosys packs them, rtl_lutram_luts)."""

    @property
    def style(self) -> str:
        if self.mapping == "rtl-rom":
            return "logic" if self.depth <= RTL_ROM_LOGIC_DEPTH else "bram"
        if self.mapping == "rtl-rom-cost":
            return "logic" if self.bits <= RTL_ROM_BITS_PER_BRAM18 * bram18_count(self.depth, self.width) else "bram"
        if self.mapping == "rtl-lutram":
            return "lutram"
        return super().style

    @property
    def lut(self) -> int:
        if self.style in ("bram", "uram"):
            return 0
        if self.mapping == "rtl-lutram":
            return self.count * rtl_lutram_luts(self.depth, self.width)
        if self.mapping == "rtl-rom-cost" and self.depth <= RTL_SHALLOW_ROM_DEPTH:
            return self.count * math.ceil(RTL_SHALLOW_ROM_LUT_PER_BIT * self.width)
        return self.count * lutram_luts(self.depth, self.width)


def rtl_lutram_luts(depth: int, width: int) -> int:
    """LUTs of an asynchronously read RAM as Yosys 0.23 maps it for xc7: RAM32M (32 words x 6 bits in 4 LUTs) up
    to 32 words, else RAM64M (64 x 3 in 4 LUTs) per 64 words (measured: bnnc_winacc / bnnc_pool buffers)."""
    if depth <= 0 or width <= 0:
        return 0
    if depth <= 32:
        return 4 * math.ceil(width / 6)
    return math.ceil(depth / 64) * 4 * math.ceil(width / 3)


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


def rtl_ram(role: str, depth: int, width: int) -> RtlMemory:
    """A RAM of the RTL library where Yosys' memory_libmap puts it: distributed RAM (RAM32M / RAM64M) while its
    primitives cost no more than the block RAMs (measured on bnnc_swg line buffers: 512 x 4 bits in 16 RAM64M,
    512 x 8 in one RAMB18)."""
    prims = rtl_lutram_luts(depth, width) // 4
    cheaper = prims * RTL_LUTRAM_PRIM_COST <= RTL_BRAM18_COST * bram18_count(depth, width)
    return RtlMemory(role, depth, width, 1, "rtl-lutram" if cheaper else "bram")


def rtl_registers(c: LayerCost) -> LayerCost:
    """An HLS-path LayerCost with the register count of the RTL library: RTL_FF_PER_LUT per logic LUT (the HLS
    FF_PER_LUT, fitted on HLS post-route designs, is 3-9x what Yosys counts on the RTL)."""
    logic_lut = c.resources.lut - sum(m.lut for m in c.memories)
    r = c.resources
    c.resources = Resources(lut=r.lut, ff=round(RTL_FF_PER_LUT * logic_lut), bram18=r.bram18, uram=r.uram, dsp=r.dsp)
    c.notes.append("rtl")
    return c


def dwc_luts(e_out: int, e_in: int, w_out: int, w_in: int) -> float:
    """Logic LUTs of bnnc_dwc from e_out- to e_in-element words (w_out / w_in bits): integer ratios are cheap (a
    K:1 output mux, or a shift register), any other ratio a variable shifter."""
    if e_out % e_in == 0:
        return RTL_DWC_DOWN_LUT_PER_BIT * w_out + RTL_DWC_DOWN_LUT
    if e_in % e_out == 0:
        return RTL_DWC_UP_LUT
    return RTL_DWC_ANY_LUT_PER_BIT * max(w_out, w_in)


def act_luts(n_thr: int, acc_bits: int, thr_bits: int) -> float:
    """One lane's multi-threshold activation (bnnc_act)."""
    return n_thr * (max(acc_bits, thr_bits) + 1) * ACT_LUT_PER_BIT


def thresholds(layer: LayerData) -> tuple[int, int]:
    """(thresholds per channel, their signed width) of a thresholded layer; (0, 0) for a noact one."""
    if layer.attrs.get("noact"):
        return 0, 0
    t = layer.arrays["thresholds"]
    return int(t.shape[1]), signed_bits(int(t.min()), int(t.max()))


def winacc(layer: LayerData, k: int, op: str, acc_bits: int, weight_dtype: str | None = None,
           ) -> tuple[Resources, list[Memory]]:
    """bnnc_winacc: OP max / sum / mac over K window positions of C/PE channel words, PE lanes, plus its output
    FIFO. Memories: weight ROM (K*CF words x PE*WB, mac), threshold ROM (CF words x PE*T*TB), partial results
    (CF words x PE*AW, LUTRAM read asynchronously)."""
    c, pe = int(layer.attrs["channels"]), layer.pe
    cf = c // pe
    ib, ob = bits(layer.in_dtype), bits(layer.out_dtype)
    n_thr, tb = thresholds(layer) if op != "max" else (0, 0)
    sb = ib if op == "max" else acc_bits
    mems = [RtlMemory("partial results", cf, pe * sb, 1, "rtl-lutram")]
    if op == "mac":
        mems.append(RtlMemory("weights", k * cf, pe * bits(weight_dtype), 1, "rtl-rom-cost"))
    if n_thr:
        mems.append(RtlMemory("thresholds", cf, pe * n_thr * tb, 1, "rtl-rom-cost"))
    dsp = 0
    if op == "max":
        lane = ib + 2                                   # compare and select
    else:
        lane = acc_bits                                 # the adder
        if op == "mac" and weight_dtype != "BIPOLAR":
            wb = bits(weight_dtype)
            if ib + wb + 4 >= DSP_MIN_PRODUCT_BITS:
                dsp = pe
            else:
                lane += (ib + 2) * (wb + 2)             # a LUT multiplier
        elif op == "mac":
            lane += acc_bits                            # add or subtract
        lane += act_luts(n_thr, acc_bits, tb)
    lut = pe * lane + WINACC_CTRL_LUT + fifo_luts(pe * ob) + sum(m.lut for m in mems)
    ff = (pe * (ib + ob) + (pe * bits(weight_dtype) if op == "mac" else 0)
          + sum(m.width for m in mems if m.role != "partial results" and m.style == "logic"
                and m.depth > RTL_SHALLOW_ROM_DEPTH)
          + 2 * ceil_log2(max(2, cf)) + ceil_log2(max(2, k * cf)) + ceil_log2(max(2, k)) + 8
          + pe * ob + FIFO_FF)
    return Resources(lut=round(lut), ff=round(ff), bram18=sum(m.bram18 for m in mems), uram=0, dsp=dsp), mems


def pool(layer: LayerData, op: str, acc_bits: int) -> tuple[Resources, list[Memory]]:
    """bnnc_pool: disjoint windows, one partial result per output column and channel word (OW*CF words x PE*SB,
    LUTRAM read asynchronously), thresholds as an asynchronous ROM (CF words), plus its output FIFO."""
    a = layer.attrs
    c, pe = int(a["channels"]), layer.pe
    cf, ow = c // pe, int(a["ofm_dim"][1])
    b, ob = bits(layer.in_dtype), bits(layer.out_dtype)
    n_thr, tb = thresholds(layer) if op == "sum" else (0, 0)
    sb = b if op == "max" else acc_bits
    mems = [RtlMemory("partial results", ow * cf, pe * sb, 1, "rtl-lutram")]
    if n_thr:
        mems.append(RtlMemory("thresholds", cf, pe * n_thr * tb, 1, "rtl-rom-cost"))
    lane = (b + 2) if op == "max" else acc_bits + act_luts(n_thr, acc_bits, tb)
    lut = pe * lane + POOL_CTRL_LUT + fifo_luts(pe * ob) + sum(m.lut for m in mems)
    ff = (7 * RTL_COUNTER_BITS + ceil_log2(max(2, ow * cf)) + 1 + 2 * pe * ob + FIFO_FF
          + sum(m.width for m in mems[1:] if m.style == "logic" and m.depth > RTL_SHALLOW_ROM_DEPTH))  # read register
    return Resources(lut=round(lut), ff=round(ff), bram18=sum(m.bram18 for m in mems), uram=0, dsp=0), mems


def sum_bits(layer: LayerData, terms: int) -> int:
    """Signed accumulator width (bnnc_pool / bnnc_winacc AW) holding every partial sum of `terms` input values
    exactly, and a noact layer's output code (its accumulator type)."""
    lo, hi = value_range(layer.in_dtype)
    return max(signed_bits(min(terms * lo, 0), max(terms * hi, 0)), bits(layer.in_dtype) + 1,
               bits(layer.out_dtype) + 1)


def mac_bits(layer: LayerData, weights: np.ndarray) -> int:
    """Signed accumulator width of a weighted sum over each channel's row of `weights` (channels, K): every
    partial sum fits (negative and positive parts bounded separately)."""
    lo, hi = value_range(layer.in_dtype)
    w = np.asarray(weights, np.int64)
    p1, p2 = w * lo, w * hi
    neg = int(np.minimum(np.minimum(p1, p2), 0).sum(1).min(initial=0))
    pos = int(np.maximum(np.maximum(p1, p2), 0).sum(1).max(initial=0))
    return max(signed_bits(neg, pos), bits(layer.in_dtype) + 1, bits(layer.out_dtype) + 1)
