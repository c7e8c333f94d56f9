"""Exactness check: the IR (via compiler.sim.simulate) against QONNX execution of the model it came from.

Runs the original file, the cleaned graph the compiler lowered, and the IR on the same inputs (user-given and
random). Integer layer outputs are compared with zero tolerance, mapped back to their QONNX tensors
(value = level * scale) so a mismatch names the first layer and node that differ. The float step after a last
layer without activation is compared within a float32 rounding bound (docs/ir.md, 'Float tail'), since QONNX's
float32 MatMul/Conv rounds partial sums the integer IR computes exactly; `exact=True` keeps zero tolerance there.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from diagnostics import progress
from diagnostics.errors import CompileError
from compiler import kinds
from compiler.ir.graph import DataflowGraph


U32 = 2.0 ** -24          # unit roundoff of float32


@dataclass
class VerifyReport:
    n_inputs: int
    output_mismatches: int = 0               # frames whose final output differs from QONNX (beyond the bound)
    cleaned_mismatches: int = 0              # frames where the cleaned ONNX graph differs from the original
    layer_mismatches: dict[str, int] = field(default_factory=dict)   # layer -> frames differing
    first_layer: str | None = None
    first_tensor: str | None = None
    checked_layers: list[str] = field(default_factory=list)
    max_abs_diff: float = 0.0                # largest |IR - QONNX| over the final float outputs
    notes: list[str] = field(default_factory=list)
    exact: bool = False                      # zero tolerance on the float tail too (--exact)
    integer_layers: list[str] = field(default_factory=list)   # compared with zero tolerance
    tail_layer: str | None = None            # the noact layer whose float output is compared within the bound
    max_bound: float = 0.0                   # largest float-tail bound (docs/ir.md, 'Float tail')
    max_diff_over_bound: float = 0.0         # max |IR - QONNX| / bound over the tail's elements (<= 1 passes)
    elements_over_bound: int = 0
    predictions_agree: int | None = None     # frames whose arg-max (or top-k) equals QONNX's
    ties: int | None = None                  # frames whose top classes lie within the bound of each other
    rounding_ties: int = 0                   # frames where QONNX's float32 rounding moved a hidden layer's step

    @property
    def ok(self) -> bool:
        return self.output_mismatches == 0 and self.cleaned_mismatches == 0 and not any(self.layer_mismatches.values())

    def summary(self) -> dict:
        ints = {n: self.layer_mismatches.get(n, 0) for n in self.integer_layers}
        return {"ok": self.ok, "status": "passed" if self.ok else "failed", "mode": "exact" if self.exact else "bounded",
                "n_inputs": self.n_inputs, "output_mismatches": self.output_mismatches,
                "cleaned_mismatches": self.cleaned_mismatches, "layer_mismatches": self.layer_mismatches,
                "first_mismatching_layer": self.first_layer, "first_mismatching_tensor": self.first_tensor,
                "checked_layers": self.checked_layers, "max_abs_diff": self.max_abs_diff,
                "integer_layers": {"checked": len(ints), "mismatching_frames": sum(ints.values()), "per_layer": ints,
                                   "rounding_ties": self.rounding_ties},
                "float_tail": None if self.tail_layer is None else {
                    "layer": self.tail_layer, "max_abs_diff": self.max_abs_diff, "bound": self.max_bound,
                    "max_diff_over_bound": self.max_diff_over_bound, "elements_over_bound": self.elements_over_bound,
                    "tolerance": "zero (--exact)" if self.exact else "float32 rounding bound (docs/ir.md)"},
                "predictions": None if self.predictions_agree is None else {
                    "agree": self.predictions_agree, "disagree": self.n_inputs - self.predictions_agree,
                    "ties": self.ties},
                "notes": self.notes}

    def describe(self) -> str:
        tail = ""
        if self.tail_layer is not None and not self.exact:
            tail = (f"; float tail within its rounding bound (max |diff| {self.max_abs_diff:.3g}, bound "
                    f"{self.max_bound:.3g})")
        if self.rounding_ties:
            tail += (f"; {self.rounding_ties} frames took another step at a float32 rounding tie in a hidden layer "
                     "(not compared further)")
        if self.predictions_agree is not None:
            tail += (f"; predictions agree on {self.predictions_agree}/{self.n_inputs}"
                     + (f" ({self.ties} ties)" if self.ties else ""))
        if self.ok:
            return (f"exact: {self.n_inputs} inputs, 0 mismatches ({len(self.integer_layers)} integer layers with "
                    f"zero tolerance{', outputs exactly' if self.exact or self.tail_layer is None else ''})" + tail)
        msg = f"{self.output_mismatches}/{self.n_inputs} outputs differ from QONNX execution"
        if self.tail_layer is not None and not self.exact and self.output_mismatches:
            msg += (f" beyond the float-tail bound ({self.elements_over_bound} elements; max |diff| "
                    f"{self.max_abs_diff:.3g} = {self.max_diff_over_bound:.3g} x the bound)")
        if self.cleaned_mismatches:
            msg += f"; the cleaned graph already differs on {self.cleaned_mismatches} inputs"
        if self.first_layer:
            msg += (f"; first mismatching layer {self.first_layer!r} (QONNX tensor {self.first_tensor!r}, "
                    f"{self.layer_mismatches[self.first_layer]} inputs)")
        elif self.output_mismatches:
            msg += (f"; all {len(self.checked_layers)} intermediate layers match, so the difference (max "
                    f"{self.max_abs_diff:.3g}) is in the last layer's float output step")
        if self.predictions_agree is not None:
            msg += f"; predictions agree on {self.predictions_agree}/{self.n_inputs} ({self.ties} ties)"
        for n in self.notes:
            msg += f"\n  note: {n}"
        return msg


class QonnxExec:
    """Runs a ModelWrapper batch by batch with qonnx's executor, returning every tensor."""

    def __init__(self, model):
        self.base = model
        self.by_batch: dict[int, object] = {}

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        from qonnx.core.onnx_exec import execute_onnx
        from qonnx.transformation.change_batchsize import ChangeBatchSize
        from qonnx.transformation.infer_shapes import InferShapes

        n = len(x)
        if n not in self.by_batch:
            self.by_batch[n] = self.base.transform(ChangeBatchSize(n)).transform(InferShapes())
        m = self.by_batch[n]
        return execute_onnx(m, {m.graph.input[0].name: x.astype(np.float32)}, return_full_exec_context=True)


def random_inputs(shape: tuple[int, ...], n: int, seed: int = 0) -> np.ndarray:
    """Uniform [0,1) images, wider Gaussian values and a few structured frames (constant, checkerboard)."""
    rng = np.random.default_rng(seed)
    half = n // 2
    x = np.concatenate([rng.random((half, *shape)), rng.normal(0, 1.5, (n - half, *shape))]).astype(np.float32)
    structured = [np.zeros(shape), np.ones(shape), np.full(shape, 0.5), -np.ones(shape),
                  (np.indices(shape).sum(axis=0) % 2).astype(np.float32)]
    return np.concatenate([x, np.stack(structured).astype(np.float32)])


def _to_ir_layout(entry: dict, values: np.ndarray) -> np.ndarray:
    """QONNX tensor batch -> IR layout (NHWC, flatten order)."""
    v = np.asarray(values)
    if entry["spatial"]:
        if v.ndim == 3:                     # a 1-D signal (N, C, L) is the image (N, C, 1, L)
            v = v[:, :, None, :]
        return v.transpose(0, 2, 3, 1)
    v = v.reshape(len(v), -1)
    return v[:, np.asarray(entry["perm"])] if entry.get("perm") is not None else v


def _as_qonnx_values(entry: dict, levels: np.ndarray) -> np.ndarray:
    """IR integers -> the float32 values QONNX holds: levels * scale, the same float32 multiply int_quant does."""
    return np.asarray(levels).astype(np.float32) * np.asarray(entry["scale"], np.float32)


def verify_graph(onnx_path: str | os.PathLike, graph: DataflowGraph, inputs: np.ndarray | None = None,
                 num_random: int = 16, seed: int = 0, cleaned=None, batch: int = 64, simulate=None,
                 exact: bool = False) -> VerifyReport:
    """Compare QONNX execution of `onnx_path` (and of `cleaned`) with simulate(graph) on the inputs.

    Every integer layer output is compared with zero tolerance. The float step after a last layer without
    activation (a noact MVTU: its accumulator times float scales, plus bias / BatchNorm) is compared within the
    float32 rounding bound of docs/ir.md ('Float tail'), or exactly with `exact`; predictions (arg-max / top-k)
    must agree except on ties within that bound."""
    from qonnx.core.modelwrapper import ModelWrapper

    from compiler.sim.hostops import run_pre

    xs = []
    if inputs is not None:
        inputs = np.asarray(inputs, np.float32)
        if tuple(inputs.shape[1:]) != tuple(graph.input.shape):
            raise CompileError(f"verify inputs have per-frame shape {inputs.shape[1:]}, the model expects "
                               f"{tuple(graph.input.shape)}")
        xs.append(inputs)
    if num_random:
        raw = graph.meta.get("raw_input")
        if raw is not None:      # --input-bits: the model's inputs are normalized B-bit pixels
            from compiler.frontend.raw_input import random_pixels

            xs.append(random_pixels(raw, tuple(graph.input.shape), num_random, seed))
        else:
            xs.append(random_inputs(tuple(graph.input.shape), num_random, seed))
    x = np.concatenate(xs) if xs else np.zeros((0, *graph.input.shape), np.float32)
    if simulate is None:
        try:
            from compiler.sim.simulate import Simulator
        except ImportError as e:
            raise CompileError(f"cannot verify: the IR simulator is not available ({e})") from None
        prepared = Simulator(graph)          # prepared once (weights, GEMM sessions), not once per batch

        def simulate(g, xb, return_all=False):
            return prepared(xb, return_all=return_all)
    orig = QonnxExec(ModelWrapper(str(onnx_path)))
    clean = QonnxExec(cleaned) if cleaned is not None else None
    rep = VerifyReport(len(x), notes=list(graph.meta.get("notes", [])), exact=exact)
    qmap = graph.meta.get("qonnx_map", {})
    rep.checked_layers = [l.name for l in graph.layers if l.name in qmap]
    ti = _tail_index(graph)
    rep.tail_layer = None if ti is None else graph.layers[ti].name
    rep.integer_layers = [n for n in rep.checked_layers if n != rep.tail_layer]
    last = graph.layers[-1]
    labels = kinds.get(last.kind).produces_labels       # the output: class indices, compared as top-k lists
    vector_out = labels or (len(graph.output.shape) == 1 and graph.output.shape[0] > 1)
    agree = ties = 0
    for s in progress.batches(len(x), batch, "verifying against QONNX execution"):
        xb = x[s : s + batch]
        ctx = orig(xb)
        ref = ctx[orig.base.graph.output[0].name]
        if clean is not None:   # the layer map names the cleaned graph's tensors
            ctx_c = clean(xb)
            rep.cleaned_mismatches += _frames_differ(ctx_c[cleaned.graph.output[0].name], ref)
            ctx = ctx_c
        out, per_layer = _simulate_all(simulate, graph, xb)
        acc_bound = scores = bound = None
        if ti is not None:
            x_in = per_layer[ti - 1] if ti > 0 else run_pre(graph.input, xb)
            acc_bound = accumulator_bound(graph.layers[ti], x_in, per_layer[ti])
            ops = graph.meta.get("label_select_scores", []) if labels else graph.output.post
            scores, bound = propagate_bound(ops, per_layer[ti], acc_bound)
        tied = np.zeros(len(xb), bool)      # frames that took another path at a proven rounding tie
        for i, (layer, y) in enumerate(zip(graph.layers, per_layer)):
            e = qmap.get(layer.name)
            if e is None:
                continue
            if e["tensor"] not in ctx:
                raise CompileError(f"cannot verify layer {layer.name!r}: QONNX tensor {e['tensor']!r} is not in the "
                                   "executed model (verify with the cleaned model the graph was lowered from)")
            ref_l = _to_ir_layout(e, ctx[e["tensor"]])
            mine = _as_qonnx_values(e, np.asarray(y).reshape(ref_l.shape))
            if i == ti and not exact:   # the tail's accumulator times its scale: within the accumulator's bound
                unit = np.abs(np.asarray(e["scale"], np.float64)).reshape(-1)
                b = acc_bound.reshape(ref_l.shape) * unit * (1 + 2 * U32) + 2 * U32 * np.abs(mine)
                d = int((_beyond(mine, ref_l, b).reshape(len(ref_l), -1).any(axis=1) & ~tied).sum())
            else:
                differ = _differ_mask(mine, ref_l) & ~tied
                if differ.any() and e.get("rounding") and not exact:
                    x_in = per_layer[i - 1] if i > 0 else run_pre(graph.input, xb)
                    tie = differ & rounding_ties(layer, e, x_in, ref_l)
                    rep.rounding_ties += int(tie.sum())
                    tied |= tie
                    differ &= ~tie
                d = int(differ.sum())
            rep.layer_mismatches[layer.name] = rep.layer_mismatches.get(layer.name, 0) + d
        if labels:
            k = math.prod(last.out_shape)
            ref_idx = np.argsort(-ref.reshape(len(ref), -1), axis=1, kind="stable")[:, :k]
            out = np.asarray(out).reshape(ref_idx.shape)
            differ = (out != ref_idx).any(axis=1)
            tie = np.zeros(len(out), bool)
            if scores is not None:
                tie = differ & _topk_ties(scores.reshape(len(out), -1), bound.reshape(len(out), -1), out, ref_idx)
            ties += int(tie.sum())
            agree += int((~differ).sum())
            rep.output_mismatches += int(((differ if exact or ti is None else differ & ~tie) & ~tied).sum())
        else:
            out = np.asarray(out).reshape(ref.shape)
            keep = ~tied                   # frames still on QONNX's path
            if len(ref) and ref.dtype.kind == "f":
                rep.max_abs_diff = max(rep.max_abs_diff, float(np.nanmax(np.abs(out[keep].astype(np.float64) -
                                                                                ref[keep]), initial=0.0)))
            if bound is not None:
                bound = np.broadcast_to(bound.reshape(len(out), -1), (len(out), out[0].size)).reshape(ref.shape)
                over = _beyond(out, ref, bound)
                over[tied] = False
                rep.elements_over_bound += int(over.sum())
                rep.max_bound = max(rep.max_bound, float(bound[keep].max(initial=0.0)))
                with np.errstate(divide="ignore", invalid="ignore"):
                    r = np.abs(out[keep].astype(np.float64) - ref[keep]) / bound[keep]
                r = np.where(np.abs(out[keep].astype(np.float64) - ref[keep]) == 0, 0.0, r)
                rep.max_diff_over_bound = max(rep.max_diff_over_bound, float(np.nanmax(r, initial=0.0)))
            if exact or bound is None:
                rep.output_mismatches += int((_differ_mask(out, ref) & ~tied).sum())
            else:
                rep.output_mismatches += int((over.reshape(len(out), -1).any(axis=1) & ~tied).sum())
            if vector_out:
                y, q = out.reshape(len(out), -1), ref.reshape(len(ref), -1)
                agree += int((y.argmax(1) == q.argmax(1)).sum())
                e = np.zeros(y.shape) if bound is None else bound.reshape(y.shape)
                ties += int(_argmax_ties(y, e).sum())
    if vector_out:
        rep.predictions_agree, rep.ties = agree, ties
    for name in rep.checked_layers:
        if rep.layer_mismatches.get(name):
            rep.first_layer, rep.first_tensor = name, qmap[name]["tensor"]
            break
    return rep


# ---- the float tail's bound (docs/ir.md, 'Float tail') --------------------------------------------------------
def _gamma(n: int) -> float:
    return n * U32 / (1 - n * U32)


def _tail_index(graph: DataflowGraph) -> int | None:
    """Index of the float tail's layer (Kind.float_tail: a noact MVTU), the last one or the one before a layer that
    produces labels (LabelSelect)."""
    i = len(graph.layers) - 1
    if kinds.get(graph.layers[i].kind).produces_labels:
        i -= 1
    lay = graph.layers[i] if i >= 0 else None
    return i if lay is not None and kinds.get(lay.kind).float_tail(lay) else None


def accumulator_bound(layer, x_in: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """Per output element, how far QONNX's float32 MatMul/Gemm/Conv result can be from acc x unit, in units of
    the accumulator: gamma(MW + 6) * sum_k |x_k| |W_hk|, plus u |acc| where acc is not a float32 integer."""
    n = len(x_in)
    mw = int(layer.attrs["MW"])
    w = np.abs(np.asarray(layer.arrays["weights"], np.float64))
    s_abs = np.abs(np.asarray(x_in, np.float64)).reshape(n, -1, mw) @ w.T          # exact: small integers
    b = _gamma(mw + 6) * s_abs.reshape(acc.shape)
    a = np.abs(np.asarray(acc, np.float64))
    return b + np.where(a >= 2.0**24, U32 * a, 0.0)


def propagate_bound(ops: list[dict], acc: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run the tail's host ops on the accumulator, carrying the bound: each float32 op on both sides adds its own
    rounding (2u|result|), scales the incoming bound, and adds the op's `tol_abs` / `tol_rel * |result|` (a step
    the host computes differently from QONNX's op, e.g. a Gemm's fused bias or BatchNorm as mul/add)."""
    y = np.asarray(acc).astype(np.float32)
    e = np.asarray(e, np.float64)
    n = len(y)
    for op in ops:
        kind = op["op"]
        if kind == "transpose":
            perm = (0, *[p + 1 for p in op["perm"]])
            y, e = y.transpose(perm), e.transpose(perm)
        elif kind == "reshape":
            y, e = y.reshape((n, *op["shape"])), e.reshape((n, *op["shape"]))
        elif kind == "gather":
            idx = np.asarray(op["index"])
            y, e = y[:, idx], e[:, idx]
        elif kind == "relu":
            y = np.maximum(y, np.float32(0))
        elif kind in ("mul", "add", "sub", "div"):
            v = np.asarray(op["value"], np.float32)
            a, b = (v, y) if op.get("reverse") else (y, v)
            y2 = {"mul": np.multiply, "add": np.add, "sub": np.subtract, "div": np.divide}[kind](a, b).astype(np.float32)
            v64 = np.abs(v.astype(np.float64))
            if kind == "mul":
                e = e * v64
            elif kind == "div":
                e = np.where(e > 0, np.inf, 0.0) if op.get("reverse") else e / v64
            y = y2
            e = e * (1 + U32) + 2 * U32 * np.abs(y.astype(np.float64)) / (1 - U32)
        else:
            raise CompileError(f"float tail: host op {kind!r} has no rounding bound")
        e = e + np.asarray(op.get("tol_abs", 0.0), np.float64) + float(op.get("tol_rel", 0.0)) * np.abs(y)
    return y, e * (1 + 2.0**-20) + 2.0**-140


def _beyond(a: np.ndarray, b: np.ndarray, bound: np.ndarray) -> np.ndarray:
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64)) | (np.abs(a64 - b64) <= bound)
    return ~same


def _argmax_ties(y: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Frames whose arg-max is not decided within the bound: another class within e_top + e_j of the top."""
    top = y.argmax(axis=1)
    rows = np.arange(len(y))
    gap = (y[rows, top][:, None].astype(np.float64) - y) - (e[rows, top][:, None] + e)
    gap[rows, top] = np.inf
    return (gap <= 0).any(axis=1)


def _topk_ties(scores: np.ndarray, e: np.ndarray, ir_idx: np.ndarray, q_idx: np.ndarray) -> np.ndarray:
    """Frames where every rank at which the IR's and QONNX's top-k differ holds two classes within the bound."""
    rows = np.arange(len(scores))[:, None]
    gap = np.abs(scores[rows, ir_idx].astype(np.float64) - scores[rows, q_idx]) - (e[rows, ir_idx] + e[rows, q_idx])
    return ((gap <= 0) | (ir_idx == q_idx)).all(axis=1)


def rounding_ties(layer, entry: dict, x_in: np.ndarray, ref_l: np.ndarray) -> np.ndarray:
    """Frames where every element of a thresholded MVTU that differs from QONNX is a rounding tie: QONNX's level
    is one the layer's thresholds give for some accumulator within the float32 bound of the exact one
    (γ(MW+6) · (Σ|x||W| + |bias|/unit), plus one unit each side), so QONNX's float32 MatMul/Conv rounding, not
    the IR, decided the step. Only for layers the front end marked (`rounding`: non-power-of-two scales or an
    accumulator beyond 2^24)."""
    n = len(ref_l)
    mw = int(layer.attrs["MW"])
    w = np.asarray(layer.arrays["weights"], np.int64)
    xi = np.asarray(x_in, np.int64).reshape(n, -1, mw)
    acc = (xi @ w.T).reshape(ref_l.shape)
    s_abs = (np.abs(xi).astype(np.float64) @ np.abs(w).T.astype(np.float64)).reshape(ref_l.shape)
    e = _gamma(mw + 6) * (s_abs + np.asarray(entry["rounding"]["acc_slack"], np.float64)) + U32 * np.abs(acc)
    a_lo = np.floor(acc - e).astype(np.int64) - 1
    a_hi = np.ceil(acc + e).astype(np.int64) + 1
    thr = np.asarray(layer.arrays["thresholds"], np.int64)
    count = lambda a: (a[..., None] >= thr).sum(axis=-1)            # noqa: E731  (thr broadcasts over channels)
    lv = np.round(np.asarray(ref_l, np.float64) / np.asarray(entry["scale"], np.float64)).astype(np.int64)
    q = (lv + 1) // 2 if layer.out_dtype == "BIPOLAR" else lv - int(layer.attrs["out_bias"])
    ok = (count(a_lo) <= q) & (q <= count(a_hi))
    return ok.reshape(n, -1).all(axis=1)


def _differ_mask(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return np.ones(len(b), bool)
    same = (a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f" and b.dtype.kind == "f" else a == b
    return ~same.reshape(len(b), -1).all(axis=1)


def _frames_differ(a: np.ndarray, b: np.ndarray) -> int:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return len(b)
    same = (a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f" and b.dtype.kind == "f" else a == b
    return int((~same.reshape(len(b), -1).all(axis=1)).sum())


def _simulate_all(simulate, graph: DataflowGraph, x: np.ndarray):
    """simulate(..., return_all=True) -> (final output, per-layer integer outputs)."""
    res = simulate(graph, x, return_all=True)
    if isinstance(res, tuple) and len(res) == 2:
        return res
    if isinstance(res, dict):
        return res["output"], res["layers"]
    from compiler.sim.hostops import run_post

    res = list(res)
    return run_post(graph.output, res[-1]), res
