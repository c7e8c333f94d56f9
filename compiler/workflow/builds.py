"""A compiled build folder as the commands after compile use it: its graph, and its HLS project generated for the
board and clock compiler.workflow.target picks."""
from __future__ import annotations

import os
from pathlib import Path

from compiler.backends.hls.project import Project, generate_project
from compiler.ir.graph import DataflowGraph
from compiler.workflow.target import resolve_target
from diagnostics.errors import CompileError


def load_build(build_dir: str | os.PathLike) -> DataflowGraph:
    """The graph of a `bnnc compile` build folder, with an error that says what to run when it is not one."""
    d = Path(build_dir)
    if not (d / "graph.json").is_file():
        raise CompileError(f"{d}: not a bnnc build folder (no graph.json)",
                           hint="compile a model first: bnnc compile model.onnx -o BUILD_DIR")
    return DataflowGraph.load(d)


def project_for_build(build_dir: str | os.PathLike, board: str | None = None,
                      clock_mhz: float | None = None) -> tuple[DataflowGraph, Project]:
    """(Re)generate BUILD_DIR/hls from BUILD_DIR's graph for the board and clock compiler.workflow.target
    .resolve_target picks (the user's, else the build's, else the existing project's, else Pynq-Z2 at its default
    clock), so a design folded for a board is generated for it and unchanged sources keep what the tools built."""
    graph = load_build(build_dir)
    target = resolve_target(build_dir, board, clock_mhz)
    return graph, generate_project(graph, Path(build_dir) / "hls", target.board, target.clock_mhz)
