"""The whole compile as one library call: `build(onnx_path, BuildConfig, out_dir) -> Build`.

The config resolved for its board (default clock, target), then the steps of compiler.workflow.compile in order:
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

from compiler.workflow.config import BuildConfig
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
    from compiler.workflow.target import fabric_clock

    brd = get_board(config.board)
    target = config.target_fps
    if config.folding_file is None and target is None:
        target = "max"
    return config.with_(board=brd.name, clock_mhz=fabric_clock(brd, config.clock_mhz), target_fps=target)


def build(onnx_path: str | os.PathLike, config: BuildConfig = BuildConfig(), out_dir: str | os.PathLike | None = None,
          *, verify_inputs: np.ndarray | None = None, finn_export: bool = True, force: bool = False,
          from_step: str | None = None, to_step: str | None = None) -> Build:
    """Compile `onnx_path` with `config`; write `out_dir` (if given) atomically. Raises BnncError subclasses.

    Runs the steps of compiler.workflow.compile (STEPS; `finn_export=False` leaves that one out), from `from_step`
    (resuming the build in `out_dir`) to `to_step`. `force` replaces an `out_dir` that is not a bnnc build folder
    (compiler.workflow.folder refuses it otherwise).
    """
    from compiler.workflow import compile as steps

    if verify_inputs is not None:
        config = config.with_(verify=True)
    config = resolve(config)
    todo = steps.STEPS if finn_export else tuple(s for s in steps.STEPS if s is not steps.finn_export)
    state = steps.run_steps(onnx_path, config, out_dir, steps=todo, from_step=from_step, to_step=to_step,
                            verify_inputs=verify_inputs, force=force)
    return Build(graph=state.graph, config=state.config, folder=Path(out_dir) if out_dir is not None else None,
                 report=state.report, notes=state.notes)


def lower_only(onnx_path: str | os.PathLike, name: str | None = None) -> DataflowGraph:
    """QONNX file -> unfolded IR graph, nothing written (what bnn.compress prices)."""
    from compiler.frontend.ingest import load_model
    from compiler.frontend.lower import lower

    onnx_path = Path(onnx_path)
    return lower(load_model(onnx_path), name or onnx_path.stem)
