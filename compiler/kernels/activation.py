"""Multi-threshold activation, shared by the MVTU and Thresholding kinds (docs/ir.md "Thresholds").

The golden-model kernels (checking/preparing a threshold array and applying it) and the FINN convention for
binary layers (thresholds in the popcount domain).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from compiler.ir.datatypes import ValueRange, signed_bits
from compiler.kernels.simthreads import split_rows
from diagnostics.errors import IRError

if TYPE_CHECKING:     # the kinds' layer protocol, for annotations only: kernels sit below the kinds
    from compiler.kinds.base import LayerData

#: thresholds per channel up to which `activate` counts with one comparison pass per threshold (else searchsorted)
COUNT_PASSES = 8


def popcount_thresholds(thresholds: np.ndarray, mw: int) -> np.ndarray:
    """acc-domain thresholds of an XNOR MVTU -> popcount domain: acc >= T  <=>  popcount >= ceil((T + MW) / 2).

    (acc = 2*popcount - MW.) The HLS library stores these; the simulator compares against them too.
    """
    t = np.asarray(thresholds, np.int64) + int(mw)
    return -((-t) // 2)


def threshold_plan(layer: LayerData, channels: int, where: str, to_popcount: int | None = None) -> dict:
    t = layer.arrays.get("thresholds")
    if t is None:
        raise IRError(f"{where}: has no thresholds array (set noact for an accumulator output)")
    t = np.asarray(t)
    if t.ndim != 2 or t.shape[0] not in (1, channels):
        raise IRError(f"{where}: thresholds have shape {t.shape}, expected ({channels}, T) or (1, T)")
    if t.dtype.kind not in "iu":
        raise IRError(f"{where}: thresholds must be integers, got {t.dtype}")
    t = t.astype(np.int64)
    if t.shape[1] > 1 and np.any(np.diff(t, axis=1) < 0):
        raise IRError(f"{where}: threshold rows must be sorted ascending")
    if layer.out_dtype == "BIPOLAR" and t.shape[1] != 1:
        raise IRError(f"{where}: a BIPOLAR output needs exactly one threshold per channel, got {t.shape[1]}")
    if to_popcount is not None:
        t = popcount_thresholds(t, to_popcount)
    return {"t": t, "bipolar": layer.out_dtype == "BIPOLAR", "bias": int(layer.attrs.get("out_bias", 0))}


def compact(a: np.ndarray) -> np.ndarray:
    """Smallest signed integer type that holds the values (activations are mostly int8)."""
    if not a.size:
        return a.astype(np.int8)
    lo, hi = int(a.min()), int(a.max())
    for t in (np.int8, np.int16, np.int32):
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return a.astype(t, copy=False)
    return a.astype(np.int64, copy=False)


def activate(acc: np.ndarray, thr: dict) -> np.ndarray:
    """count[h] = #{t : acc[h] >= T[h, t]}; BIPOLAR -> 2*count - 1, else out_bias + count."""
    t = thr["t"]
    nt = t.shape[1]
    if acc.dtype.kind == "f":
        # integer-valued floats below 2**p in magnitude (compiler.kinds.mvtu.exact_matmul_plan): thresholds
        # beyond +-2**p compare the same once clipped there, and the clipped ones are exact in that type
        lim = 2 ** (np.finfo(acc.dtype).nmant + 1)
        t = np.clip(t, -lim, lim)
    elif acc.dtype != np.int64 and not (np.iinfo(acc.dtype).min <= t.min() and t.max() <= np.iinfo(acc.dtype).max):
        acc = acc.astype(np.int64)
    lo_out, hi_out = (-1, 1) if thr["bipolar"] else (thr["bias"], thr["bias"] + nt)
    if 1 <= nt <= COUNT_PASSES and -128 <= lo_out and hi_out <= 127:     # every BIPOLAR output takes this path
        return _count_int8(acc, _columns(thr, t, acc.dtype), thr["bipolar"], thr["bias"])
    t = t.astype(acc.dtype)                 # compare in the accumulator's own type (no int64 temporaries)
    if nt == 1:
        return compact((acc >= t[:, 0]).astype(np.int64) + thr["bias"])
    if nt <= 8:
        count = np.zeros(acc.shape, np.int16)
        for j in range(nt):
            count += acc >= t[:, j]
    elif t.shape[0] == 1:
        count = np.searchsorted(t[0], acc, side="right")
    else:
        # one searchsorted over all rows: shift row h's thresholds and values into [h*R, (h+1)*R), so a value
        # only lands among its own row's thresholds; count = position - h*T
        t = t.astype(np.int64)
        acc = acc.astype(np.int64)
        lo = min(int(t.min()), int(acc.min(initial=0)))
        span = max(int(t.max()), int(acc.max(initial=0))) - lo + 1
        rows = np.arange(t.shape[0], dtype=np.int64)
        flat = ((t - lo) + rows[:, None] * span).ravel()
        count = np.searchsorted(flat, (acc - lo) + rows * span, side="right") - rows * nt
    return compact(count.astype(np.int64) + thr["bias"])


def _columns(thr: dict, t: np.ndarray, dtype: np.dtype) -> list[np.ndarray]:
    """The thresholds as contiguous per-threshold columns in the accumulator's type, cached in the plan `thr`
    (one conversion per layer and type, not per batch)."""
    cache = thr.setdefault("columns", {})
    key = np.dtype(dtype).str
    if key not in cache or cache[key][0] is not thr["t"]:          # a copy of the plan with other thresholds
        cache[key] = (thr["t"], [np.ascontiguousarray(t[:, j], dtype) for j in range(t.shape[1])])
    return cache[key][1]


def _count_int8(acc: np.ndarray, cols: list[np.ndarray], bipolar: bool, bias: int) -> np.ndarray:
    """`activate` when the outputs fit int8: count in place in the int8 output, one comparison pass per threshold,
    the row halves on both cores (split_rows); the same values as the general path, with no wide temporaries."""
    out = np.empty(acc.shape, np.int8)

    def rows(s: slice) -> None:
        a, o = acc[s], out[s]
        np.greater_equal(a, cols[0], out=o.view(np.bool_))          # 0/1 bytes
        if len(cols) > 1:
            ge = np.empty(a.shape, np.bool_)
            for c in cols[1:]:
                np.greater_equal(a, c, out=ge)
                np.add(o, ge.view(np.int8), out=o)
        if bipolar:
            np.add(o, o, out=o)
            np.subtract(o, np.int8(1), out=o)
        elif bias:
            np.add(o, np.int8(bias), out=o)

    if acc.ndim > 1:
        split_rows(rows, len(acc), acc.size)
    else:
        rows(slice(None))
    return out


def activation_range(thr: dict) -> ValueRange:
    """Values `activate` can return: +-1 for BIPOLAR, else out_bias + [0, T]."""
    if thr["bipolar"]:
        return ValueRange(-1, 1, True)
    lo, hi = thr["bias"], thr["bias"] + int(thr["t"].shape[1])
    return ValueRange(lo, hi, lo > 0 or hi < 0)


def n_thresholds(layer: LayerData) -> int:
    """Thresholds per channel of a layer (1 when the array is absent: the cost model's assumption)."""
    return int(layer.arrays["thresholds"].shape[1]) if "thresholds" in layer.arrays else 1


MAX_THRESHOLD_BITS = 64        # thresholds are `long long` in the C-sim twin and at most 64-bit RTL constants


def threshold_table(layer: LayerData, channels: int, popcount_mw: int | None = None) -> tuple[int, np.ndarray]:
    """(signed bits, int64 (PE, channels/PE, T)) thresholds in the order and domain the hardware compares.

    [p][nf][t] is channel nf*PE + p; an XNOR MVTU's thresholds (`popcount_mw` = MW) are moved to the popcount
    domain. Shared by the HLS and RTL backends, so both hold the same constants.
    """
    t = np.asarray(layer.arrays["thresholds"])
    if t.ndim != 2 or t.shape[0] not in (1, channels) or t.dtype.kind not in "iu":
        raise IRError(f"layer {layer.name!r} ({layer.kind}): thresholds must be integers of shape ({channels}, T) "
                      f"or (1, T), got {t.dtype} {t.shape}")
    t = np.broadcast_to(t.astype(np.int64), (channels, t.shape[1]))
    if popcount_mw is not None:
        t = popcount_thresholds(t, popcount_mw)
    if layer.out_dtype == "BIPOLAR" and t.shape[1] != 1:
        raise IRError(f"layer {layer.name!r}: a BIPOLAR output needs exactly one threshold per channel, "
                      f"got {t.shape[1]}")
    tb = signed_bits(int(t.min()), int(t.max()))
    if tb > MAX_THRESHOLD_BITS:
        raise IRError(f"layer {layer.name!r}: thresholds span [{t.min()}, {t.max()}], wider than "
                      f"{MAX_THRESHOLD_BITS} bits")
    pe = layer.pe
    return tb, np.ascontiguousarray(t.reshape(channels // pe, pe, t.shape[1]).transpose(1, 0, 2))
