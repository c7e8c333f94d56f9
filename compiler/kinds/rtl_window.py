"""RTL-target costs (`Kind.rtl_cost`) of the window-reduction modules of hwlib/verilog that the pool and depthwise kinds
share: bnnc_winacc (VVAU; overlapping pools behind a bnnc_swg) and bnnc_pool (disjoint and global pools).

Structural where the RTL is: ROMs and partial-result buffers from their shapes (compiler.estimate.resources.Memory),
registers from the source; logic LUTs per lane and per threshold comparator fitted on Yosys 0.23 synth_xilinx
xc7 counts (benchmarks/rtl_calibrate_kinds.py; docs/cost_model.md "RTL target")."""
from __future__ import annotations

import dataclasses

import numpy as np

from boards.catalog import Resources
from compiler.ir.datatypes import signed_bits, value_range
from compiler.kinds.base import LayerData
from compiler.estimate.resources import RTL_COUNTER_BITS, RTL_SHALLOW_ROM_DEPTH, LayerCost, Memory, bits, ceil_log2, fifo_luts

# --- fitted on benchmarks/rtl_calibrate_kinds.py (Yosys 0.23, xc7) ---------------------------------------------
ACT_LUT_PER_BIT = 1.17     # bnnc_act: LUTs per threshold per comparator bit (max(acc, thr) + 1), count adder included
WINACC_CTRL_LUT = 40       # bnnc_winacc counters, enables, address
POOL_CTRL_LUT = 350        # bnnc_pool: seven 32-bit position counters with their compares
DSP_MIN_PRODUCT_BITS = 9   # Yosys maps a product to a DSP48 when its result is at least this wide (mul2dsp)
FIFO_FF = 27               # bnnc_fifo's registers besides its SRL/LUTRAM storage (pointers, level, output)


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
    mems = [Memory("partial results", cf, pe * sb, 1, "rtl-lutram")]
    if op == "mac":
        mems.append(Memory("weights", k * cf, pe * bits(weight_dtype), 1, "rtl-rom-cost"))
    if n_thr:
        mems.append(Memory("thresholds", cf, pe * n_thr * tb, 1, "rtl-rom-cost"))
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
    mems = [Memory("partial results", ow * cf, pe * sb, 1, "rtl-lutram")]
    if n_thr:
        mems.append(Memory("thresholds", cf, pe * n_thr * tb, 1, "rtl-rom-cost"))
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


def pool_layer_cost(layer: LayerData, hls: LayerCost, op: str) -> LayerCost:
    """The RTL cost of a MaxPool (op 'max') or AvgPool ('sum') layer: bnnc_pool for disjoint windows (the HLS
    cycle count: every input word once); overlapping or zero-padded windows as bnnc_swg (its rtl_cost: line buffer, cycles)
    followed by bnnc_winacc."""
    from compiler import kinds

    a = layer.attrs
    (kh, kw), (sh, sw) = a["kernel"], a["stride"]
    acc = sum_bits(layer, kh * kw) if op == "sum" else 0
    pad = list(a.get("pad", (0, 0, 0, 0)))
    if sh >= kh and sw >= kw and not any(pad):
        r, mems = pool(layer, op, acc)
        return LayerCost(hls.name, hls.kind, hls.pe, hls.simd, hls.cycles, r, mems, hls.notes + ["rtl"])
    (oh, ow), c = a["ofm_dim"], int(a["channels"])
    swg_layer = dataclasses.replace(
        layer, name=f"{layer.name}_swg", kind="SlidingWindow", out_shape=(oh, ow, kh * kw * c),
        out_dtype=layer.in_dtype, arrays={}, folding={"simd": layer.pe},
        attrs={"ifm_dim": list(a["ifm_dim"]), "channels": c, "kernel": [kh, kw], "stride": [sh, sw],
               "pad": pad, "pad_value": 0, "ofm_dim": [oh, ow]})
    swg = kinds.get("SlidingWindow").rtl_cost(swg_layer)
    r, mems = winacc(layer, kh * kw, op, acc)
    fifo = Resources(lut=fifo_luts(layer.pe * bits(layer.in_dtype)))   # the generator has no FIFO of its own here
    return LayerCost(hls.name, hls.kind, hls.pe, hls.simd, swg.cycles, swg.resources + r - fifo,
                     swg.memories + mems, hls.notes + ["rtl", "overlapping/padded windows: window generator + accumulator"])
