"""`compile_model`: QONNX file in, dataflow graph (graph.json + arrays.npz) out, all or nothing."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from compiler.errors import CompileError
from compiler.ir import DataflowGraph


def compile_model(onnx_path: str | os.PathLike, out_dir: str | os.PathLike | None = None, *,
                  name: str | None = None, topk: int | None = None, verify: bool = False,
                  verify_inputs: np.ndarray | None = None, num_random: int = 16, seed: int = 0, exact: bool = False,
                  transform: Callable[[DataflowGraph], None] | None = None,
                  extra_files: Callable[[DataflowGraph, Path], None] | None = None) -> DataflowGraph:
    """Lower `onnx_path` to the IR and (optionally) verify it, then write `out_dir` atomically.

    The build folder holds graph.json, arrays.npz, a copy of the source model (model.onnx) and, when verified,
    verify.json (`exact`: zero tolerance on the float tail too). On any failure nothing is left at `out_dir` (an
    existing build there stays untouched), except a failed verification: its build is written for inspection,
    with verify.json's status "failed" (no transform / extra files), before the VerifyError.
    Post-lowering hooks: `transform(graph)` may edit the verified graph in place (e.g. set its folding) before
    it is saved; `extra_files(graph, folder)` writes more files (e.g. a cost report) into the temporary build
    folder, so they appear atomically with the graph.
    """
    from compiler.frontend import load_model, lower

    onnx_path = Path(onnx_path)
    model = load_model(onnx_path)
    graph = lower(model, name or (Path(out_dir).name if out_dir else onnx_path.stem), topk=topk)
    graph.meta["source"] = onnx_path.name
    report = None
    if verify:
        from compiler.verify import verify_graph

        report = verify_graph(onnx_path, graph, inputs=verify_inputs, num_random=num_random, seed=seed,
                              cleaned=model, exact=exact)
        graph.meta["verify"] = report.summary()
        if not report.ok:
            from compiler.errors import VerifyError

            hint = ("see the notes: this model's float arithmetic is not exactly reproducible" if report.notes
                    else "this is a compiler bug; please report it with the model")
            msg = report.describe()
            if out_dir is not None:
                _write_build(graph, onnx_path, Path(out_dir), report)
                msg += f"\n  the build was written to {out_dir} for inspection; its verify.json says \"failed\""
            raise VerifyError(msg, hint=hint)
    if transform is not None:
        transform(graph)
    if out_dir is not None:
        _write_build(graph, onnx_path, Path(out_dir), report, extra_files)
    return graph


def _write_build(graph: DataflowGraph, onnx_path: Path, out_dir: Path, report,
                 extra_files: Callable[[DataflowGraph, Path], None] | None = None) -> None:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.build.", dir=out_dir.parent))
    try:
        graph.save(tmp / "graph")
        for f in ("graph.json", "arrays.npz"):
            os.replace(tmp / "graph" / f, tmp / f)
        (tmp / "graph").rmdir()
        shutil.copyfile(onnx_path, tmp / "model.onnx")
        if report is not None:
            import json

            (tmp / "verify.json").write_text(json.dumps(report.summary(), indent=1))
        if extra_files is not None:
            extra_files(graph, tmp)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise CompileError(f"writing build folder {out_dir} failed: {e}") from None
        raise
