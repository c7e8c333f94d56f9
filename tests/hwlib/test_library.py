"""The HLS library, C-simulated with g++, equals the NumPy simulator bit for bit on hand-built graphs that
cover padding (non-zero pad value, asymmetric, BIPOLAR widened to INT2), strides, both max-pool variants
(overlapping; disjoint in floor mode), width converters (2->8, 3->2, 16->32, ...), >64-bit weight words,
XNOR and MAC MVTUs on words up to 448 bits (elements straddling the C-sim's 64-bit limbs), Thresholding and LabelSelect with ties. One g++ build per graph per session."""
import re

import numpy as np
import pytest

import irgraphs
from compiler.backends.hls.project import generate_project
from compiler.backends.hls.csim import check_csim, compile_csim, run_csim
from compiler.sim.ir_inputs import random_inputs
from compiler.sim.simulate import simulate_layers

GRAPHS = {"conv_int": irgraphs.conv_int, "conv_bipolar": irgraphs.conv_bipolar, "ties": irgraphs.ties,
          "pools_depthwise": irgraphs.pools_depthwise, "residual": irgraphs.residual,
          "wide_words": irgraphs.wide_words, "concat": irgraphs.concat}


@pytest.fixture(scope="module", params=sorted(GRAPHS))
def built(request, tmp_path_factory):
    g = GRAPHS[request.param]()
    proj = generate_project(g, tmp_path_factory.mktemp(request.param) / "hls")
    compile_csim(proj.path)
    return g, proj


def test_bit_exact_on_random_frames(built):
    g, proj = built
    x = random_inputs(g, 48, seed=3)
    rep = check_csim(g, proj.path, x)
    assert rep.frames == 48 and rep.ok, rep.first_mismatch
    ref = simulate_layers(g, x)
    assert len({r.tobytes() for r in ref}) > 10          # the graph does not collapse to a constant


def test_frame_batches_do_not_matter(built):
    """Several bnnc_top calls (one DMA transfer each, TLAST per batch) give the same frames as one call."""
    g, proj = built
    x = random_inputs(g, 11, seed=4)
    one, _ = run_csim(proj.path, x, batch=64)
    many, _ = run_csim(proj.path, x, batch=3)
    assert np.array_equal(one, many)


def test_plan_covers_the_intended_corners(built):
    """Guard against the graphs drifting into easy cases: converters and layer variants really occur."""
    g, proj = built
    stages = proj.meta["stages"]
    converters = {(s["in_elems"], s["out_elems"]) for s in stages if s["kind"] == "convert"}
    top = (proj.path / "src" / "top.cpp").read_text()
    if g.name == "conv_int":
        assert {(2, 8), (3, 2), (2, 3), (3, 24)} <= converters
        assert "maxpool_overlapping" in top and "BNNC_WIDE(96," in "".join(
            p.read_text() for p in (proj.path / "src" / "params").glob("*.hpp"))
    if g.name == "conv_bipolar":
        assert "maxpool_disjoint" in top and "bnnc::Bipolar, bnnc::SInt<2>, 0>" in top   # widened padding
        assert {(16, 32), (8, 128)} <= converters
    if g.name == "wide_words":
        assert "mvtu<112, 48, 56, 4, 2, bnnc::SInt<8>, bnnc::Bipolar" in top and "bnnc::SInt<3>, bnnc::SInt<5>" in top
        assert "mvtu<200, 6, 200, 2, 2, bnnc::Bipolar, bnnc::Bipolar" in top
    if g.name == "residual":
        assert "bnnc::duplicate<" in top and "bnnc::add_streams<" in top and {(2, 4), (2, 6)} <= converters
    if g.name == "concat":
        assert "bnnc::concat_streams<6, 4, 2, 25, bnnc::UInt<2>, bnnc::SInt<3>, bnnc::SInt<4>, 1, 0>" in top
    if g.name == "pools_depthwise":
        assert {(2, 4), (4, 2), (2, 8), (8, 1)} <= converters
        assert "bnnc::vvau<" in top and "bnnc::avgpool<" in top and ", true, 0>(s" in top   # a noact VVAU


def test_label_select_ties_go_to_the_lower_index(built):
    g, proj = built
    if g.name != "ties":
        pytest.skip("only the ties graph is built to produce ties")
    x = random_inputs(g, 64, seed=5)
    _, outs = simulate_layers(g, x, return_all=True)
    values = outs[-2].reshape(64, -1)
    got, _ = run_csim(proj.path, x)
    picked = np.take_along_axis(values, got, axis=1)
    assert np.all(np.diff(picked, axis=1) <= 0)                       # descending values
    tied = np.diff(picked, axis=1) == 0
    assert tied.sum() > 50                                              # ties really occur ...
    assert np.all(np.diff(got, axis=1)[tied] > 0)                       # ... and go to the lower index first


def test_a_flipped_weight_bit_is_detected(tmp_path):
    """The comparison can fail: one weight bit flipped in a generated header shows up as mismatches."""
    g = irgraphs.conv_bipolar()
    proj = generate_project(g, tmp_path / "hls")
    header = next((proj.path / "src" / "params").glob("*mvtu4.hpp"))
    text = header.read_text()
    lit = re.search(r"\{\{0x([0-9a-f]+)ULL", text)          # first weight word of PE 0
    flipped = f"{{{{0x{int(lit.group(1), 16) ^ 1:x}ULL"
    header.write_text(text[: lit.start()] + flipped + text[lit.end():])
    rep = check_csim(g, proj.path, random_inputs(g, 32, seed=8))
    assert rep.mismatched_frames > 0 and rep.first_mismatch
