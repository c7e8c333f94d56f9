"""Write a complete HLS project for a folded DataflowGraph into a folder, all or nothing.

Layout (everything relative, so the folder can be copied to a machine with Vitis HLS / Vivado):
  project.json        stream packing metadata (input/output words), board, clock, stages
  include/bnnc/       the HLS library (copied from the bnnc package)
  src/top.hpp/.cpp    the dataflow top function bnnc_top
  src/params/*.hpp    per-layer weight / threshold memories
  tb/tb.cpp           C-simulation testbench (packed files in and out)
  weights.bin         weight image of the weights kept in URAM, loaded at run time (only when there are any)
  hls.tcl             Vitis HLS: csynth + export as IP
  vivado.tcl          Vivado: block design with PS + AXI DMA + accelerator -> bitstream + hwh
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from boards.catalog import Board, get_board
from compiler.workflow.folder import write_generated
from compiler.backends import blockdesign
from compiler.backends.hls import tcl
from compiler.backends.hls.cxx import identifier
from compiler.backends.plan import Plan, make_plan
from compiler.backends.hls.testbench import testbench
from compiler.backends.hls.top import TOP, top_code, top_header
from compiler.backends.hls.weights import WEIGHTS_FILE, weight_image
from diagnostics import progress
from diagnostics.errors import CompileError
from compiler.ir.graph import DataflowGraph
from compiler.kinds.base import in_uram
from compiler.backends.hls.sources import digest_texts, sources_digest

DEFAULT_BOARD = "Pynq-Z2"
TOOL_OUTPUTS = ("hls_prj", "vivado", "output", "csim")     # what the tools build in a project


@dataclass
class Project:
    path: Path
    plan: Plan
    board: Board
    clock_mhz: float
    meta: dict


def library_dir() -> Path:
    """hwlib/include of this bnnc installation (package data of `hls`, a sibling of `compiler` both in the
    source tree and in site-packages; found by path so a same-named folder on sys.path cannot shadow it)."""
    inc = Path(__file__).resolve().parents[3] / "hwlib" / "include"
    if not (inc / "bnnc" / "bnnc.hpp").is_file():
        raise CompileError(f"the bnnc HLS library is missing: {inc / 'bnnc'} (broken installation?)")
    return inc


def stream_metadata(graph: DataflowGraph, plan: Plan) -> dict:
    """What a host needs to talk to the accelerator (also deploy.json's core)."""
    return {
        "graph": graph.name,
        "top": TOP,
        "input": plan.input.as_dict(),
        "output": plan.output.as_dict(),
        "control": {"interface": "s_axilite", "num_frames_offset": 0x10, "ap_ctrl_offset": 0x00,
                    "tlast": "last output word of each num_frames batch"},
        # cell names of the block design (compiler.backends.blockdesign), i.e. the overlay's attribute names in PYNQ
        "ip": {"dma": blockdesign.DMA_CELL, "accel": blockdesign.ACCEL_CELL},
        "dma": {"mode": "simple", "max_transfer_bytes": (1 << blockdesign.DMA_LENGTH_WIDTH) - 1},
    }


def generate_project(graph: DataflowGraph, out_dir: str | os.PathLike, board: str | Board = DEFAULT_BOARD,
                     clock_mhz: float | None = None) -> Project:
    """Generate the HLS project for `graph` (folding from layer.folding, default 1) into `out_dir`.

    Raises IRError/CompileError naming the layer or board at fault; on any failure `out_dir` is untouched.
    """
    b = board if isinstance(board, Board) else get_board(board)
    clock = float(clock_mhz or b.default_clock_mhz)
    if clock <= 0:
        raise CompileError(f"clock must be positive, got {clock} MHz")
    uram = [l.name for l in graph.layers if in_uram(l)]
    if uram and not b.resources.uram:
        raise CompileError(f"{b.name} has no URAM, but the weights of {', '.join(map(repr, uram))} are placed in URAM",
                           hint="compile for an UltraScale+ board with URAM, or with --weights-in bram")
    with progress.step(f"generating HLS C++ for {graph.name}"):
        plan = make_plan(graph)
        top = top_code(graph, plan)
        top_cpp, headers = top.source, top.headers
    stem = identifier(graph.name).strip("_") or "bnnc"
    meta = {**stream_metadata(graph, plan), "board": b.name, "part": b.part, "ps": b.ps, "clock_mhz": clock,
            "bitstream_stem": stem,
            "stages": [{"kind": s.kind, "layer": s.layer.name if s.layer else None, "index": s.index,
                        "in_elems": s.in_elems, "out_elems": s.out_elems} for s in plan.stages]}
    weights = None
    if top.loaded:
        weights, meta["weights"] = weight_image(top.loaded, plan.input.axi_bytes)
    files = {
        "src/top.hpp": top_header(graph, plan, top.loaded),
        "src/top.cpp": top_cpp,
        "tb/tb.cpp": testbench(bool(top.loaded)),
        "hls.tcl": tcl.hls_tcl(graph.name, b, clock),
        "vivado.tcl": tcl.vivado_tcl(graph.name, stem, b, clock, plan),
        **{f"src/params/{name}": text for name, text in headers},
    }
    lib = library_dir() / "bnnc"
    library = {f"include/bnnc/{f.name}": f.read_text() for f in sorted(lib.glob("*.hpp"))}
    meta["source_digest"] = digest_texts({**files, **library})
    files["project.json"] = json.dumps(meta, indent=1) + "\n"
    written: dict[str, str | bytes] = {**files, **library}
    if weights is not None:      # data, not a source: new weights need no new binary or bitstream
        written[WEIGHTS_FILE] = weights
    # tool outputs stay only with the sources they were built from (content, not project.json's claim)
    keep = TOOL_OUTPUTS if sources_digest(out_dir) == meta["source_digest"] else ()
    out = write_generated(out_dir, written, what="HLS project", keep=keep)
    return Project(out, plan, b, clock, meta)


def load_build(build_dir: str | os.PathLike) -> DataflowGraph:
    """The graph of a `bnnc compile` build folder, with an error that says what to run when it is not one."""
    d = Path(build_dir)
    if not (d / "graph.json").is_file():
        raise CompileError(f"{d}: not a bnnc build folder (no graph.json)",
                           hint="compile a model first: bnnc compile model.onnx -o BUILD_DIR")
    return DataflowGraph.load(d)


def project_for_build(build_dir: str | os.PathLike, board: str | None = None,
                      clock_mhz: float | None = None) -> tuple[DataflowGraph, Project]:
    """(Re)generate BUILD_DIR/hls from BUILD_DIR's graph. Board and clock default to the ones the build was
    compiled for (BUILD_DIR/build_config.json), then to the existing project's, then to Pynq-Z2 at its default
    clock, so a design folded for a board is generated for it and unchanged sources keep what the tools built."""
    from compiler.workflow.config import load_config

    graph = load_build(build_dir)
    project = Path(build_dir) / "hls"
    old = {}
    try:
        old = json.loads((project / "project.json").read_text())
    except (OSError, ValueError):
        pass
    cfg = load_config(build_dir)
    if cfg is not None and cfg.board:
        old = {"board": cfg.board, "clock_mhz": cfg.clock_mhz}
    return graph, generate_project(graph, project, board or old.get("board") or DEFAULT_BOARD,
                                   clock_mhz or (old.get("clock_mhz") if not board else None))

