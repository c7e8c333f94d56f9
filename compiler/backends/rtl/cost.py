"""The RTL flow's cost model: every layer as the RTL library (hwlib/verilog) builds it, calibrated against Yosys 0.23
(`bnnc synth`; docs/cost_model.md "RTL target"). compiler.estimate.cost.estimate(graph, target="rtl") and the folding
optimiser of `--flow rtl` ask it; the RTL generator (compiler.backends.rtl.project) takes its FIFO depths from it.

Per layer kind one cost function, registered by kind name (`@rtl_cost("MVTU")`) as the emitters are
(compiler.backends.rtl.registry); a kind without one is costed as its HLS estimate (`Kind.cost`) with the RTL's
registers per LUT (library_cost.rtl_registers). Graph-level parts: the width converter (bnnc_dwc) plus the FIFO
after it, the FIFO depth in front of a layer (input_fifo_depth) and where the RTL puts branch FIFOs
(branch_fifo_costs).

Layering (no import cycle, counting function-level imports): this module and compiler.backends.rtl.library_cost are
the bottom of the RTL backend. They import only the target-neutral cost primitives (compiler.estimate.resources),
the branch FIFO depths (compiler.estimate.fifo), the kinds and compiler.kernels.activation (the HLS estimate and
layer properties: accumulator widths, multipliers, thresholds) and the IR -- nothing of the generator (emitters,
project), which sits above compiler.estimate.cost. So compiler.estimate.cost can import this module for target
"rtl" and the generator can import input_fifo_depth from it (tests/compiler/backends/rtl/test_rtl_cost.py checks
the imports). compiler.estimate.cost does so inside the functions that need it: importing any module of this
package first runs compiler/backends/rtl/__init__.py, whose emitters import compiler.estimate.cost (stream_elems),
so a module-level import there would meet a half-initialised compiler.estimate.cost. A registry filled when the RTL
package is imported was the alternative; it would leave `estimate(..., target="rtl")` empty for every caller that
has not imported the RTL backend first (the folding optimiser of `bnnc compile --flow rtl` has not), so the direct
import, which the import check sees, is the honest dependency.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

from boards.catalog import Resources
from compiler import kinds
from compiler.backends.rtl.library_cost import (DSP_MIN_PRODUCT_BITS, FIFO_FF, RTL_COUNTER_BITS, RTL_SHALLOW_ROM_DEPTH,
                                                RtlMemory, act_luts, dwc_luts, mac_bits, pool, rtl_fifo, rtl_ram,
                                                rtl_registers, sum_bits, thresholds, winacc)
from compiler.estimate.fifo import branch_fifo_depths
from compiler.estimate.resources import FIFO_DEPTH, LayerCost, Memory, bits, ceil_log2, fifo_luts, logic
from compiler.ir.datatypes import element_bits, value_range
from compiler.ir.graph import DataflowGraph
from compiler.kernels.activation import n_thresholds
from compiler.kinds.base import LayerData
from compiler.kinds.mvtu import accumulator_bits, dsp_products
from compiler.kinds.streams import mult_luts, mults

#: rtl_cost(layer) -> LayerCost, the RTL library's cost of one layer at its current folding
CostFn = Callable[[LayerData], LayerCost]
_COSTS: dict[str, CostFn] = {}


def rtl_cost(kind: str) -> Callable[[CostFn], CostFn]:
    """Decorator registering the RTL cost function of layer kind `kind`."""
    def deco(fn: CostFn) -> CostFn:
        if kind in _COSTS:
            raise ValueError(f"RTL cost of kind {kind!r} registered twice")
        _COSTS[kind] = fn
        return fn
    return deco


#: output_fifo(layer, width) -> Resources: the FIFO (`width`-bit words) a kind's RTL cost charges on each output
#: stream; kinds without one keep the HLS model's SRL FIFO (fifo_luts) from their HLS estimate
OutputFifoFn = Callable[[LayerData, int], Resources]
_OUTPUT_FIFOS: dict[str, OutputFifoFn] = {}


def output_fifo(kind: str) -> Callable[[OutputFifoFn], OutputFifoFn]:
    """Decorator registering what kind `kind`'s RTL cost charges for the FIFO on one of its output streams."""
    def deco(fn: OutputFifoFn) -> OutputFifoFn:
        _OUTPUT_FIFOS[kind] = fn
        return fn
    return deco


def output_fifo_cost(layer: LayerData, width: int) -> Resources:
    """The FIFO on one output stream of `layer` that its RTL cost charged (branch_fifo_costs moves it)."""
    fn = _OUTPUT_FIFOS.get(layer.kind)
    return fn(layer, width) if fn is not None else Resources(lut=fifo_luts(width))


def costed_kinds() -> tuple[str, ...]:
    """Kinds with an RTL cost function of their own (the others: their HLS estimate with the RTL's registers)."""
    return tuple(_COSTS)


def layer_cost(layer: LayerData) -> LayerCost:
    """Cycles per frame and resources of one layer as the RTL library builds it (compiler.estimate.cost.layer_cost
    with target "rtl")."""
    fn = _COSTS.get(layer.kind)
    return fn(layer) if fn is not None else rtl_registers(kinds.get(layer.kind).cost(layer))


def _hls(l: LayerData) -> LayerCost:
    """The kind's HLS estimate: the RTL keeps its cycle count and name, and some kinds its logic LUTs."""
    return kinds.get(l.kind).cost(l)


# --- MVTU: bnnc_mvtu, integer path fitted on benchmarks/rtl_calibrate_kinds.py --kinds MVTU (Yosys 0.23, xc7) ---
RTL_PRODUCT_LUT_PER_BIT = 1.04  # a LUT product of IB- and WB-bit codes: per output bit while IB + WB <= 6 (one
#                                 LUT6 each), per partial-product bit (IB * WB) beyond
RTL_MVTU_CTRL_LUT = 170         # counters, enables, the input mux and output register of bnnc_mvtu


def operand_bits(dtype: str) -> int:
    """Signed width of a decoded bnnc_mvtu operand (XS / WS): unsigned B -> B + 1, signed B, BIPOLAR 2."""
    return 2 if dtype == "BIPOLAR" else bits(dtype) + (0 if value_range(dtype)[0] < 0 else 1)


def rtl_product_luts(in_dtype: str, weight_dtype: str) -> float:
    """LUTs of one bnnc_mvtu product in LUT logic: a +-1 operand negates the other (its width), else a small
    multiplier whose output bits are single LUT6s while the codes have at most 6 bits together."""
    ib, wb = bits(in_dtype), bits(weight_dtype)
    n = ib + wb if ib + wb <= 6 else ib * wb
    return RTL_PRODUCT_LUT_PER_BIT * n


def rtl_tree_luts(simd: int, pb: int, aw: int) -> int:
    """LUTs of bnnc_mvtu's balanced adder tree over SIMD products of pb bits: one LUT per bit of each carry-chain
    adder, node n (0 = root) min(aw, pb + depth of the tree - depth of n) bits wide."""
    td = ceil_log2(simd)
    return sum(min(aw, pb + td - int(math.log2(n + 1))) for n in range(simd - 1))


@rtl_cost("MVTU")
def mvtu(l: LayerData) -> LayerCost:
    """bnnc_mvtu (hwlib/verilog) as Yosys maps it: ONE weight ROM of NF*SF words x PE*SIMD*WB bits (LUT logic while
    that is cheaper, else bram18_count(NF*SF, PE*SIMD*WB) block RAMs: "rtl-rom-cost", as the integer path and the
    window kinds) and one threshold ROM of NF words, a LUTRAM
    input-vector buffer when NF > 1; registers counted from the RTL (ROM read words, input words,
    accumulators, output word, counters), not from LUTs. XNOR layers: logic LUTs as on the HLS path; integer
    layers: the RTL's structure (mvtu_int)."""
    if not l.attrs.get("binary_xnor"):
        return mvtu_int(l)
    c = _hls(l)
    a = l.attrs
    mw, mh = int(a["MW"]), int(a["MH"])
    pe, simd = l.pe, l.simd
    nf, sf = mh // pe, mw // simd
    w_bits, a_bits, acc_bits, o_bits = (bits(a["weight_dtype"]), bits(l.in_dtype), bits(a["acc_dtype"]),
                                        bits(l.out_dtype))
    n_thr = 0 if a.get("noact") else int(l.arrays["thresholds"].shape[1]) if "thresholds" in l.arrays else 1
    mems = [RtlMemory("weights", nf * sf, pe * simd * w_bits, 1, "rtl-rom-cost")]
    if n_thr:
        mems.append(RtlMemory("thresholds", nf, pe * n_thr * acc_bits, 1, "rtl-rom-cost"))
    if nf > 1:
        mems.append(Memory("input vector", sf, simd * a_bits, 1, "lutram"))
    logic_lut = c.resources.lut - sum(m.lut for m in c.memories)
    ff = (simd * a_bits * (2 if nf > 1 else 1) + pe * acc_bits + pe * o_bits
          + 3 * ceil_log2(max(2, nf * sf)) + 8)
    ff += sum(m.width for m in mems if m.style == "logic")          # synchronous read register of a logic ROM
    r = logic(logic_lut, c.resources.dsp, mems)
    r = type(r)(lut=r.lut, ff=ff, bram18=r.bram18, uram=0, dsp=r.dsp)
    return LayerCost(c.name, c.kind, pe, simd, c.cycles, r, mems, c.notes + ["rtl"])


def mvtu_int(l: LayerData) -> LayerCost:
    """Integer bnnc_mvtu, structural (docs/cost_model.md "RTL target"): per PE the SIMD products
    (rtl_product_luts; DSP48s for dsp_products layers and for products of at least 9 bits), the adder tree
    (rtl_tree_luts; in the DSP post-adders for dsp_products lanes), the AW-bit accumulator adder and the NT
    comparators (library_cost.act_luts); the weight ROM (cost rule), the threshold ROM and input buffer as Yosys maps
    them; RTL_MVTU_CTRL_LUT and the output FIFO."""
    c = _hls(l)
    a = l.attrs
    mw, mh = int(a["MW"]), int(a["MH"])
    pe, simd = l.pe, l.simd
    nf, sf = mh // pe, mw // simd
    wb, ib, ob = bits(a["weight_dtype"]), bits(l.in_dtype), bits(l.out_dtype)
    aw = accumulator_bits(l) if "weights" in l.arrays else bits(a["acc_dtype"])
    n_thr, tb = thresholds(l)
    mems = [RtlMemory("weights", nf * sf, pe * simd * wb, 1, "rtl-rom-cost")]
    if n_thr:
        mems.append(RtlMemory("thresholds", nf, pe * n_thr * tb, 1, "rtl-rom-cost"))
    if nf > 1:
        mems.append(RtlMemory("input vector", sf, simd * ib, 1, "rtl-lutram"))
    xs, ws = operand_bits(l.in_dtype), operand_bits(a["weight_dtype"])
    dsp_chain = dsp_products(l)                 # MUL_DSP: DSP products, sums in the DSP post-adders
    # a product of the tree path that keeps >= 9 bits is a DSP48 too (Yosys' mul2dsp threshold); +-1 operands
    # are a negation, never a multiplier
    dsp_tree = (not dsp_chain and "BIPOLAR" not in (l.in_dtype, a["weight_dtype"])
                and min(xs + ws, aw) >= DSP_MIN_PRODUCT_BITS)
    dsp = dsp_chain or dsp_tree
    lane = aw + act_luts(n_thr, aw, tb)
    if not dsp_chain:
        lane += rtl_tree_luts(simd, xs + ws, aw)
    if not dsp:
        lane += simd * rtl_product_luts(l.in_dtype, a["weight_dtype"])
    lut = pe * lane + RTL_MVTU_CTRL_LUT + fifo_luts(pe * ob) + sum(m.lut for m in mems)
    ff = (simd * ib * (2 if nf > 1 else 1) + pe * simd * wb + pe * aw + pe * ob
          + 3 * ceil_log2(max(2, nf * sf)) + 8 + FIFO_FF
          + sum(m.width for m in mems[1:] if m.style == "logic" and m.depth > RTL_SHALLOW_ROM_DEPTH))
    r = Resources(lut=round(lut), ff=round(ff), bram18=sum(m.bram18 for m in mems), uram=0,
                  dsp=pe * simd if dsp else 0)
    return LayerCost(c.name, c.kind, pe, simd, c.cycles, r, mems, c.notes + ["rtl"])


# --- SlidingWindow: bnnc_swg ----------------------------------------------------------------------------------
SWG_CTRL_LUT = 490      # bnnc_swg's 32-bit counters and address arithmetic: 458-534 LUT synthesized (Yosys 0.23
#                         xc7: two overlapping max-pools of benchmarks/rtl_calibrate_kinds.py, the eleven windows of
#                         benchmarks/rtl_depthwise.py), less the output mux


def rtl_line_buffer_rows(h: int, kh: int, sh: int, oh: int, pad_top: int) -> int:
    """Rows of bnnc_swg's line buffer (hwlib/verilog/bnnc_swg.v NB): the larger of KH+SH (the window plus the next
    output row's new rows) and the rows the frame's last output row reads plus those the next frame's first
    output row needs (so the reader fills the next frame while the writer finishes this one), rounded up to a
    power of two."""
    last = h - ((oh - 1) * sh - pad_top)
    first = min(h, kh - pad_top)
    return 1 << math.ceil(math.log2(max(kh + sh, last + first)))


@rtl_cost("SlidingWindow")
def sliding_window(l: LayerData) -> LayerCost:
    """bnnc_swg: ONE line buffer of rtl_line_buffer_rows input rows (W*C/SIMD words of SIMD*B bits each); registers:
    seven 32-bit position counters and the output word (from the RTL). Logic: the HLS estimate's, with bnnc_swg's
    control (SWG_CTRL_LUT) for the template's.
    Cycles: its reader fills the next frame's rows while the writer finishes this frame, so a frame costs
    the slower of the two, row by row (no per-frame fill as in the HLS template's estimate)."""
    c = _hls(l)
    a = l.attrs
    (kh, kw), (sh, _), (h, w), (oh, ow) = a["kernel"], a["stride"], a["ifm_dim"], a["ofm_dim"]
    ch, simd, b = int(a["channels"]), l.simd, bits(l.out_dtype)
    cf = ch // simd
    c.cycles = max(oh * max(ow * kh * kw * cf, sh * w * cf), h * w * cf)
    rows = rtl_line_buffer_rows(h, kh, sh, oh, a["pad"][0])
    mems = [rtl_ram("line buffer", rows * w * (ch // simd), simd * b)]
    logic_lut = c.resources.lut - sum(m.lut for m in c.memories) - kinds.get(l.kind).ctrl_lut + SWG_CTRL_LUT
    r = logic(logic_lut, 0, mems)
    ff = 7 * RTL_COUNTER_BITS + 2 * simd * b + 8
    return LayerCost(c.name, c.kind, c.pe, c.simd, c.cycles, type(r)(lut=r.lut, ff=ff, bram18=r.bram18, uram=0,
                                                                      dsp=0), mems, c.notes + ["rtl"])


# --- MaxPool, AvgPool, VVAU: bnnc_pool, bnnc_swg + bnnc_winacc (library_cost) ------------------------------------
def pool_layer_cost(layer: LayerData, op: str) -> LayerCost:
    """The RTL cost of a MaxPool (op 'max') or AvgPool ('sum') layer: bnnc_pool for disjoint windows (the HLS
    cycle count: every input word once); overlapping or zero-padded windows as bnnc_swg (sliding_window: line buffer,
    cycles) followed by bnnc_winacc."""
    hls = _hls(layer)
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
    swg = sliding_window(swg_layer)
    r, mems = winacc(layer, kh * kw, op, acc)
    fifo = Resources(lut=fifo_luts(layer.pe * bits(layer.in_dtype)))   # the generator has no FIFO of its own here
    return LayerCost(hls.name, hls.kind, hls.pe, hls.simd, swg.cycles, swg.resources + r - fifo,
                     swg.memories + mems,
                     hls.notes + ["rtl", "overlapping/padded windows: window generator + accumulator"])


@rtl_cost("MaxPool")
def maxpool(l: LayerData) -> LayerCost:
    """bnnc_pool (OP max) for disjoint windows, else bnnc_swg -> bnnc_winacc (OP max)."""
    return pool_layer_cost(l, "max")


@rtl_cost("AvgPool")
def avgpool(l: LayerData) -> LayerCost:
    """bnnc_pool (OP sum) for disjoint windows, global pools included; overlapping windows: bnnc_swg ->
    bnnc_winacc (OP sum), costed as the window generator plus the accumulator."""
    return pool_layer_cost(l, "sum")


@rtl_cost("VVAU")
def vvau(l: LayerData) -> LayerCost:
    """bnnc_winacc (OP mac) as Yosys maps it (library_cost.winacc); cycles as on the HLS path."""
    c = _hls(l)
    k = math.prod(l.attrs["kernel"])
    r, mems = winacc(l, k, "mac", mac_bits(l, l.arrays["weights"]), l.attrs["weight_dtype"])
    return LayerCost(c.name, c.kind, c.pe, c.simd, c.cycles, r, mems, c.notes + ["rtl"])


# --- the stream kinds: bnnc_dup, bnnc_add, bnnc_concat ----------------------------------------------------------
@rtl_cost("DuplicateStreams")
def duplicate_streams(l: LayerData) -> LayerCost:
    """bnnc_dup (one W-bit register Yosys shares between both outputs, two valid flags, ~4 LUTs) and two
    32-word output FIFOs (rtl_fifo). An output read by an AddStreams has its FIFO in the AddStreams unit instead;
    branch_fifo_costs moves that charge (graph-level)."""
    c = _hls(l)
    w = l.pe * bits(l.out_dtype)
    r = rtl_fifo(FIFO_DEPTH, w) + rtl_fifo(FIFO_DEPTH, w) + type(c.resources)(lut=4, ff=w + 2)
    return LayerCost(c.name, c.kind, c.pe, c.simd, c.cycles, r, [], c.notes + ["rtl"])


@output_fifo("DuplicateStreams")
def duplicate_streams_output_fifo(l: LayerData, width: int) -> Resources:
    """duplicate_streams charges a bnnc_fifo of FIFO_DEPTH words per output."""
    return rtl_fifo(FIFO_DEPTH, width)


@rtl_cost("AddStreams")
def add_streams(l: LayerData) -> LayerCost:
    """bnnc_add (hwlib/verilog) as Yosys maps it, fitted on the two_adds RTL test graph: per lane an exact adder of
    AB = max(IB0 + 1 + shift0, IB1 + 1 + shift1) + 1 bits and NT comparators of that width; ~15 LUTs of
    control; registers: the sum (PE*AB), the output word, two valid flags and the threshold ROM's channel
    counter (Yosys folds the ROM's read word into the ROM logic: measured). Plus its
    32-word output FIFO; the FIFOs in front of its inputs (branch FIFOs) are charged by branch_fifo_costs."""
    c = _hls(l)
    a = l.attrs
    ch, pe, ob = int(a["num_channels"]), l.pe, bits(l.out_dtype)
    sh = [int(v) for v in a["shift"]]
    mb = [ceil_log2(m + 1) if m > 1 else 0 for m in mults(l)]
    ab = max(bits(l.in_dtype) + 1 + sh[0] + mb[0], bits(a["in1_dtype"]) + 1 + sh[1] + mb[1]) + 1
    nt = 0 if a["noact"] else n_thresholds(l)
    nf = ch // pe
    mems = [RtlMemory("thresholds", nf, pe * nt * ab, 1, "rtl-rom")] if nt and nf > 1 else []
    lut = pe * (ab + nt * ab) + 15
    ff = pe * ab + pe * ob + 2 + (ceil_log2(nf) if mems else 0)
    r = logic(lut, 0, mems) + rtl_fifo(FIFO_DEPTH, pe * ob)
    r = type(r)(lut=r.lut, ff=ff + rtl_fifo(FIFO_DEPTH, pe * ob).ff, bram18=r.bram18, uram=0, dsp=0)
    return LayerCost(c.name, c.kind, c.pe, c.simd, c.cycles, r, mems, c.notes + ["rtl"])


@rtl_cost("ConcatStreams")
def concat_streams(l: LayerData) -> LayerCost:
    """bnnc_concat (hwlib/verilog): the 2:1 word multiplexer, a channel-fold counter and the output register, the
    constant multiplies of its inputs (shift-and-add: popcount(m) - 1 adders of the output width per lane, as the
    HLS estimate counts them), plus its 32-word output FIFO; the branch FIFOs in front of its inputs are charged by
    branch_fifo_costs."""
    c = _hls(l)
    c0, c1 = (int(v) for v in l.attrs["channels"])
    ob = bits(l.out_dtype)
    w = l.pe * ob
    nf = (c0 + c1) // l.pe
    r = type(c.resources)(lut=w + 10 + mult_luts(l), ff=w + 2 + ceil_log2(max(2, nf))) + rtl_fifo(FIFO_DEPTH, w)
    return LayerCost(c.name, c.kind, c.pe, c.simd, c.cycles, r, [], c.notes + ["rtl"])


# --- graph level: FIFOs and width converters --------------------------------------------------------------------
def input_fifo_depth(layer: LayerData) -> int:
    """Depth of the FIFO in front of `layer`: at least FIFO_DEPTH, and as many words as its producer must write
    ahead of it (Kind.read_ahead_words: for an MVTU with NF > 1 one whole input vector, SF words; such an MVTU reads
    its input only during neuron fold 0, and with a shallower FIFO two rate-matched layers serialise, measured on
    CNV-W1A1's FC layers: 1.42x the modelled II with 32-deep FIFOs)."""
    return max(FIFO_DEPTH, kinds.get(layer.kind).read_ahead_words(layer))


def converter_cost(cur: LayerData, e_out: int, e_in: int, w_out: int, w_in: int) -> Resources:
    """bnnc_dwc in front of `cur`, from e_out- to e_in-element words (w_out / w_in bits), as synthesized (integer
    ratios cheap, others a shifter), plus the FIFO the RTL puts after it in front of a single-input layer
    (compiler.estimate.cost.dwc_cost with target "rtl")."""
    r = Resources(lut=round(dwc_luts(e_out, e_in, w_out, w_in)), ff=w_out + w_in + ceil_log2(e_out + e_in + 1))
    if kinds.get(cur.kind).n_inputs == 1:
        r = r + rtl_fifo(input_fifo_depth(cur), w_in)
    return r


def branch_fifo_costs(graph: DataflowGraph, costs: list[LayerCost]) -> None:
    """Adjust the per-layer RTL costs (compiler.estimate.cost.estimate(target='rtl')) to where the RTL backend puts
    the FIFO of a stream read by a multi-input layer (compiler.backends.rtl.project): in that layer's unit, behind
    the width converter if any, max(FIFO_DEPTH, branch depth) words deep, instead of at the producer's output.
    The producer (without a converter between) loses the output FIFO its RTL cost charged: a bnnc_fifo for
    DuplicateStreams, the HLS-model SRL FIFO (fifo_luts) for the other kinds."""
    depths = branch_fifo_depths(graph)
    index = {l.name: i for i, l in enumerate(graph.layers)}
    producer: dict[str, LayerData] = {}
    for l, (ins, outs) in zip(graph.layers, graph.streams()):
        for s in outs:
            producer[s] = l
    for i, (l, (ins, _)) in enumerate(zip(graph.layers, graph.streams())):
        if len(ins) < 2:
            continue
        kind = kinds.get(l.kind)
        e_in = kind.stream_elems(l, "in")
        for j, s in enumerate(ins):
            w = e_in * element_bits(kind.input_dtype(l, j))
            depth = max(FIFO_DEPTH, depths.get((l.name, j), (0, ""))[0])
            costs[i].resources = costs[i].resources + rtl_fifo(depth, w)
            costs[i].notes.append(f"branch FIFO (RTL): input {j}, {depth} words x {w} bits")
            p = producer.get(s)
            if p is None or kinds.get(p.kind).stream_elems(p, "out") != e_in:
                continue
            k = index[p.name]
            pw = kinds.get(p.kind).stream_elems(p, "out") * element_bits(p.out_dtype)
            drop = output_fifo_cost(p, pw)
            costs[k].resources = costs[k].resources - drop
            costs[k].notes.append(f"output to {l.name} input {j}: its FIFO is in {l.name}'s unit (RTL)")
