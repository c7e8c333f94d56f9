"""The RTL library's cost model (compiler.backends.rtl.cost, library_cost) through compiler.estimate.cost's
target "rtl": memories, registers, width converters, the integer MVTU, windows and pools on hand-computed cases."""
import ast
from pathlib import Path

import numpy as np

from compiler.backends.rtl import cost as rtl_cost
from compiler.backends.rtl.cost import rtl_product_luts, rtl_tree_luts
from compiler.backends.rtl.library_cost import (RTL_DWC_ANY_LUT_PER_BIT, RTL_DWC_UP_LUT, RTL_ROM_BITS_PER_BRAM18,
                                                RTL_ROM_LOGIC_DEPTH, RtlMemory, rtl_fifo)
from compiler import kinds
from compiler.estimate import cost
from compiler.estimate.cost import bram18_count, dwc_cost, estimate, layer_cost
from compiler.ir.graph import Layer
from layer_builders import graph, mvtu, swg


def test_rtl_target_models_the_rtl_memories_and_registers():
    """estimate(target='rtl') describes hwlib/verilog: one weight ROM of NF*SF words x PE*SIMD*WB bits (BRAM18 as
    bram18_count of that shape when block RAM is cheaper for Yosys, LUT logic otherwise: RTL_ROM_BITS_PER_BRAM18),
    registers from the RTL (far fewer than the HLS FF_PER_LUT rule); the HLS estimate (the default) is unchanged."""
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


def test_rtl_target_width_converters():
    """bnnc_dwc on the RTL target: an integer up-conversion is a shift register (a few LUTs), a down-conversion a
    K:1 mux (per input-word bit), any other ratio a shifter (several LUTs per bit); each plus the FIFO after it."""
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


def test_rtl_memory_rules():
    """RtlMemory: "rtl-rom" is LUT logic up to 64 words, "rtl-rom-cost" while cheaper than its block RAMs (a ROM of at
    most 8 words merges into the logic it feeds), "rtl-lutram" RAM32M / RAM64M; the HLS rules are Memory's."""
    assert (RtlMemory("t", 64, 10, 1, "rtl-rom").style, RtlMemory("t", 65, 10, 1, "rtl-rom").style) == ("logic", "bram")
    assert RtlMemory("t", 8, 40, 1, "rtl-rom-cost").lut == 10                      # 0.25 LUT per bit of width
    assert RtlMemory("t", 32, 12, 1, "rtl-lutram").lut == 8 and RtlMemory("t", 128, 12, 1, "rtl-lutram").lut == 32
    big = RtlMemory("w", 33, 32, count=3)
    assert (big.style, big.lut, big.bram18) == ("bram", 0, 3) == (cost.Memory("w", 33, 32, count=3).style, 0, 3)


def test_rtl_costs_cover_known_kinds_and_default_to_hls_logic():
    """Every registered RTL cost names a kind of the registry; a kind without one (Thresholding, LabelSelect) is
    its HLS estimate with the RTL's registers per logic LUT."""
    assert set(rtl_cost.costed_kinds()) <= set(kinds.names())
    th = Layer("t", "Thresholding", (9, 16), (9, 16), "INT8", "UINT2", dict(num_channels=16, num_vectors=9,
               out_bias=0), {"thresholds": np.zeros((16, 3), np.int64)}, {"pe": 4})
    hls, rtl = layer_cost(th), layer_cost(th, "rtl")
    assert "Thresholding" not in rtl_cost.costed_kinds()
    assert rtl.resources.lut == hls.resources.lut and rtl.resources.ff < hls.resources.ff and "rtl" in rtl.notes


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
    return names


def test_rtl_cost_model_layering():
    """The RTL cost model is the bottom of the RTL backend (compiler.backends.rtl.cost says why): it imports nothing
    of the generator nor compiler.estimate.cost (which imports it for target "rtl"), and the kinds import nothing of
    the RTL backend."""
    import compiler

    root = Path(compiler.__file__).parent
    for f in ("cost.py", "library_cost.py"):
        bad = {m for m in _imports(root / "backends" / "rtl" / f)
               if m.startswith(("compiler.backends", "compiler.estimate.cost", "compiler.workflow"))
               and not m.startswith("compiler.backends.rtl.library_cost")}
        assert not bad, f"compiler/backends/rtl/{f} imports {sorted(bad)}"
    for f in sorted((root / "kinds").glob("*.py")):
        assert not {m for m in _imports(f) if m.startswith("compiler.backends.rtl")}, f
