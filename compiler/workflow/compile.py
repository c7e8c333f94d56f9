"""`compile_model`: QONNX file in, dataflow graph (graph.json + arrays.npz) out, all or nothing."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from boards.catalog import BoardError
from diagnostics import progress
from compiler.workflow.folder import StagedFolder, staged_folder
from compiler.backends.hls.project import TOOL_OUTPUTS
from diagnostics.errors import CompileError
from compiler.ir.graph import DataflowGraph
from compiler.ir.names import check_name, safe_name
from compiler.backends.hls.sources import sources_digest


def compile_model(onnx_path: str | os.PathLike, out_dir: str | os.PathLike | None = None, *,
                  name: str | None = None, topk: int | None = None, verify: bool = False,
                  verify_inputs: np.ndarray | None = None, num_random: int = 16, seed: int = 0, exact: bool = False,
                  transform: Callable[[DataflowGraph], None] | None = None,
                  extra_files: Callable[[DataflowGraph, Path], None] | None = None,
                  force: bool = False, folder_notes: list[str] | None = None,
                  raw_input: dict | None = None) -> DataflowGraph:
    """Lower `onnx_path` to the IR and (optionally) verify it, then write `out_dir` atomically.

    The build folder holds graph.json, arrays.npz, a copy of the source model (model.onnx) and, when verified,
    verify.json (`exact`: zero tolerance on the float tail too). On any failure nothing is left at `out_dir` (an
    existing build there stays untouched), except a failed verification: its build is written for inspection,
    with verify.json's status "failed" (no transform / extra files), before the VerifyError.
    `out_dir` is checked, locked and staged before any work (compiler.workflow.folder): a folder that is not a bnnc
    build is refused unless `force`; rebuilding keeps the user's own files and the HLS tool outputs whose
    sources are unchanged, listed in `folder_notes`.
    `raw_input` ({"bits", "mean", "std"}, compiler.frontend.raw_input) declares a float model input as normalized
    integer pixels, for a first layer without an input quantizer.
    Post-lowering hooks: `transform(graph)` may edit the verified graph in place (e.g. set its folding) before
    it is saved; `extra_files(graph, folder)` writes more files (e.g. a cost report) into the temporary build
    folder, so they appear atomically with the graph.
    """
    onnx_path = Path(onnx_path)
    if name is not None:
        bad = check_name(name, "--name")
        if bad:
            raise CompileError(bad, hint="graph names reach generated Tcl/C++ scripts")
    else:
        name = safe_name(Path(out_dir).name if out_dir else onnx_path.stem)
    if out_dir is None:
        graph, report = _lower(onnx_path, name, topk, verify, verify_inputs, num_random, seed, exact, transform,
                               raw_input)
        _raise_if_failed(report, None)
        return graph
    with staged_folder(out_dir, "build", force=force, inputs=[onnx_path]) as stage:
        graph, report = _lower(onnx_path, name, topk, verify, verify_inputs, num_random, seed, exact, transform,
                               raw_input)
        failed = report is not None and not report.ok
        notes = folder_notes if folder_notes is not None else []
        try:
            if failed:
                _write_build(graph, onnx_path, stage.tmp, report)
            else:
                _write_build(graph, onnx_path, stage.tmp, report, extra_files)
                notes += _carry_hls(stage, graph)
            kept = stage.commit()
        except OSError as e:
            raise CompileError(f"writing build folder {out_dir} failed: {e}") from None
        notes += [f"kept {k} (not written by bnnc compile)" for k in kept if k.split("/")[0] != "hls"]
    _raise_if_failed(report, out_dir)
    return graph


def _raise_if_failed(report, out_dir) -> None:
    """A failed verification is an error; its build (if any) was written first, marked failed, to inspect."""
    if report is None or report.ok:
        return
    from diagnostics.errors import VerifyError

    hint = ("see the notes: this model's float arithmetic is not exactly reproducible" if report.notes
            else "this is a compiler bug; please report it with the model")
    msg = report.describe()
    if out_dir is not None:
        msg += f"\n  the build was written to {out_dir} for inspection; its verify.json says \"failed\""
    raise VerifyError(msg, hint=hint)


def _lower(onnx_path: Path, name: str, topk, verify, verify_inputs, num_random, seed, exact, transform,
           raw_input=None):
    """Lowered (and verified) graph plus the verification report; `transform` runs only on a verified graph."""
    from compiler.frontend.ingest import load_model
    from compiler.frontend.lower import lower

    with progress.step(f"loading {onnx_path.name} (QONNX cleanup)"):
        model = load_model(onnx_path)
    with progress.step("lowering to the dataflow IR"):
        graph = lower(model, name, topk=topk, raw_input=raw_input)
    graph.meta["source"] = onnx_path.name
    report = None
    if verify:
        from compiler.sim.verify import verify_graph

        report = verify_graph(onnx_path, graph, inputs=verify_inputs, num_random=num_random, seed=seed,
                              cleaned=model, exact=exact)
        graph.meta["verify"] = report.summary()
        if not report.ok:
            return graph, report
    if transform is not None:
        transform(graph)
    return graph, report


def _write_build(graph: DataflowGraph, onnx_path: Path, folder: Path, report,
                 extra_files: Callable[[DataflowGraph, Path], None] | None = None) -> None:
    graph.save(folder / "graph")
    for f in ("graph.json", "arrays.npz"):
        os.replace(folder / "graph" / f, folder / f)
    (folder / "graph").rmdir()
    shutil.copyfile(onnx_path, folder / "model.onnx")
    if report is not None:
        (folder / "verify.json").write_text(json.dumps(report.summary(), indent=1))
    if extra_files is not None:
        extra_files(graph, folder)


HLS_TOOL_OUTPUTS = (*TOOL_OUTPUTS, "vitis_hls.log", "vivado.log", "vivado.out")


def _carry_hls(stage: StagedFolder, graph: DataflowGraph) -> list[str]:
    """A rebuild keeps the old build's HLS tool outputs (IP, bitstream, C-sim binary) when the HLS sources the
    new graph generates (same board and clock) are identical to the ones they were built from."""
    old = stage.target / "hls"
    if not old.is_dir():
        return []
    outputs = [n for n in HLS_TOOL_OUTPUTS if (old / n).exists()]
    try:
        meta = json.loads((old / "project.json").read_text())
        board, clock = meta["board"], float(meta["clock_mhz"])
    except (OSError, ValueError, KeyError, TypeError):
        stage.carry("hls")
        return ["kept hls/ as it was: it has no readable project.json to check it against the new graph"]
    from compiler.backends.hls.project import generate_project
    from compiler.ir.graph import IRError

    try:
        proj = generate_project(graph, stage.tmp / "hls", board, clock)
    except (CompileError, IRError, BoardError) as e:
        stage.carry("hls")
        return [f"kept hls/ as it was: regenerating it for the new graph failed ({e})"]
    if not outputs:
        return []
    if sources_digest(old) == proj.meta["source_digest"]:
        for n in outputs:
            stage.carry(f"hls/{n}")
        return [f"kept hls/{n} (its HLS sources are unchanged)" for n in outputs]
    return [f"dropped hls/{', hls/'.join(outputs)}: the new graph changes the HLS sources they were built from; "
            "run `bnnc hls` / `bnnc bitstream` again"]
