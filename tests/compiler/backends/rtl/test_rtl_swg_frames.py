"""bnnc_swg across frame boundaries: two unpadded 3x3 convolutions, the second the bottleneck. The second
window generator must take the next frame's first rows while it writes this frame's last output row; with a
line buffer of only KH+SH rows it waited for them at every frame boundary (this graph: 1.08x the modelled
cycles; CNV-W2A2 1.07x)."""
from __future__ import annotations

import numpy as np
import pytest

from rtl_check import assert_bit_exact, requires_verilator, rtl_project
import irgraphs as ig
from compiler.estimate.cost import estimate

pytestmark = requires_verilator


def two_convs():
    """8x8x4 -> conv 3x3 (8 ch, 72 cycles per pixel) -> conv 3x3 (8 ch, 192 cycles per pixel, the
    bottleneck); one element per word between them, so the FIFOs hold only a few pixels."""
    rng = np.random.default_rng(7)
    return ig.graph("swg_frames", [
        ig.swg("swg0", (8, 8, 4), (3, 3), (1, 1), (0, 0, 0, 0), "BIPOLAR", simd=4),
        ig.mvtu("mvtu1", rng, (6, 6), 36, 8, "BIPOLAR", "BIPOLAR", "BIPOLAR", pe=1, simd=4),
        ig.swg("swg2", (6, 6, 8), (3, 3), (1, 1), (0, 0, 0, 0), "BIPOLAR", simd=1),
        ig.mvtu("mvtu3", rng, (4, 4), 72, 8, "BIPOLAR", "BIPOLAR", "BIPOLAR", pe=1, simd=3)])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    g = two_convs()
    return g, rtl_project(g, tmp_path_factory.mktemp("swg_frames"))


def test_back_to_back_frames_at_the_modelled_rate(built):
    g, proj = built
    rep = assert_bit_exact(g, proj, frames=20)
    est = estimate(g, target="rtl")
    ii = max(l.cycles for l in est.layers if l.kind != "dma")
    assert est.bottleneck.name == "mvtu3"
    assert abs(rep.cycles_per_frame - ii) <= 0.02 * ii, (rep.cycles_per_frame, ii)
    assert abs(rep.latency_cycles - est.pipeline_latency) <= 0.10 * est.pipeline_latency
