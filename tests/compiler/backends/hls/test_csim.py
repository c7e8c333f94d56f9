"""g++ C simulation of the generated HLS for TFC-W1A1 and TFC-W2A2 (folded with pe/simd > 1, converters,
>64-bit weight words) equals compiler.sim.simulate bit for bit on real MNIST digits and random inputs; plus the
`bnnc csim` command. One g++ build per model per session."""
import pytest
from click.testing import CliRunner

from csim_models import build_folded, check_real_and_random
from bnnc import main

FOLDINGS = {
    (1, 1): {"Gemm_0_mvtu": {"pe": 16, "simd": 49}, "Gemm_1_mvtu": {"pe": 8, "simd": 16},
             "Gemm_3_mvtu": {"pe": 5, "simd": 4}},
    (2, 2): {"Gemm_0_mvtu": {"pe": 4, "simd": 56}, "Gemm_1_mvtu": {"pe": 2, "simd": 32},
             "Gemm_2_mvtu": {"pe": 64, "simd": 64}},
}


@pytest.fixture(scope="module", params=sorted(FOLDINGS), ids=lambda wa: f"tfc-w{wa[0]}a{wa[1]}")
def tfc(request, tmp_path_factory):
    w, a = request.param
    return build_folded(tmp_path_factory.mktemp(f"tfc_w{w}a{a}"), "tfc", w, a, FOLDINGS[request.param])


def test_tfc_bit_exact(tfc, mnist_small):
    g, _, proj = tfc
    check_real_and_random(g, proj, mnist_small(24), n_random=24)
    if g.layers[0].in_dtype == "INT2":
        assert "BNNC_WIDE(112," in (proj.path / "src" / "params" / "l00_Gemm_0_mvtu.hpp").read_text()


def test_cli_csim(tfc, tmp_path, mnist_small):
    import numpy as np

    g, build_dir, _ = tfc
    np.save(tmp_path / "x.npy", mnist_small(5))
    r = CliRunner().invoke(main, ["csim", str(build_dir), "--frames", "7", "--inputs", str(tmp_path / "x.npy")])
    assert r.exit_code == 0, r.output
    assert "12 frames, 0 mismatched output elements" in r.output
    assert "reused (sources unchanged)" in r.output       # same sources as the fixture's build: no recompile
