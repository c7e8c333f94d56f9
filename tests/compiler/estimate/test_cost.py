"""Cost model formulas on hand-computed cases (cycles, memories, logic, DMA, width converters)."""
import numpy as np
import pytest

from compiler.estimate import cost
from compiler.estimate.cost import (CTRL_LUT, FF_PER_LUT, SHELL, XNOR_LUT_PER_LANE, Memory, bram18_count, dwc_cost,
                           estimate, fifo_luts, layer_cost, lutram_luts)
from compiler.ir.graph import Layer
from layer_builders import graph, mvtu, swg


@pytest.mark.parametrize("depth,width,n", [(512, 36, 1), (1024, 36, 2), (2304, 32, 5), (18432, 32, 36),
                                           (16384, 1, 1), (16385, 1, 2), (100, 1, 1), (416, 64, 2), (0, 5, 0)])
def test_bram18_cheapest_aspect_ratio(depth, width, n):
    assert bram18_count(depth, width) == n


def test_lutram_srl_and_memory_style():
    assert lutram_luts(36, 32) == 32 and lutram_luts(128, 8) == 16 and fifo_luts(24) == 24 and fifo_luts(8, 64) == 16
    small, big = Memory("w", 32, 32, count=3), Memory("w", 33, 32, count=3)       # 1024 vs 1056 bits
    assert (small.style, small.lut, small.bram18) == ("lutram", 96, 0)
    assert (big.style, big.lut, big.bram18) == ("bram", 0, 3)


def test_mvtu_cycles_and_xnor_resources():
    l = mvtu(mw=64, mh=32, nv=4, pe=2, simd=8)
    c = layer_cost(l)
    assert c.cycles == 4 * (32 // 2) * (64 // 8) == 512
    # per PE: popcount lanes + 8-bit accumulator + one 8-bit comparator + 1 output bit; plus control and FIFO
    logic = 2 * (XNOR_LUT_PER_LANE * 8 + 8 + 8 + 1) + CTRL_LUT["MVTU"] + fifo_luts(2)
    # weights: 2 PEs x (16*8 deep x 8 bit = 1024 bit) -> LUTRAM 2*8 each; thresholds: 2 x (16 x 8 bit) -> 8 each
    assert c.resources.lut == round(logic + 2 * 16 + 2 * 8)
    assert c.resources.ff == round(FF_PER_LUT * logic) and c.resources.bram18 == 0 and c.resources.dsp == 0
    assert [m.role for m in c.memories] == ["weights", "thresholds"]


def test_mvtu_mac_styles():
    lut_mac = layer_cost(mvtu(mw=27, mh=16, pe=4, simd=9, idt="INT8", acc="INT13"))
    dsp_mac = layer_cost(mvtu(mw=27, mh=16, pe=4, simd=9, idt="INT8", wdt="INT4", acc="INT16"))
    assert lut_mac.resources.dsp == 0 and "lut-mac" in lut_mac.notes
    assert dsp_mac.resources.dsp == 4 * 9 and "dsp-mac" in dsp_mac.notes
    noact = layer_cost(mvtu(mw=64, mh=10, pe=2, simd=8, noact=True))
    assert [m.role for m in noact.memories] == ["weights"]


def test_bnn_pynq_lfc_weight_brams_match_published_report():
    """BNN-PYNQ lfcW1A1 config.h folding: its weight memories alone are the 208 RAMB18 of the Pynq-Z1 report."""
    fold = [(832, 1024, 32, 64), (1024, 1024, 64, 32), (1024, 1024, 32, 64), (1024, 64, 16, 8)]
    brams = 0
    for mw, mh, pe, simd in fold:
        c = layer_cost(mvtu(mw=mw, mh=mh, pe=pe, simd=simd, acc="INT12"))
        brams += sum(m.bram18 for m in c.memories if m.role == "weights")
    assert brams == 208


@pytest.mark.parametrize("pad,expected", [((0, 0, 0, 0), 30 + 3 * 54), ((1, 1, 1, 1), 42 + 5 * 90)])
def test_sliding_window_cycles(pad, expected):
    # fill = KH*Wp*C/simd; each output row: max(OW*K*K*C/simd, SH*Wp*C/simd)
    c = layer_cost(swg(h=5, c=4, simd=2, pad=pad))
    assert c.cycles == expected
    assert c.memories[0].count == 4 and c.memories[0].depth == (5 + pad[1] + pad[3]) * 2


def test_other_layer_cycles():
    mp = Layer("p", "MaxPool", (4, 4, 8), (2, 2, 8), "BIPOLAR", "BIPOLAR",
               dict(ifm_dim=[4, 4], channels=8, kernel=[2, 2], stride=[2, 2], ofm_dim=[2, 2]), {}, {"pe": 2})
    th = Layer("t", "Thresholding", (9, 16), (9, 16), "INT8", "UINT2", dict(num_channels=16, num_vectors=9, out_bias=0),
               {"thresholds": np.zeros((16, 3), np.int64)}, {"pe": 4})
    ls = Layer("l", "LabelSelect", (10,), (1,), "INT8", "UINT4", dict(num_labels=10, k=1))
    assert [layer_cost(x).cycles for x in (mp, th, ls)] == [4 * 4 * 8 // 2, 9 * 16 // 4, 10]


def test_graph_estimate_ii_fps_latency_and_dma():
    a = mvtu("a", mw=784, mh=64, pe=4, simd=16)        # 16*49 = 784 cycles
    b = mvtu("b", mw=64, mh=64, pe=4, simd=8)          # 16*8 = 128 cycles
    g = graph(a, b)
    est = estimate(g, clock_mhz=200.0, dma_bits=64)
    names = [l.name for l in est.layers]
    assert names == ["a", "b", "dma"]
    dma = est.layers[-1]
    assert dma.cycles == 13          # 49 words of 16 bits = 784 bits in 64-bit beats; output 16 x 1 byte smaller
    assert est.ii_cycles == 784 and est.bottleneck.name == "a"
    # latency (compiler.estimate.latency): a's 49 input words arrive in cycles 0..48, then its 15 further neuron folds
    # of 49 steps (+2 pipeline) -> last output at 785; b needs all 64 of them, then its own 15 folds of 8
    # steps (+2) -> 907; +1 (first to last word inclusive), + the DMA stage
    assert est.fps == pytest.approx(200e6 / 784) and est.pipeline_latency == (48 + 15 * 49 + 2) + 15 * 8 + 2 + 1
    assert est.latency_cycles == est.pipeline_latency + 13 < 784 + 128 + 13
    assert est.latency_us == pytest.approx(est.latency_cycles / 200.0)
    # words are padded to whole bytes: 7 bipolar elements still take a byte -> 112 bytes = 14 beats of 64 bit
    assert cost.dma_cost(graph(mvtu("p", mw=784, mh=64, simd=7)), 64).cycles == 14
    assert cost.dma_cost(graph(mvtu("p", mw=784, mh=64, simd=7)), 128).cycles == 7
    assert dma.resources == SHELL
    # a's output word has pe=4 elements, b's input word simd=8: a width converter is charged to b
    assert dwc_cost(a, b) == cost.Resources(lut=8, ff=12) and "width converter 4 -> 8 elements" in est.layers[1].notes
    assert dwc_cost(a, mvtu("c", mw=64, mh=8, simd=4)) is None


def test_estimate_rejects_bad_clock():
    with pytest.raises(ValueError, match="clock"):
        estimate(graph(mvtu()), clock_mhz=0)


def test_rtl_target_models_the_rtl_memories_and_registers():
    """estimate(target='rtl') describes hwlib/verilog: one weight ROM of NF*SF words x PE*SIMD*WB bits (BRAM18 as
    bram18_count of that shape when block RAM is cheaper for Yosys, LUT logic otherwise: RTL_ROM_BITS_PER_BRAM18),
    registers from the RTL (far fewer than the HLS FF_PER_LUT rule); the HLS estimate (the default) is unchanged."""
    from compiler.estimate.resources import RTL_ROM_LOGIC_DEPTH, bram18_count

    deep = mvtu(mw=512, mh=64, pe=4, simd=8)                  # NF*SF = 16*64 = 1024 words x 32 bits
    hls, rtl = estimate(graph(deep)).layers[0], estimate(graph(deep), target="rtl").layers[0]
    w = next(m for m in rtl.memories if m.role == "weights")
    assert (w.depth, w.width, w.count, w.style) == (1024, 32, 1, "bram")
    assert rtl.resources.bram18 == bram18_count(1024, 32) + sum(m.bram18 for m in rtl.memories if m is not w)
    assert hls.memories[0].count == 4 and hls.resources == layer_cost(deep).resources     # HLS: one memory per PE
    assert rtl.resources.ff < hls.resources.ff / 2 and rtl.cycles == hls.cycles
    shallow = mvtu(mw=64, mh=32, pe=4, simd=8)                # 8*8 = 64 words: a ROM in LUT logic
    rw = estimate(graph(shallow), target="rtl").layers[0]
    w = next(m for m in rw.memories if m.role == "weights")
    assert w.depth <= RTL_ROM_LOGIC_DEPTH and w.style == "logic" and w.bram18 == 0 and w.lut == 32
    assert rw.resources.ff >= 32                              # the ROM's synchronous read register
    # deeper than 64 words but wide: LUT logic while cheaper than its 15 RAMB18s, as Yosys 0.23 keeps CNV-W1A1's
    # Conv_2_mvtu ROM (144 words x 512 bits: 0 BRAM18, docs/rtl_backend.md)
    wide = estimate(graph(mvtu(mw=64 * 9, mh=128, pe=16, simd=32)), target="rtl").layers[0]
    w = next(m for m in wide.memories if m.role == "weights")
    assert (w.depth, w.width, w.style, w.bram18) == (144, 512, "logic", 0) and w.lut == 3 * 512
    s = estimate(graph(swg(h=8, c=4, simd=2)), target="rtl").layers[0]
    # unpadded 3x3: the last output row reads 3 rows, the next frame's first needs 3 -> 6 rows -> 8, W*C/SIMD
    assert [(m.role, m.depth) for m in s.memories] == [("line buffer", 8 * 8 * 2)]
    p = estimate(graph(swg(h=8, c=4, simd=2, pad=(1, 1, 1, 1))), target="rtl").layers[0]
    assert [(m.role, m.depth) for m in p.memories] == [("line buffer", 4 * 8 * 2)]   # padded: 2 + 2 rows, 3+1 -> 4
    with pytest.raises(ValueError, match="unknown cost target 'vhdl'"):
        estimate(graph(deep), target="vhdl")


def test_rtl_target_width_converters():
    """bnnc_dwc on the RTL target: an integer up-conversion is a shift register (a few LUTs), a down-conversion a
    K:1 mux (per input-word bit), any other ratio a shifter (several LUTs per bit); each plus the FIFO after it."""
    from compiler.estimate.cost import RTL_DWC_ANY_LUT_PER_BIT, RTL_DWC_UP_LUT
    from compiler.estimate.resources import rtl_fifo

    a = mvtu("a", mw=64, mh=16, pe=8)                        # 8 BIPOLAR elements per output word
    up = dwc_cost(a, mvtu("b", mw=16, mh=8, simd=16), "rtl")
    down = dwc_cost(a, mvtu("b", mw=16, mh=8, simd=4), "rtl")
    odd = dwc_cost(mvtu("a", mw=64, mh=12, pe=6), mvtu("b", mw=12, mh=8, simd=4), "rtl")    # 6 -> 4 elements
    assert up.lut == RTL_DWC_UP_LUT + rtl_fifo(32, 16).lut
    assert down.lut - rtl_fifo(32, 4).lut < odd.lut - rtl_fifo(32, 4).lut
    assert odd.lut == round(RTL_DWC_ANY_LUT_PER_BIT * 6) + rtl_fifo(32, 4).lut
    assert dwc_cost(a, mvtu("b", mw=16, mh=8, simd=4)) == cost.Resources(lut=8, ff=12)     # HLS rule unchanged


def test_rtl_target_integer_mvtu_is_structural():
    """Integer bnnc_mvtu: per PE a balanced tree of SIMD-1 carry-chain adders, each as wide as the sums below it
    (capped at the accumulator), LUT products unless both operands reach DSP_MIN_BITS (then one DSP48 per lane
    and no tree or product LUTs); more thresholds cost comparators."""
    from compiler.kinds.mvtu import rtl_product_luts, rtl_tree_luts

    assert rtl_tree_luts(16, 5, 9) == 8 * 6 + 4 * 7 + 2 * 8 + 9       # leaves 5 bits, root capped at AW 9
    assert rtl_tree_luts(6, 4, 12) == 7 + 6 + 6 + 5 + 5 and rtl_tree_luts(1, 4, 8) == 0
    assert rtl_product_luts("UINT2", "INT2") < rtl_product_luts("UINT3", "INT3") < rtl_product_luts("INT3", "INT4")

    def rtl(**kw):
        return estimate(graph(mvtu(mw=64, mh=32, pe=4, acc="INT12", **kw)), target="rtl").layers[0].resources

    w2a2, w2a2_wide = rtl(simd=8, idt="UINT2", wdt="INT2", odt="UINT2", n_thr=3), \
        rtl(simd=16, idt="UINT2", wdt="INT2", odt="UINT2", n_thr=3)
    assert w2a2.dsp == 0 and w2a2_wide.lut - w2a2.lut >= 4 * 8 * rtl_product_luts("UINT2", "INT2")
    assert rtl(simd=8, idt="UINT2", wdt="INT2", odt="UINT4", n_thr=15).lut > w2a2.lut
    w4a4 = rtl(simd=8, idt="INT4", wdt="INT4", odt="UINT2", n_thr=3)
    assert w4a4.dsp == 4 * 8 and w4a4.lut < w2a2.lut


def test_rtl_target_windows_and_pools():
    """The RTL sliding window overlaps frames (cycles: the slower of reader and writer, no refill term);
    an overlapping max-pool is a window generator plus bnnc_winacc (the generator's cycles and line buffer); a
    disjoint one is bnnc_pool (every input word once); VVAU weight ROMs go to block RAM only when Yosys'
    ROM cost rule says so."""
    from compiler.estimate.resources import RTL_ROM_BITS_PER_BRAM18

    s = swg(h=8, c=4, simd=2)                                 # 3x3, stride 1: 6x6 outputs of 9 * 2 words
    assert estimate(graph(s), target="rtl").layers[0].cycles == 6 * 6 * 9 * 2 < estimate(graph(s)).layers[0].cycles

    def pool(k, st):
        o = (9 - k) // st + 1
        return Layer("p", "MaxPool", (9, 9, 8), (o, o, 8), "INT4", "INT4", attrs={
            "ifm_dim": [9, 9], "channels": 8, "kernel": [k, k], "stride": [st, st], "ofm_dim": [o, o]},
            folding={"pe": 2})

    ov = estimate(graph(pool(3, 1)), target="rtl").layers[0]
    assert ov.cycles == 7 * 7 * 9 * 4 and [m.role for m in ov.memories] == ["line buffer", "partial results"]
    dj = estimate(graph(pool(3, 3)), target="rtl").layers[0]
    assert dj.cycles == 9 * 9 * 4 and [(m.role, m.depth) for m in dj.memories] == [("partial results", 3 * 4)]

    def vvau(c, pe):
        rng = np.random.default_rng(0)
        return Layer("v", "VVAU", (4, 4, 9 * c), (4, 4, c), "INT4", "UINT2", attrs={
            "channels": c, "kernel": [3, 3], "num_vectors": 16, "weight_dtype": "INT4", "acc_dtype": "INT12",
            "out_bias": 0, "noact": False}, arrays={"weights": rng.integers(-8, 8, (c, 9)),
                                                   "thresholds": np.sort(rng.integers(-50, 50, (c, 3)), 1)},
            folding={"pe": pe})

    for c, pe in ((16, 4), (512, 1)):
        w = next(m for m in estimate(graph(vvau(c, pe)), target="rtl").layers[0].memories if m.role == "weights")
        assert (w.depth, w.width) == (9 * c // pe, 4 * pe)
        assert (w.style == "bram") == (w.bits > RTL_ROM_BITS_PER_BRAM18 * bram18_count(w.depth, w.width))
    assert w.style == "bram"                                  # 4608 words x 4 bits
