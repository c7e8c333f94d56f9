"""Every layer kind in Verilator against the NumPy simulator on random vectors over the whole input datatype,
at several foldings and datatypes (W1A1 XNOR, W2A2, 8-bit input), also under random backpressure."""
from __future__ import annotations

import re

import numpy as np
import pytest

import irgraphs
import stream_graphs
from rtl_check import assert_bit_exact, requires_verilator, rtl_project
from compiler.backends.rtl.verilator import run
from compiler.sim.ir_inputs import random_inputs
from compiler.sim.simulate import simulate_layers

pytestmark = requires_verilator


def _g(name, layers):
    return irgraphs.graph(name, layers)


def xnor_graph():
    """W1A1: thresholded XNOR (pe 4, simd 16), then an unfolded-input XNOR (simd 16 = MW) into a noact XNOR
    layer behind a 4 -> 2 element width converter."""
    rng = np.random.default_rng(10)
    return _g("xnor", [irgraphs.mvtu("fc0", rng, (), 64, 16, "BIPOLAR", "BIPOLAR", "BIPOLAR", pe=4, simd=16),
                       irgraphs.mvtu("fc1", rng, (), 16, 12, "BIPOLAR", "BIPOLAR", "BIPOLAR", pe=1, simd=16),
                       irgraphs.mvtu("fc2", rng, (), 12, 10, "BIPOLAR", "BIPOLAR", None, pe=2, simd=3)])


def w2a2_graph():
    """W2A2: INT2 weights on UINT2/INT2 activations, 3 thresholds, per-row and broadcast thresholds, bias; SIMD 6
    (an unbalanced adder tree), 1 and 8."""
    rng = np.random.default_rng(11)
    return _g("w2a2", [irgraphs.mvtu("fc0", rng, (), 24, 12, "UINT2", "INT2", "INT2", nt=3, out_bias=-2,
                                     pe=3, simd=6),
                       irgraphs.mvtu("fc1", rng, (), 12, 8, "INT2", "INT2", "UINT2", nt=3, pe=8, simd=1,
                                     broadcast=True),
                       irgraphs.mvtu("fc2", rng, (), 8, 6, "UINT2", "INT2", None, pe=2, simd=8)])


def int8_graph():
    """8-bit input: INT8 x BIPOLAR weights -> BIPOLAR (a first layer), and UINT8 x INT4 -> accumulator."""
    rng = np.random.default_rng(12)
    return _g("int8", [irgraphs.mvtu("fc0", rng, (), 56, 16, "INT8", "BIPOLAR", "BIPOLAR", pe=8, simd=7)]), \
        _g("uint8", [irgraphs.mvtu("fc0", rng, (2,), 20, 6, "UINT8", "INT4", None, pe=3, simd=5)])


def swg_graph():
    """Asymmetric padding with a non-zero pad value, stride 2x1, 2 channels per word."""
    return _g("swg", [irgraphs.swg("swg0", (7, 6, 4), (3, 2), (2, 1), (1, 0, 2, 1), "INT4", pad_value=-3, simd=2)])


def maxpool_graph():
    """Signed values (negative maxima): overlapping 3x2 windows at stride 1 (window generator path), then floor
    mode on both axes, 2 of 4 channels per word, a 3x2/3x3 window (disjoint windows)."""
    return _g("pool", [irgraphs.maxpool("pool_ov", (9, 6, 4), (3, 2), (1, 1), "INT4", pe=2),       # -> (7, 5, 4)
                       irgraphs.maxpool("pool0", (7, 5, 4), (2, 2), (2, 2), "INT4", pe=2),
                       irgraphs.maxpool("pool1", (3, 2, 4), (3, 2), (3, 3), "INT4", pe=4)])


CASES = {"two_adds": stream_graphs.two_adds, "xnor": xnor_graph, "w2a2": w2a2_graph, "int8": lambda: int8_graph()[0], "uint8": lambda: int8_graph()[1],
         "swg": swg_graph, "maxpool": maxpool_graph, "thresholding_labelselect": irgraphs.ties,
         "conv_bipolar": irgraphs.conv_bipolar,
         "pools_depthwise": irgraphs.pools_depthwise}


@pytest.mark.parametrize("case", sorted(CASES))
def test_kind_bit_exact(case, tmp_path):
    g = CASES[case]()
    proj = rtl_project(g, tmp_path)
    rep = assert_bit_exact(g, proj, frames=6)
    assert rep.cycles_per_frame is not None and rep.cycles_per_frame > 0
    # the same binary under random valid/ready gaps on both AXI sides (every stall path of every stage)
    assert_bit_exact(g, proj, frames=4, seed=1, stall_seed=7)


def test_wrong_weights_are_caught(tmp_path):
    """The comparison is live: one flipped weight bit in a ROM file (read at simulation start) shows up."""
    g = xnor_graph()
    proj = rtl_project(g, tmp_path)
    assert_bit_exact(g, proj, frames=4)
    rom = proj.path / "params" / "l00_fc0_weights.hex"
    lines = rom.read_text().splitlines()
    lines[0] = format(int(lines[0], 16) ^ 1, f"0{len(lines[0])}x")
    rom.write_text("\n".join(lines) + "\n")
    x = random_inputs(g, 32, seed=3)
    got, _ = run(proj, x)
    assert not np.array_equal(got, simulate_layers(g, x))


@pytest.mark.parametrize("make", [irgraphs.conv_bipolar, irgraphs.pools_depthwise, stream_graphs.two_adds],
                         ids=["linear", "pools_depthwise", "dag"])
def test_generated_rtl_lints_clean(make, tmp_path):
    """The library and a generated design (every kind, converters; a stream DAG with both AddStreams modes)
    pass verilator --lint-only -Wall as Verilog-2005."""
    import subprocess

    proj = rtl_project(make(), tmp_path)
    res = subprocess.run(["verilator", "--lint-only", "-Wall", "--default-language", "1364-2005", "-Wno-DECLFILENAME",
                          "--top-module", "bnnc_top", *proj.sources], cwd=proj.path, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert not re.search(r"%(Warning|Error)", res.stderr), res.stderr


def test_overlapping_avgpool_bit_exact(tmp_path):
    """stride < kernel and zero-padded average pools take the window-generator path (bnnc_swg -> bnnc_winacc
    sum): thresholds and noact, floor mode on the rows, asymmetric zero padding counted in the window."""
    rng = np.random.default_rng(5)
    l0 = irgraphs.avgpool("ap0", rng, (7, 6, 4), (3, 3), (2, 1), "INT4", "UINT3", nt=7, pe=2)       # -> (3, 4, 4)
    l1 = irgraphs.avgpool("ap1", rng, (3, 4, 4), (2, 2), (1, 1), "UINT3", "UINT3", nt=7, pe=4,
                          pad=(1, 0, 0, 1))                                                      # -> (3, 4, 4)
    l2 = irgraphs.avgpool("ap2", rng, (3, 4, 4), (3, 3), (2, 2), "UINT3", None, pe=4, pad=(1, 1, 1, 1))  # (2, 2, 4)
    g = _g("avg_overlap", [l0, l1, l2])
    proj = rtl_project(g, tmp_path)
    assert_bit_exact(g, proj, frames=6)
    assert_bit_exact(g, proj, frames=4, seed=1, stall_seed=7)
