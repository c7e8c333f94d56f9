"""CNV-W1A1 at full width with FINN's CNV folding (simd 3/32, pe 1..32): the g++ C-sim of the generated HLS
(INT8 first layer on the MAC path, XNOR layers, six sliding windows, two max-pools) equals compiler.sim.simulate
bit for bit on real (padded MNIST) images and random INT8 inputs."""
import pytest

from csim_models import build_folded, check_real_and_random

FOLDING = {"Conv_0_swg": {"simd": 3}, "Conv_0_mvtu": {"pe": 16, "simd": 3},
           **{f"Conv_{i}_swg": {"simd": 32} for i in range(1, 6)},
           "Conv_1_mvtu": {"pe": 32, "simd": 32}, "MaxPool_0": {"pe": 4}, "Conv_2_mvtu": {"pe": 16, "simd": 32},
           "Conv_3_mvtu": {"pe": 16, "simd": 32}, "Conv_4_mvtu": {"pe": 4, "simd": 32},
           "Conv_5_mvtu": {"pe": 1, "simd": 32}, "Gemm_0_mvtu": {"pe": 1, "simd": 4},
           "Gemm_1_mvtu": {"pe": 1, "simd": 8}, "Gemm_2_mvtu": {"pe": 5, "simd": 1}}


@pytest.fixture(scope="module")
def cnv(tmp_path_factory):
    return build_folded(tmp_path_factory.mktemp("cnv"), "cnv", 1, 1, FOLDING, in_shape=(3, 32, 32), in_channels=3)


def test_cnv_bit_exact(cnv, mnist_small):
    g, _, proj = cnv
    assert g.layers[1].in_dtype == "INT8" and not g.layers[1].attrs["binary_xnor"]
    real = mnist_small(12, pad_to=32).repeat(3, axis=1)          # grey digits as RGB
    check_real_and_random(g, proj, real, n_random=12)
