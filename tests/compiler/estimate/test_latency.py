"""compiler.estimate.latency: first-frame latency through the stream DAG (docs/cost_model.md "Latency"); measured
against rtlsim in tests/compiler/backends/rtl/test_rtl_residual.py and test_rtl_swg_frames.py."""
import numpy as np
import irgraphs

from compiler import kinds
from compiler.estimate.cost import estimate
from compiler.estimate.latency import pipeline_latency


def test_join_waits_for_the_longer_branch_not_the_sum():
    g = irgraphs.residual()              # dup0 -> (swg1 -> mvtu2 | thr3) -> add4
    cyc = {l.name: c.cycles for l, c in zip(g.layers, estimate(g).layers)}
    base = pipeline_latency(g, cyc)
    assert max(cyc.values()) < base < sum(cyc.values())
    # a slower skip branch that still ends before the conv branch changes nothing; a slower conv branch does
    assert pipeline_latency(g, {**cyc, "thr3": 2 * cyc["thr3"]}) == base
    assert pipeline_latency(g, {**cyc, "mvtu2": 2 * cyc["mvtu2"]}) > base


def test_a_fast_stage_behind_the_bottleneck_adds_its_drain_not_its_cycles():
    rng = np.random.default_rng(0)
    a = irgraphs.mvtu("a", rng, (4,), 64, 32, "BIPOLAR", "BIPOLAR", "BIPOLAR", pe=1, simd=1)    # 4*32*64 cycles
    b = irgraphs.mvtu("b", rng, (4,), 32, 16, "BIPOLAR", "BIPOLAR", "BIPOLAR", pe=8, simd=8)    # 4*2*4 cycles
    one, two = irgraphs.graph("one", [a]), irgraphs.graph("two", [a, b])
    cyc = {l.name: c.cycles for l, c in zip(two.layers, estimate(two).layers)}
    drain = kinds.get("MVTU").drain_cycles(b, cyc["b"])
    assert drain < cyc["b"]
    assert pipeline_latency(two, cyc) == pipeline_latency(one, cyc) + drain
