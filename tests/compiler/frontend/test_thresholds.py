"""The threshold search equals the exhaustive method (the oracle) and never evaluates the whole range."""
import numpy as np
import pytest

from diagnostics.errors import CompileError
from compiler.frontend import thresholds as T


class Node:
    name, op_type = "Quant_7", "Quant"


def step_function(thr: np.ndarray, dec: np.ndarray, lo: int, calls: list | None = None):
    """Level function with the given per-channel thresholds (on acc, or on -acc where dec)."""
    def f(acc):
        acc = np.asarray(acc)
        if calls is not None:
            calls.append(acc.size)
        b = np.where(dec[None, :], -acc, acc)
        return lo + (b[:, :, None] >= thr[None, :, :]).sum(axis=2)
    return f


@pytest.mark.parametrize("seed", range(6))
def test_search_equals_exhaustive_on_random_steps(seed):
    rng = np.random.default_rng(seed)
    mh, lo, hi = int(rng.integers(1, 9)), int(rng.integers(-4, 1)), 0
    hi = lo + int(rng.integers(1, 8))
    a1 = int(rng.integers(1, 3000))
    a0 = -a1
    thr = np.sort(rng.integers(a0 - 5, a1 + 6, size=(mh, hi - lo)), axis=1)   # some outside the range
    thr[0] = a1 + 1 if mh > 1 else thr[0]                                      # a constant channel
    dec = rng.random(mh) < 0.5
    f = step_function(thr, dec, lo)
    want = T.exhaustive_thresholds(f, a0, a1, lo, hi, mh, Node())
    got = T.search_thresholds(f, a0, a1, lo, hi, mh, Node())
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_wide_range_is_searched_not_enumerated():
    """2^31-wide accumulator, 255 levels x 64 channels: no call evaluates more than MAX_EVAL_ELEMS points, and the
    total is a small fraction of what enumeration would need."""
    rng = np.random.default_rng(0)
    mh, lo, hi, a1 = 64, 0, 255, 2**30
    thr = np.sort(rng.integers(-a1, a1, size=(mh, hi - lo)), axis=1)
    dec = np.arange(mh) % 2 == 1
    calls: list[int] = []
    got, neg = T.search_thresholds(step_function(thr, dec, lo, calls), -a1, a1, lo, hi, mh, Node())
    assert np.array_equal(got, thr) and np.array_equal(neg, dec)
    assert max(calls) <= T.MAX_EVAL_ELEMS and sum(calls) < 2 * a1 * mh / 1000


def test_non_monotone_channel_is_named():
    def f(acc):   # channel 1 goes up then down over the range; channel 0 is fine
        acc = np.asarray(acc)
        return np.stack([(acc[:, 0] >= 3).astype(np.int64), ((acc[:, 1] > -50) & (acc[:, 1] < 50)).astype(np.int64)], 1)

    with pytest.raises(CompileError, match=r"Quant_7.*channel\(s\) \[1\]"):
        T.search_thresholds(f, -100, 100, 0, 1, 2, Node())


def test_reverse_division_is_refused_by_name():
    """c / acc is not monotone across zero: refused from the op itself, before any evaluation."""
    from onnx import helper

    step = T.Step(node=helper.make_node("Div", ["c", "x"], ["y"], name="Div_3"), data="x")
    with pytest.raises(CompileError, match=r"Div_3.*c / x"):
        T.Chain(None, [step], 4, False)


def test_old_exhaustive_reader_still_names_channel():
    levels = np.array([[0, 1], [1, 1], [0, 1]])           # channel 0 goes up then down
    with pytest.raises(CompileError, match="Quant_7.*channel.*\\[0\\]"):
        T.thresholds_from_levels(levels, -1, 0, 1, Node())


@pytest.mark.parametrize("case", ["mlp_w2a2_bias_bn_neg", "cnn_w1a2_in8_bias"])
def test_lowering_matches_exhaustive_oracle(tmp_path, monkeypatch, case):
    """The real QONNX chains (bias, BatchNorm with both signs of gamma, quantizer): every threshold of the lowered
    graph is the one the exhaustive evaluation gives."""
    from brevitas_models import cnn, export, mlp
    from compiler.frontend.ingest import load_model
    from compiler.frontend.lower import lower
    import importlib

    lower_mod = importlib.import_module("compiler.frontend.lower")

    if case.startswith("mlp"):
        path = export(mlp(2, 2, bias=True, seed=13, negative=True), tmp_path / "m.onnx", (20,))
    else:
        path = export(cnn(1, 2, in_bits=8, bias=True, seed=5, negative=True), tmp_path / "m.onnx", (2, 8, 8))
    searched = lower(load_model(path), "m")
    monkeypatch.setattr(lower_mod, "search_thresholds", T.exhaustive_thresholds)
    oracle = lower(load_model(path), "m")
    n = 0
    for a, b in zip(searched.layers, oracle.layers):
        assert set(a.arrays) == set(b.arrays)
        for k in a.arrays:
            assert np.array_equal(a.arrays[k], b.arrays[k]), (a.name, k)
        n += "thresholds" in a.arrays
    assert n >= 2
