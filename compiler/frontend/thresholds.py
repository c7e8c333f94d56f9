"""Thresholds of the float ops between an accumulator and its activation quantizer.

The chain (bias, scales, BatchNorm, ReLU, then the quantizer) is monotone per output channel, so each channel's
thresholds are found by searching the accumulator range (`search_thresholds`): a coarse grid fixes each channel's
direction and checks monotonicity, then a vectorised k-ary search over (level, channel) pairs finds the first
accumulator reaching every level, and a final pass evaluates the chain at every threshold and one below it. The
chain is executed with qonnx's executor (the ONNX kernels QONNX execution uses) and the quantizer with qonnx's own
float32 ops, so the thresholds reproduce QONNX execution of the chain bit for bit. Memory is
O(levels x channels x points per round), not O(accumulator range x channels).

`exhaustive_thresholds` is the former method (every accumulator value, every channel), kept as the oracle the
tests compare the search with on small ranges.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from diagnostics.errors import CompileError

MAX_EVAL_ELEMS = 1 << 21      # chain inputs (rows x channels) per executor call
GRID_POINTS = 1025            # first pass: direction, monotonicity cross-check, brackets for the search
MONOTONE_OPS = ("Mul", "Add", "Sub", "Div", "BatchNormalization", "Relu", "Trunc")
NOT_MONOTONE_HINT = ("only monotone float ops (scales, biases, BatchNorm, ReLU) may sit between a MatMul/Conv and "
                     "its activation quantizer")


@dataclass
class Step:
    """One float op of the chain: an ONNX node (its data input named `data`) or a bias add."""

    node: object | None = None
    data: str | None = None
    bias: np.ndarray | None = None



def chain_to_quantizer(lw, start, ops: tuple[str, ...], missing: str, hint: str,
                       ends: Callable[[object], bool] | None = None,
                       reshapes: tuple[str, ...] = ()) -> tuple[list[Step], object, str]:
    """The float ops from `start`'s output to its activation quantizer, for the threshold search: (steps, the
    quantizer node, its output tensor). Identity nodes are passed over, and so are the ops in `reshapes` (e.g.
    Squeeze of a pool's unit axes) when no float op follows them (its constants would broadcast against another
    rank than the chain's); `ends(node)` accepts further quantizer nodes besides QONNX's. CompileError at `start`
    (`missing`, `hint`) when the graph output comes first, and at any op not in `ops`."""
    from compiler.frontend.quantizers import QUANT_OPS

    steps, t, reshaped = [], start.output[0], None
    while True:
        nxt = lw.consumer(t)
        if nxt is None:
            raise CompileError.at(start, missing, hint=hint)
        if nxt.op_type in QUANT_OPS or (ends is not None and ends(nxt)):
            return steps, nxt, nxt.output[0]
        if nxt.op_type in reshapes:
            reshaped = nxt
        elif nxt.op_type != "Identity":
            if nxt.op_type not in ops:
                raise CompileError.at(nxt, f"{nxt.op_type} between {start.name} and its activation quantizer is "
                                      "not supported")
            if reshaped is not None:
                raise CompileError.at(nxt, f"{nxt.op_type} after {reshaped.op_type} {reshaped.name!r} and before "
                                      "the activation quantizer is not supported",
                                      hint=f"quantize before the {reshaped.op_type}")
            steps.append(Step(node=nxt, data=t))
        t = nxt.output[0]


def unit_dims(spatial: bool | int) -> tuple[int, ...]:
    """Trailing unit dimensions of a channel vector in the QONNX tensor's rank: none for a flat tensor (False / 0),
    (1, 1) for an image (True / 2), (1,) for a 1-D signal (1)."""
    n = 2 if spatial is True else 0 if spatial is False else int(spatial)
    return (1,) * n


class Chain:
    """The chain as a small ONNX graph run by qonnx's executor on (N, MH) accumulator floats ((N, MH, 1, 1) for
    conv layers, (N, MH, 1) for 1-D convs: the rank the model's constants broadcast against); one graph per batch
    size, built once and reused by every round of the search."""

    def __init__(self, model, steps: list[Step], mh: int, spatial: bool | int):
        from compiler.frontend.quantizers import const_value

        self.model, self.steps, self.mh, self.spatial = model, steps, mh, spatial
        self.units = unit_dims(spatial)
        self.nodes, self.inits, cur = [], {}, "acc"
        for i, st in enumerate(steps):
            out = f"t{i}"
            if st.bias is not None:
                self.inits[f"b{i}"] = np.asarray(st.bias, np.float32).reshape((1, mh) + self.units)
                self.nodes.append(helper.make_node("Add", [cur, f"b{i}"], [out], name=f"bias{i}"))
            else:
                n = st.node
                _check_monotone_op(n, st.data)
                ins = []
                for j, t in enumerate(n.input):
                    if t == st.data:
                        ins.append(cur)
                    elif t == "":
                        ins.append("")
                    else:
                        v = const_value(model, t)
                        if v is None:
                            raise CompileError.at(n, f"input {t!r} is not a constant", hint="only constant scale/bias/"
                                                  "BatchNorm parameters can be folded into thresholds")
                        self.inits[f"c{i}_{j}"] = np.asarray(v)
                        ins.append(f"c{i}_{j}")
                node = helper.make_node(n.op_type, ins, [out], name=n.name, domain=n.domain)
                node.attribute.extend(n.attribute)
                self.nodes.append(node)
            cur = out
        self.out = cur
        self.by_rows: dict[int, object] = {}

    def names(self) -> list[str]:
        return [st.node.name for st in self.steps if st.node is not None]

    def _graph(self, rows: int):
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.transformation.infer_shapes import InferShapes

        if rows not in self.by_rows:
            shp = [rows, self.mh, *self.units]
            g = helper.make_graph(
                self.nodes, "chain", [helper.make_tensor_value_info("acc", TensorProto.FLOAT, shp)],
                [helper.make_tensor_value_info(self.out, TensorProto.FLOAT, None)],
                [numpy_helper.from_array(v, k) for k, v in self.inits.items()],
            )
            m = ModelWrapper(helper.make_model(g, opset_imports=list(self.model.model.opset_import)))
            self.by_rows[rows] = m.transform(InferShapes())
        return self.by_rows[rows]

    def __call__(self, acc_float: np.ndarray) -> np.ndarray:
        """float32 (N, MH) -> float32 (N, MH), in chunks of at most MAX_EVAL_ELEMS elements."""
        from qonnx.core.onnx_exec import execute_onnx

        acc_float = np.asarray(acc_float, np.float32)
        if not self.steps:
            return acc_float
        na = len(acc_float)
        rows = max(1, min(na, MAX_EVAL_ELEMS // self.mh))
        res = []
        for s in range(0, na, rows):
            chunk = acc_float[s : s + rows]
            m = self._graph(len(chunk))
            x = chunk.reshape((len(chunk), self.mh) + self.units)
            try:
                y = execute_onnx(m, {"acc": x})[self.out]
            except Exception as e:
                raise CompileError(f"evaluating the float ops {self.names()} on the accumulator range failed: "
                                   f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}") from None
            res.append(np.asarray(y, np.float32).reshape(len(chunk), self.mh))
        return np.concatenate(res)


def _check_monotone_op(node, data: str) -> None:
    """Ops whose float32 evaluation is monotone per channel (each is a correctly rounded affine map or a clamp);
    a constant divided by the data (`c / x`) is not, across zero."""
    if node.op_type not in MONOTONE_OPS:
        raise CompileError.at(node, f"{node.op_type} is not monotone in the accumulator", hint=NOT_MONOTONE_HINT)
    if node.op_type == "Div" and node.input[0] != data:
        raise CompileError.at(node, "dividing a constant by the accumulator (c / x) is not monotone in it, so it "
                              "cannot be expressed as thresholds", hint=NOT_MONOTONE_HINT)
    if node.op_type == "BatchNormalization" and list(node.input).index(data) != 0:
        raise CompileError.at(node, "the accumulator is a BatchNormalization parameter, not its data input")


def level_function(model, steps: list[Step], s_row: np.ndarray, spatial: bool | int, quant) -> Callable[[np.ndarray], np.ndarray]:
    """acc (N, MH) int64 -> the quantizer's integer levels (N, MH) int64, as QONNX computes them for an accumulator
    whose float value is float32(acc * s_row) (BIPOLAR as 0/1, i.e. the threshold count)."""
    chain = Chain(model, steps, len(s_row), spatial)
    s64 = np.asarray(s_row, np.float64)[None, :]

    def f(acc: np.ndarray) -> np.ndarray:
        y = chain((np.asarray(acc, np.float64) * s64).astype(np.float32))
        if np.isnan(y).any():
            h = int(np.flatnonzero(np.isnan(y).any(axis=0))[0])
            raise CompileError(f"the float ops {chain.names()} produce NaN for output channel {h} (e.g. a "
                               "BatchNormalization variance + epsilon <= 0)")
        lv = quant.levels(y)
        if quant.is_bipolar:
            lv = (lv + 1) / 2
        return lv.astype(np.int64)

    return f


def search_thresholds(f: Callable[[np.ndarray], np.ndarray], a0: int, a1: int, lo: int, hi: int, mh: int,
                      where) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds (MH, hi-lo) and a per-channel `negate` flag for the level function f on accumulators [a0, a1].

    Same result as exhaustive_thresholds(f(every acc), ...): a non-decreasing channel h gets, for each level L in
    lo+1..hi, the first acc with f >= L (a1 + 1 when never reached); a non-increasing one the same on -acc over
    [-a1, -a0] (the caller negates its weight row). A channel found not monotone raises a CompileError naming
    `where` (the activation node) and the channel.
    """
    nt = hi - lo
    # 1. grid: direction, monotonicity cross-check, initial brackets
    grid = np.unique(np.linspace(a0, a1, min(GRID_POINTS, a1 - a0 + 1)).round().astype(np.int64))
    gl = f(np.broadcast_to(grid[:, None], (len(grid), mh)))
    dec = gl[-1] < gl[0]
    gv = np.where(dec[None, :], gl[::-1], gl)                      # levels on ascending b (b = -acc if dec)
    _refuse_non_monotone(np.diff(gv, axis=0) < 0, where, "on a grid of the accumulator range")
    b0 = np.where(dec, -a1, a0)                                     # search domain [b0, b1] per channel
    b1 = np.where(dec, -a0, a1)
    gb = np.where(dec[None, :], -grid[::-1, None], grid[:, None])   # (G, MH) ascending b
    targets = np.arange(lo + 1, hi + 1)
    idx = np.stack([np.searchsorted(gv[:, h], targets, side="left") for h in range(mh)])   # (MH, T)
    cols = np.arange(mh)[:, None]
    hi_b = np.where(idx < len(grid), gb[np.minimum(idx, len(grid) - 1), cols], b1[:, None] + 1)
    lo_b = np.where(idx > 0, gb[np.maximum(idx - 1, 0), cols], b0[:, None] - 1)   # f(lo_b) < L (or below domain)

    # 2. k-ary search: each round evaluates k-1 points inside every open bracket (f(lo_b) < L <= f(hi_b))
    sign = np.where(dec, -1, 1)[:, None, None]
    lvl = targets[None, :, None]
    while True:
        gap = hi_b - lo_b
        if (gap <= 1).all():
            break
        k = max(2, min(256, MAX_EVAL_ELEMS // max(1, nt * mh)))
        pts = lo_b[:, :, None] + (gap[:, :, None] * np.arange(1, k)[None, None, :]) // k   # (MH, T, k-1)
        pts = np.clip(pts, b0[:, None, None], b1[:, None, None])
        acc = (sign * pts).reshape(mh, -1).T                                               # (T*(k-1), MH)
        reached = f(acc).T.reshape(mh, nt, k - 1) >= lvl
        first = reached.argmax(axis=2)
        any_r = reached.any(axis=2)
        # brackets shrink to (last point below L, first point reaching L)
        new_hi = np.where(any_r, np.take_along_axis(pts, first[:, :, None], 2)[:, :, 0], hi_b)
        below = np.where(any_r, first - 1, k - 2)
        new_lo = np.where(below >= 0, np.take_along_axis(pts, np.maximum(below, 0)[:, :, None], 2)[:, :, 0], lo_b)
        open_ = gap > 1
        hi_b, lo_b = np.where(open_, new_hi, hi_b), np.where(open_, np.maximum(new_lo, lo_b), lo_b)
    thr = hi_b
    _refuse_non_monotone(np.diff(thr, axis=1) < 0, where, "(its thresholds are not ordered)", axis_channels=0)

    # 3. check: at each threshold the level is reached, one below it is not, and both agree with the step function
    pts = np.concatenate([thr, thr - 1], axis=1)                   # (MH, 2T)
    inside = (pts >= b0[:, None]) & (pts <= b1[:, None])
    pts_c = np.clip(pts, b0[:, None], b1[:, None])
    got = f((np.where(dec[:, None], -pts_c, pts_c)).T).T           # (MH, 2T)
    want = lo + (pts_c[:, :, None] >= thr[:, None, :]).sum(axis=2)
    _refuse_non_monotone(inside & (got != want), where, "(the chain at a threshold disagrees with the search)",
                         axis_channels=0)
    return thr.astype(np.int64), dec


def _refuse_non_monotone(bad: np.ndarray, where, how: str, axis_channels: int = 1) -> None:
    chans = np.flatnonzero(bad.any(axis=1 - axis_channels))
    if chans.size:
        raise CompileError.at(where, f"output channel(s) {chans[:8].tolist()} are not monotone in the accumulator "
                              f"{how}, so they cannot be expressed as thresholds", hint=NOT_MONOTONE_HINT)


# ---- the former exhaustive method: the tests' oracle for small ranges ---------------------------------------
def eval_chain(model, steps: list[Step], acc_float: np.ndarray, spatial: bool) -> np.ndarray:
    """Run the chain on acc_float (Na, MH) (as (Na, MH, 1, 1) for conv layers); returns float32 (Na, MH)."""
    return Chain(model, steps, acc_float.shape[1], spatial)(acc_float)


def exhaustive_thresholds(f: Callable[[np.ndarray], np.ndarray], a0: int, a1: int, lo: int, hi: int, mh: int,
                          where) -> tuple[np.ndarray, np.ndarray]:
    """search_thresholds by evaluating f on every accumulator value (memory O((a1 - a0) x MH)): the oracle."""
    acc = np.arange(a0, a1 + 1, dtype=np.int64)
    return thresholds_from_levels(f(np.broadcast_to(acc[:, None], (len(acc), mh))), a0, lo, hi, where)


def thresholds_from_levels(levels: np.ndarray, a0: int, lo: int, hi: int, where) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds (MH, hi-lo) and a per-channel 'negate' flag from levels (Na, MH) on accumulators a0, a0+1, ...

    Non-decreasing channels get thresholds on acc; non-increasing ones on -acc (the caller negates the
    weight row). A channel that is neither raises a CompileError naming `where`.
    """
    g = np.asarray(levels).astype(np.int64)
    na, mh = g.shape
    d = np.diff(g, axis=0)
    inc = np.all(d >= 0, axis=0)
    dec = np.all(d <= 0, axis=0) & ~inc
    bad = np.flatnonzero(~inc & ~dec)
    if bad.size:
        raise CompileError.at(where, f"output channel(s) {bad[:8].tolist()} are not monotone in the accumulator, "
                              "so they cannot be expressed as thresholds", hint=NOT_MONOTONE_HINT)
    gn = np.where(dec[None, :], g[::-1], g)   # levels on the ascending accumulator (negated for dec)
    start = np.where(dec, -(a0 + na - 1), a0)
    targets = np.arange(lo + 1, hi + 1)
    # first accumulator index reaching each level (na when never reached -> threshold one past the range)
    idx = np.stack([np.searchsorted(gn[:, h], targets, side="left") for h in range(mh)])
    return (start[:, None] + idx).astype(np.int64), dec
