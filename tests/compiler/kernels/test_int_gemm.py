"""The onnxruntime integer GEMM of the golden model is exact where it is chosen and refused where it might not be."""
import numpy as np
import pytest

import compiler.kinds.mvtu as mvtu
from compiler.kernels.int_gemm import int_gemm
from compiler.sim.simulate import simulate_layers
from random_graphs import random_cnn, random_mlp


@pytest.mark.parametrize("lo,hi,wl,wh,dt", [(-1, 1, -1, 1, np.int8), (0, 255, -1, 1, np.int64),
                                            (-8, 7, -8, 7, np.int8), (-128, 127, -1, 1, np.int8),
                                            (-2, 1, -2, 1, np.int16), (-255, 0, -1, 1, np.int64)])
def test_exact_at_the_extremes(lo, hi, wl, wh, dt):
    rng = np.random.default_rng(hi - lo)
    w = rng.integers(wl, wh + 1, (37, 300))
    w[0], w[1] = wl, wh
    x = rng.integers(lo, hi + 1, (50, 300)).astype(dt)
    x[0], x[1] = lo, hi
    g = int_gemm(w, lo, hi, threads=1)
    assert g is not None and np.array_equal(g(x), x.astype(np.int64) @ w.T)


def test_refused_where_int16_pairs_or_int8_weights_could_overflow():
    w = np.full((4, 8), -128)
    assert int_gemm(w, -128, 127, 1) is None              # 2 * 255 * 128 > 2**15: saturating pairs
    assert int_gemm(np.full((4, 8), 300), 0, 1, 1) is None  # not int8 weights
    assert int_gemm(np.ones((4, 8)), -1000, 0, 1) is None   # input span > 255


@pytest.mark.parametrize("make", [random_mlp, random_cnn])
def test_simulator_same_with_and_without_it(make, monkeypatch):
    b = make(11)
    g, x = b.graph(), b.inputs(30)
    with_gemm = simulate_layers(g, x, return_all=True)
    monkeypatch.setattr(mvtu, "int_gemm", lambda *a, **k: None)     # NumPy kernels only
    without = simulate_layers(g, x, return_all=True)
    assert np.array_equal(with_gemm[0], without[0])
    assert all(np.array_equal(a, b_) for a, b_ in zip(with_gemm[1], without[1]))


def test_gemm_threads_follow_the_environment(monkeypatch):
    """One intra-op thread unless BNNC_SIM_GEMM_THREADS asks for more (never more than the simulator's threads);
    a 2-thread session gives the same results."""
    from compiler.kernels.simthreads import gemm_threads
    monkeypatch.setenv("BNNC_SIM_THREADS", "2")
    monkeypatch.delenv("BNNC_SIM_GEMM_THREADS", raising=False)
    assert gemm_threads() == 1
    monkeypatch.setenv("BNNC_SIM_GEMM_THREADS", "4")
    assert gemm_threads() == 2
    b = random_mlp(5)
    g, x = b.graph(), b.inputs(40)
    two = simulate_layers(g, x, return_all=True)
    monkeypatch.setenv("BNNC_SIM_GEMM_THREADS", "1")
    one = simulate_layers(g, x, return_all=True)
    assert all(np.array_equal(a, b_) for a, b_ in zip(two[1], one[1]))
