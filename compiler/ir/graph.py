"""The dataflow IR: plain typed data shared by lowering, simulator, cost model, codegen and runtime.

The semantics of every layer kind are specified in docs/ir.md; the NumPy simulator implements them
and is the reference every other backend is checked against.
"""
from __future__ import annotations

import json
import os
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from compiler import kinds
from compiler.ir.datatypes import DataType, datatype
from compiler.ir.names import check_name
from diagnostics.errors import IRError  # noqa: F401  (re-exported: callers import it from here)

KINDS = kinds.names()
FORMAT_VERSION = 1
INPUT_STREAM = "in0"          # the stream the host feeds (layer 0 reads it)


def dtype(name: str) -> DataType:
    """IR datatype from its name (compiler.ir.datatypes), with an error that names the bad value."""
    return datatype(name)


@dataclass
class Layer:
    name: str
    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    in_dtype: str
    out_dtype: str
    attrs: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    folding: dict[str, int] = field(default_factory=dict)
    #: stream names read / written (docs/ir.md "Streams"); empty = the linear default (previous layer's output)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    @property
    def pe(self) -> int:
        return int(self.folding.get("pe", 1))

    @property
    def simd(self) -> int:
        return int(self.folding.get("simd", 1))

    def validate(self) -> None:
        bad = check_name(self.name, "layer name")
        if bad:
            raise IRError(f"{bad}; layer names reach generated Tcl/C++ (rename the ONNX node)")
        where = f"layer {self.name!r} ({self.kind})"
        if self.kind not in kinds.names():
            raise IRError(f"{where}: unknown kind; expected one of {kinds.names()}")
        dtype(self.in_dtype), dtype(self.out_dtype)
        kinds.get(self.kind).check_weight_ram(self)
        for key, (_, axis) in kinds.get(self.kind).folded_dims(self).items():
            n = self.folding.get(key, 1)
            if n < 1 or axis % n:
                raise IRError(f"{where}: {key}={n} must be a positive divisor of {axis}")


def layer_streams(layers: list[Layer]) -> list[tuple[list[str], list[str]]]:
    """(input streams, output streams) per layer; a layer without them reads the previous layer's (first)
    output and writes one stream named after itself (a linear pipeline, the format before streams)."""
    res, prev = [], INPUT_STREAM
    for l in layers:
        ins = list(l.inputs) or [prev]
        outs = list(l.outputs) or [l.name]
        res.append((ins, outs))
        prev = outs[0]
    return res


def stream_edges(layers: list[Layer]) -> list[tuple[Layer, Layer, int]]:
    """(producer, consumer, consumer's input index) for every stream between two layers, in consumer order."""
    producer = {}
    edges = []
    for l, (ins, outs) in zip(layers, layer_streams(layers)):
        for j, s in enumerate(ins):
            if s in producer:
                edges.append((producer[s], l, j))
        for s in outs:
            producer[s] = l
    return edges


@dataclass
class InputSpec:
    """What the host feeds the pipeline: `pre` ops turn user images into layer 0's integers."""

    shape: tuple[int, ...]          # per-frame shape of the user's input (e.g. (1, 28, 28) or (784,))
    dtype: str                      # datatype of the integer tensor entering layer 0
    pre: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class OutputSpec:
    """How the host turns the last layer's integers into the model's output (see docs/ir.md)."""

    shape: tuple[int, ...]
    post: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DataflowGraph:
    name: str
    layers: list[Layer]
    input: InputSpec
    output: OutputSpec
    meta: dict[str, Any] = field(default_factory=dict)

    def layer(self, name: str) -> Layer:
        for l in self.layers:
            if l.name == name:
                return l
        raise IRError(f"no layer named {name!r}")

    def validate(self) -> None:
        bad = check_name(self.name, "graph name")
        if bad:
            raise IRError(f"{bad}; graph names reach generated Tcl/C++ (choose another --name)")
        if not self.layers:
            raise IRError(f"graph {self.name!r} has no layers")
        names = set()
        for l in self.layers:
            l.validate()
            if l.name in names:
                raise IRError(f"duplicate layer name {l.name!r}")
            names.add(l.name)
        producer: dict[str, Layer] = {}
        consumed: set[str] = set()
        for l, (ins, outs) in zip(self.layers, self.streams()):
            kind = kinds.get(l.kind)
            if len(ins) != kind.n_inputs or len(outs) != kind.n_outputs:
                raise IRError(f"layer {l.name!r} ({l.kind}): reads {len(ins)} and writes {len(outs)} streams, "
                              f"expected {kind.n_inputs} and {kind.n_outputs}")
            for j, s in enumerate(ins):
                if s == INPUT_STREAM:
                    if l is not self.layers[0]:
                        raise IRError(f"layer {l.name!r} reads the graph input; only the first layer may")
                elif s not in producer:
                    raise IRError(f"layer {l.name!r} reads stream {s!r}, which no earlier layer writes "
                                  "(layers must be listed in dataflow order)")
                elif int(np.prod(producer[s].out_shape)) != int(np.prod(kind.input_shape(l, j))):
                    raise IRError(f"layer {l.name!r} expects {kind.input_shape(l, j)} but {producer[s].name!r} "
                                  f"produces {producer[s].out_shape}")
                if s in consumed:
                    raise IRError(f"stream {s!r} is read by more than one layer; a DuplicateStreams layer must "
                                  "copy it for each reader")
                consumed.add(s)
            for s in outs:
                if s in producer or s == INPUT_STREAM:
                    raise IRError(f"stream {s!r} is written by more than one layer ({l.name!r})")
                producer[s] = l
        if self.layers[0].inputs and self.layers[0].inputs != [INPUT_STREAM]:
            raise IRError(f"the first layer {self.layers[0].name!r} must read the graph input {INPUT_STREAM!r}")
        dangling = [s for s in producer if s not in consumed]
        if dangling != list(self.streams()[-1][1]):
            raise IRError(f"streams {dangling} are not read by any layer; only the last layer's output may be the "
                          "graph output")

    def streams(self) -> list[tuple[list[str], list[str]]]:
        """(input streams, output streams) per layer (see layer_streams)."""
        return layer_streams(self.layers)

    def is_linear(self) -> bool:
        prev = INPUT_STREAM
        for l, (ins, outs) in zip(self.layers, self.streams()):
            if ins != [prev] or len(outs) != 1:
                return False
            prev = outs[0]
        return True

    # ---- persistence -------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        def arrays_ref(l: Layer) -> dict[str, str]:
            return {k: f"{l.name}/{k}" for k in l.arrays}

        linear = self.is_linear()       # a linear graph.json stays in the format without stream names

        return {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "meta": self.meta,
            "input": {"shape": list(self.input.shape), "dtype": self.input.dtype, "pre": _jsonable(self.input.pre)},
            "output": {"shape": list(self.output.shape), "post": _jsonable(self.output.post)},
            "layers": [
                {
                    "name": l.name, "kind": l.kind,
                    "in_shape": list(l.in_shape), "out_shape": list(l.out_shape),
                    "in_dtype": l.in_dtype, "out_dtype": l.out_dtype,
                    "attrs": _jsonable(l.attrs), "folding": dict(l.folding), "arrays": arrays_ref(l),
                    **({} if linear else {"inputs": ins, "outputs": outs}),
                }
                for l, (ins, outs) in zip(self.layers, self.streams())
            ],
        }

    def save(self, directory: str | os.PathLike) -> Path:
        """Write graph.json + arrays.npz atomically: a crash never leaves a half-written graph."""
        from compiler.workflow.folder import make_temp_dir

        self.validate()
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = make_temp_dir(f".{directory.name}.", directory.parent)
        try:
            (tmp / "graph.json").write_text(json.dumps(self.to_json(), indent=1))
            arrays = {f"{l.name}/{k}": v for l in self.layers for k, v in l.arrays.items()}
            arrays.update({f"__pre__/{i}/{k}": np.asarray(v) for i, op in enumerate(self.input.pre)
                           for k, v in op.items() if isinstance(v, np.ndarray)})
            arrays.update({f"__post__/{i}/{k}": np.asarray(v) for i, op in enumerate(self.output.post)
                           for k, v in op.items() if isinstance(v, np.ndarray)})
            np.savez(tmp / "arrays.npz", **arrays)
            if directory.exists():
                shutil.rmtree(directory)
            os.replace(tmp, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "DataflowGraph":
        directory = Path(directory)
        gfile, afile = directory / "graph.json", directory / "arrays.npz"
        for f in (gfile, afile):
            if not f.is_file():
                raise IRError(f"{f}: missing (not a bnnc dataflow graph directory?)")
        try:
            doc = json.loads(gfile.read_text())
        except json.JSONDecodeError as e:
            raise IRError(f"{gfile}: not valid JSON ({e})") from None
        if not isinstance(doc, dict):
            raise IRError(f"{gfile}: expected a JSON object, got {type(doc).__name__}")
        if doc.get("format_version") != FORMAT_VERSION:
            raise IRError(f"{gfile}: format_version {doc.get('format_version')!r}, expected {FORMAT_VERSION}")
        from compiler.ir.schema import check_graph_json

        check_graph_json(doc, gfile)
        try:
            with np.load(afile, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise IRError(f"{afile}: unreadable arrays file ({type(e).__name__}: {e}); truncated or not an .npz "
                          "written by bnnc") from None

        def restore(ops: list[dict], tag: str) -> list[dict]:
            out = []
            for i, op in enumerate(ops):
                op = dict(op)
                for k in list(op):
                    key = f"__{tag}__/{i}/{k}"
                    if key in arrays:
                        op[k] = arrays[key]
                out.append(op)
            return out

        try:
            layers = [
                Layer(
                    name=d["name"], kind=d["kind"],
                    in_shape=tuple(d["in_shape"]), out_shape=tuple(d["out_shape"]),
                    in_dtype=d["in_dtype"], out_dtype=d["out_dtype"],
                    attrs=d["attrs"], folding=d.get("folding", {}),
                    arrays={k: arrays[ref] for k, ref in d["arrays"].items()},
                    inputs=list(d.get("inputs", [])), outputs=list(d.get("outputs", [])),
                )
                for d in doc["layers"]
            ]
            g = cls(
                name=doc["name"], layers=layers, meta=doc.get("meta", {}),
                input=InputSpec(tuple(doc["input"]["shape"]), doc["input"]["dtype"], restore(doc["input"]["pre"], "pre")),
                output=OutputSpec(tuple(doc["output"]["shape"]), restore(doc["output"]["post"], "post")),
            )
        except KeyError as e:
            raise IRError(f"{gfile}: array {e} is referenced but missing from {afile.name}") from None
        g.validate()
        return g


def _jsonable(obj: Any) -> Any:
    """Scalars and lists as JSON; NumPy arrays are stored in arrays.npz, so they become a marker."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return "<npz>"
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
