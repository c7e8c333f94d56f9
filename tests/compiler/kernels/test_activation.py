"""The multi-threshold activation counts exactly (docs/ir.md "Thresholds") on every path: the in-place int8 count,
its row halves on two threads, and the general path for wide outputs or many thresholds."""
import numpy as np
import pytest

import compiler.kinds  # noqa: F401  (first: compiler.kernels.activation reads kinds.base, whose package loads it)
from compiler.kernels import simthreads
from compiler.kernels.activation import activate


def naive(acc: np.ndarray, t: np.ndarray, bipolar: bool, bias: int) -> np.ndarray:
    t = np.broadcast_to(t, (acc.shape[-1], t.shape[1])).astype(np.int64)
    count = (acc.astype(np.int64)[..., None] >= t).sum(-1)
    return 2 * count - 1 if bipolar else count + bias


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("dt", [np.int8, np.int16, np.uint16, np.int32, np.int64, np.float32, np.float64])
def test_counts_like_the_definition(dt, split, monkeypatch):
    rng = np.random.default_rng(np.dtype(dt).num)
    if split:                      # two threads, every call split into row halves
        monkeypatch.setenv("BNNC_SIM_THREADS", "2")
        monkeypatch.setattr(simthreads, "SPLIT_MIN_ELEMENTS", 0)
        calls = []
        real = simthreads.map_rows
        monkeypatch.setattr(simthreads, "map_rows", lambda fn, parts, th: calls.append(len(parts)) or real(fn, parts, th))
    info = np.finfo(dt) if np.dtype(dt).kind == "f" else np.iinfo(dt)
    lo, hi = max(int(info.min), -3000), min(int(info.max), 3000)
    for nt, bias, bipolar, shared in [(1, 0, True, False), (1, -1, False, False), (3, -2, False, False),
                                      (3, 0, False, True), (8, 120, False, False), (9, 0, False, False),
                                      (2, 126, False, False), (4, -130, False, False)]:
        acc = rng.integers(lo, hi + 1, (57, 23)).astype(dt)
        t = np.sort(rng.integers(-3100, 3100, (1 if shared else 23, nt)), axis=1)
        t[0, 0] = int(acc[0, 0])                                   # equality counts (>=)
        t.sort(axis=1)
        y = activate(acc, {"t": t, "bipolar": bipolar, "bias": bias})
        ref = naive(acc, t, bipolar, bias)
        assert np.array_equal(y, ref), (nt, bias, bipolar)
        assert y.dtype == (np.int8 if ref.min() >= -128 and ref.max() <= 127 else y.dtype)
    if split:
        assert calls and set(calls) == {2}


def test_plan_reused_with_other_thresholds():
    """The per-dtype threshold columns cached in a plan follow a copy of the plan with other thresholds."""
    acc = np.arange(-10, 10, dtype=np.int32).reshape(4, 5)
    thr = {"t": np.zeros((5, 1), np.int64), "bipolar": False, "bias": 0}
    assert np.array_equal(activate(acc, thr), acc >= 0)
    other = dict(thr, t=np.full((5, 1), 3))
    assert np.array_equal(activate(acc, other), acc >= 3)
