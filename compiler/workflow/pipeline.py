"""The whole compile as one library call: `build(onnx_path, BuildConfig, out_dir) -> Build`.

QONNX -> dataflow IR (compiler.frontend) -> bit-exact check against QONNX (optional) -> folding for the board
and cost report (optional) -> build folder, written all or nothing: graph.json + arrays.npz, model.onnx,
verify.json, report.{txt,json,png}, finn_dataflow.onnx with its FINN folding config finn_folding.json, and the
resolved build_config.json. The CLI
(`bnnc compile`, `bnnc demo`, `bnnc compress`) and bnn.compress.hwcost call this instead of each other.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from diagnostics import progress
from compiler.workflow.config import BuildConfig
from diagnostics.errors import IRError
from compiler.ir.graph import DataflowGraph


@dataclass
class Build:
    """A finished compile: the (folded) graph, the resolved config, its folder, report and notes."""

    graph: DataflowGraph
    config: BuildConfig
    folder: Path | None = None
    report: dict[str, Any] | None = None     #: compiler.workflow.report.build_report (when the build folds)
    notes: list[str] = field(default_factory=list)


def resolve(config: BuildConfig) -> BuildConfig:
    """Fill in what the board implies: its default clock, and target 'max' when nothing else fixes the folding."""
    if not config.board:
        return config
    from boards.catalog import get_board

    brd = get_board(config.board)
    target = config.target_fps
    if config.folding_file is None and target is None:
        target = "max"
    return config.with_(board=brd.name, clock_mhz=config.clock_mhz or brd.default_clock_mhz, target_fps=target)


def build(onnx_path: str | os.PathLike, config: BuildConfig = BuildConfig(), out_dir: str | os.PathLike | None = None,
          *, verify_inputs: np.ndarray | None = None, finn_export: bool = True, force: bool = False) -> Build:
    """Compile `onnx_path` with `config`; write `out_dir` (if given) atomically. Raises BnncError subclasses.

    `force` replaces an `out_dir` that is not a bnnc build folder (compiler.workflow.folder refuses it otherwise).
    """
    from compiler.workflow.compile import compile_model

    if verify_inputs is not None:
        config = config.with_(verify=True)
    config = resolve(config)
    result = Build(graph=None, config=config)   # type: ignore[arg-type]  (set below)
    transform = None
    if config.folds:
        from boards.catalog import get_board
        from compiler.estimate.folding import fold_graph, parse_target
        from compiler.workflow.folding_file import read_folding_file
        from compiler.workflow.report import build_report

        brd = get_board(config.board) if config.board else None
        target = parse_target(config.target_fps) if config.target_fps is not None else None
        folding_for = read_folding_file(config.folding_file) if config.folding_file else None
        # the RTL library has no run-time URAM loader: its weights stay in bitstream-initialised memories
        weights_in = "bram" if config.flow == "rtl" and config.weights_in == "auto" else config.weights_in

        def transform(graph: DataflowGraph) -> None:
            folding = folding_for(graph) if folding_for is not None else None
            with progress.step("folding search" if folding is None else "folding from file"):
                cost, source, notes = fold_graph(graph, brd, config.target_fps, folding, config.margin,
                                                 config.clock_mhz, weights_in, config.flow)
            result.config = result.config.with_(folding_source=source)
            result.report = build_report(graph.name, cost, brd, config.margin, source, target, notes,
                                         model=None if config.name else Path(onnx_path).stem,
                                         weights_in=weights_in, flow=config.flow)

    def files(graph: DataflowGraph, folder: Path) -> None:
        if result.report is not None:
            from compiler.workflow.report import write_report

            write_report(result.report, folder)
        if finn_export:
            from compiler.backends.finn.export import save_finn_onnx
            from compiler.backends.finn.folding import save_finn_folding

            try:
                with progress.step("writing finn_dataflow.onnx"):
                    save_finn_onnx(graph, folder / "finn_dataflow.onnx")
                    save_finn_folding(graph, folder / "finn_folding.json")
            except IRError as e:   # the IR is still complete; only the FINN view is unavailable
                result.notes.append(f"no finn_dataflow.onnx: {e}")
        result.config.save(folder)

    result.graph = compile_model(onnx_path, out_dir, name=config.name, topk=config.topk, verify=config.verify,
                                 verify_inputs=verify_inputs, num_random=config.num_random, seed=config.seed,
                                 exact=config.exact, transform=transform, extra_files=files,
                                 force=force, folder_notes=result.notes, raw_input=config.raw_input)
    result.folder = Path(out_dir) if out_dir is not None else None
    return result


def lower_only(onnx_path: str | os.PathLike, name: str | None = None) -> DataflowGraph:
    """QONNX file -> unfolded IR graph, nothing written (what bnn.compress prices)."""
    from compiler.frontend.ingest import load_model
    from compiler.frontend.lower import lower

    onnx_path = Path(onnx_path)
    return lower(load_model(onnx_path), name or onnx_path.stem)
