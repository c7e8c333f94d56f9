"""A residual Add of two branches whose scales are not related by a power of two (Brevitas: a float add of two
QuantTensors with their own float scales, then a quantizer).

QONNX evaluates y = fl(fl(a * s0) + fl(b * s1)) in float32 (a, b the branch levels), then the float ops and the
quantizer: the output level is L(a, b), defined on the few (a, b) pairs the two branch datatypes allow. An AddStreams
with integer multipliers computes acc = a * m0 + b * m1; its thresholds reproduce L exactly iff L is a
non-decreasing function of acc over every pair (equal acc, equal L). The cheapest such (m0, m1) is searched among
the best rational approximations of s0 / s1 (continued-fraction convergents and semi-convergents, smallest
multipliers first; the exact ratio of the two float32 scales is the last of them), checked on the whole pair table,
and the thresholds are read off the table: exact for every input by construction. When no pair of multipliers up
to 2^16 orders the table (QONNX's float32 rounding inverts two sums across a quantizer step), the Add is refused,
naming it.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from diagnostics.errors import CompileError

MAX_MULT = 1 << 16


def candidates(ratio: float, limit: int = MAX_MULT) -> list[tuple[int, int]]:
    """(m0, m1) with m0 / m1 approximating `ratio` = s0 / s1, smallest denominators first: the convergents and
    semi-convergents of its continued fraction (the best rational approximations), both terms <= limit."""
    x = Fraction(ratio)
    out: list[tuple[int, int]] = []
    h0, k0, h1, k1 = 0, 1, 1, 0          # convergents p(-2)/q(-2), p(-1)/q(-1)
    rest = x
    while True:
        a = rest.numerator // rest.denominator
        for t in range(max(1, (a + 1) // 2), a + 1):     # semi-convergents, then the convergent (t = a)
            h, k = t * h1 + h0, t * k1 + k0
            if h > limit or k > limit:
                break
            if h >= 1:
                out.append((h, k))
        h0, k0, h1, k1 = h1, k1, a * h1 + h0, a * k1 + k0
        frac = rest - a
        if frac == 0 or h1 > limit or k1 > limit:
            break
        rest = 1 / frac
    seen, res = set(), []
    for h, k in sorted(out, key=lambda hk: (max(hk), hk)):
        if (h, k) not in seen:
            seen.add((h, k))
            res.append((h, k))
    return res


def pair_levels(levels_a: np.ndarray, levels_b: np.ndarray, s0: float, s1: float, f) -> np.ndarray:
    """L (|A|, |B|, C): the output level of every (a, b) pair, y = fl(fl(a s0) + fl(b s1)) through `f` (float32
    (N,) -> levels (N, C), the chain and quantizer as QONNX runs them)."""
    ya = (levels_a.astype(np.float32) * np.float32(s0)).astype(np.float32)
    yb = (levels_b.astype(np.float32) * np.float32(s1)).astype(np.float32)
    y = (ya[:, None] + yb[None, :]).astype(np.float32)
    lv = f(y.reshape(-1))
    return lv.reshape(len(levels_a), len(levels_b), -1)


def multipliers(node, levels_a: np.ndarray, levels_b: np.ndarray, L: np.ndarray, ratio: float,
                lo: int) -> tuple[tuple[int, int], np.ndarray, tuple[int, int]]:
    """The cheapest (m0, m1) whose acc = a m0 + b m1 orders the table L, its thresholds (C, hi - lo) and the acc
    range; CompileError naming `node` when none up to MAX_MULT does."""
    n_a, n_b, c = L.shape
    flat = L.reshape(-1, c)
    hi = int(flat.max(initial=lo))
    for m0, m1 in candidates(ratio):
        acc = (levels_a.astype(np.int64)[:, None] * m0 + levels_b.astype(np.int64)[None, :] * m1).reshape(-1)
        order = np.argsort(acc, kind="stable")
        acc_s, l_s = acc[order], flat[order]
        if np.any(np.diff(l_s, axis=0) < 0):
            continue
        same = np.diff(acc_s) == 0
        if np.any(same[:, None] & (np.diff(l_s, axis=0) != 0)):
            continue
        a0, a1 = int(acc_s[0]), int(acc_s[-1])
        targets = np.arange(lo + 1, hi + 1)
        idx = np.stack([np.searchsorted(l_s[:, h], targets, side="left") for h in range(c)])   # (C, T)
        thr = np.where(idx < len(acc_s), acc_s[np.minimum(idx, len(acc_s) - 1)], a1 + 1)
        return (m0, m1), thr.astype(np.int64), (a0, a1)
    raise CompileError.at(node, f"the two branch scales (ratio {ratio:.6g}) do not differ by a power of two, and no "
                          f"integer multipliers up to {MAX_MULT} reproduce QONNX's float32 sum across every quantizer "
                          "step", hint="quantize both branches with the same (power-of-two) scale")


def exact_multipliers(node, scales: list[float], what: str) -> tuple[list[int], float]:
    """Integer multipliers m_j and the unit g with scales[j] = m_j * g exactly, for a consumer that reads the branch
    values themselves (a Concat feeding a convolution), so x_j * m_j are the real values in units of g. The
    cheapest such form is the exact candidate of `candidates` (for two scales, their ratio in lowest terms): a
    cheaper approximation, which the add's table search can accept because a quantizer follows, would change the
    values a convolution sums. For float32 scales s_j = n_j / 2^E (one E), g = gcd(n_j) / 2^E, a float exactly.
    CompileError naming `node` when a multiplier would exceed MAX_MULT (scales learned independently: their ratio
    is a fraction of 24-bit terms)."""
    import math

    if min(scales) <= 0:
        raise CompileError.at(node, f"branch scales {[float(v) for v in scales]} must be positive, so {what}")
    fr = [Fraction(float(v)) for v in scales]
    den = math.lcm(*(f.denominator for f in fr))            # powers of two: float32 scales are dyadic
    num = [int(f * den) for f in fr]
    d = math.gcd(*num)
    m = [n // d for n in num]
    if max(m) > MAX_MULT:
        raise CompileError.at(node, f"the branch scales {[float(v) for v in scales]} do not differ by a power of two, "
                              f"and their exact ratio {':'.join(map(str, m)) if len(str(m)) < 80 else '(large)'} needs "
                              f"integer multipliers above {MAX_MULT}, so {what}",
                              hint="quantize the branches with scales in a small integer ratio (e.g. fixed or "
                              "power-of-two scales)")
    g = Fraction(d, den)
    assert all(mj * g == f for mj, f in zip(m, fr)) and Fraction(float(g)) == g
    return m, float(g)
