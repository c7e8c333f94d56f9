"""Exactness check: the IR (via compiler.simulate) against QONNX execution of the model it came from.

Runs the original file, the cleaned graph the compiler lowered, and the IR on the same inputs (user-given and
random), with zero tolerance; per-layer outputs are mapped back to their QONNX tensors (value = level * scale)
so a mismatch names the first layer and node that differ.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from compiler.errors import CompileError
from compiler.ir import DataflowGraph


@dataclass
class VerifyReport:
    n_inputs: int
    output_mismatches: int = 0               # frames whose final output differs from QONNX
    cleaned_mismatches: int = 0              # frames where the cleaned ONNX graph differs from the original
    layer_mismatches: dict[str, int] = field(default_factory=dict)   # layer -> frames differing
    first_layer: str | None = None
    first_tensor: str | None = None
    checked_layers: list[str] = field(default_factory=list)
    max_abs_diff: float = 0.0                # largest |IR - QONNX| over the final float outputs
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.output_mismatches == 0 and self.cleaned_mismatches == 0 and not any(self.layer_mismatches.values())

    def summary(self) -> dict:
        return {"ok": self.ok, "n_inputs": self.n_inputs, "output_mismatches": self.output_mismatches,
                "cleaned_mismatches": self.cleaned_mismatches, "layer_mismatches": self.layer_mismatches,
                "first_mismatching_layer": self.first_layer, "first_mismatching_tensor": self.first_tensor,
                "checked_layers": self.checked_layers, "max_abs_diff": self.max_abs_diff, "notes": self.notes}

    def describe(self) -> str:
        if self.ok:
            return (f"exact: {self.n_inputs} inputs, 0 mismatches (outputs and {len(self.checked_layers)} "
                    "intermediate layers)")
        msg = f"{self.output_mismatches}/{self.n_inputs} outputs differ from QONNX execution"
        if self.cleaned_mismatches:
            msg += f"; the cleaned graph already differs on {self.cleaned_mismatches} inputs"
        if self.first_layer:
            msg += (f"; first mismatching layer {self.first_layer!r} (QONNX tensor {self.first_tensor!r}, "
                    f"{self.layer_mismatches[self.first_layer]} inputs)")
        elif self.output_mismatches:
            msg += (f"; all {len(self.checked_layers)} intermediate layers match, so the difference (max "
                    f"{self.max_abs_diff:.3g}) is in the last layer's float output step")
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
        return v.transpose(0, 2, 3, 1)
    v = v.reshape(len(v), -1)
    return v[:, np.asarray(entry["perm"])] if entry.get("perm") is not None else v


def _as_qonnx_values(entry: dict, levels: np.ndarray) -> np.ndarray:
    """IR integers -> the float32 values QONNX holds: levels * scale, the same float32 multiply int_quant does."""
    return np.asarray(levels).astype(np.float32) * np.asarray(entry["scale"], np.float32)


def verify_graph(onnx_path: str | os.PathLike, graph: DataflowGraph, inputs: np.ndarray | None = None,
                 num_random: int = 16, seed: int = 0, cleaned=None, batch: int = 64, simulate=None) -> VerifyReport:
    """Compare QONNX execution of `onnx_path` (and of `cleaned`) with simulate(graph) on the inputs; no tolerance."""
    from qonnx.core.modelwrapper import ModelWrapper

    xs = []
    if inputs is not None:
        inputs = np.asarray(inputs, np.float32)
        if tuple(inputs.shape[1:]) != tuple(graph.input.shape):
            raise CompileError(f"verify inputs have per-frame shape {inputs.shape[1:]}, the model expects "
                               f"{tuple(graph.input.shape)}")
        xs.append(inputs)
    if num_random:
        xs.append(random_inputs(tuple(graph.input.shape), num_random, seed))
    x = np.concatenate(xs) if xs else np.zeros((0, *graph.input.shape), np.float32)
    if simulate is None:
        try:
            from compiler.simulate import simulate
        except ImportError as e:
            raise CompileError(f"cannot verify: the IR simulator is not available ({e})") from None
    orig = QonnxExec(ModelWrapper(str(onnx_path)))
    clean = QonnxExec(cleaned) if cleaned is not None else None
    rep = VerifyReport(len(x), notes=list(graph.meta.get("notes", [])))
    qmap = graph.meta.get("qonnx_map", {})
    rep.checked_layers = [l.name for l in graph.layers if l.name in qmap]
    last = graph.layers[-1]
    for s in range(0, len(x), batch):
        xb = x[s : s + batch]
        ctx = orig(xb)
        ref = ctx[orig.base.graph.output[0].name]
        if clean is not None:
            cref = clean(xb)[cleaned.graph.output[0].name]
            rep.cleaned_mismatches += _frames_differ(cref, ref)
        out, per_layer = _simulate_all(simulate, graph, xb)
        if last.kind == "LabelSelect":
            k = last.attrs["k"]
            ref = np.argsort(-ref.reshape(len(ref), -1), axis=1, kind="stable")[:, :k]
        out = np.asarray(out).reshape(ref.shape)
        rep.output_mismatches += _frames_differ(out, ref)
        if len(ref) and ref.dtype.kind == "f":
            rep.max_abs_diff = max(rep.max_abs_diff, float(np.nanmax(np.abs(out.astype(np.float64) - ref))))
        for layer, y in zip(graph.layers, per_layer):
            e = qmap.get(layer.name)
            if e is None or e["tensor"] not in ctx:
                continue
            ref_l = _to_ir_layout(e, ctx[e["tensor"]])
            d = _frames_differ(_as_qonnx_values(e, np.asarray(y).reshape(ref_l.shape)), ref_l)
            rep.layer_mismatches[layer.name] = rep.layer_mismatches.get(layer.name, 0) + d
    for name in rep.checked_layers:
        if rep.layer_mismatches.get(name):
            rep.first_layer, rep.first_tensor = name, qmap[name]["tensor"]
            break
    return rep


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
    from compiler.hostops import run_post

    res = list(res)
    return run_post(graph.output, res[-1]), res
