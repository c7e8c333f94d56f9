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


def test_estimate_rejects_unknown_target():
    """The cost targets are the HLS templates (the default) and the RTL library (tests/compiler/backends/rtl/
    test_rtl_cost.py)."""
    with pytest.raises(ValueError, match="unknown cost target 'vhdl'"):
        estimate(graph(mvtu()), target="vhdl")
