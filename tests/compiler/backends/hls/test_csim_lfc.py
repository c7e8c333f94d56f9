"""LFC-W1A1 with a top-3 LabelSelect, folded as in BNN-PYNQ's range (pe 32/16, simd 49..64): the g++ C-sim of
the generated HLS returns the same class indices as compiler.sim.simulate on real digits and random inputs."""
import pytest

from csim_models import build_folded, check_real_and_random

FOLDING = {"Gemm_0_mvtu": {"pe": 32, "simd": 49}, "Gemm_1_mvtu": {"pe": 32, "simd": 64},
           "Gemm_2_mvtu": {"pe": 16, "simd": 32}, "Gemm_3_mvtu": {"pe": 10, "simd": 8}}


@pytest.fixture(scope="module")
def lfc(tmp_path_factory):
    return build_folded(tmp_path_factory.mktemp("lfc"), "lfc", 1, 1, FOLDING, topk=3)


def test_lfc_top3_bit_exact(lfc, mnist_small):
    g, _, proj = lfc
    assert [l.kind for l in g.layers] == ["MVTU"] * 4 + ["LabelSelect"]
    assert (10, 1) in {(s["in_elems"], s["out_elems"]) for s in proj.meta["stages"] if s["kind"] == "convert"}
    check_real_and_random(g, proj, mnist_small(16), n_random=16)
