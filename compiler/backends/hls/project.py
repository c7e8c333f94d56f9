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
from compiler.backends.digest import digest_texts
from compiler.backends.hls.sources import sources_digest
from compiler.workflow.target import DEFAULT_BOARD, fabric_clock

TOOL_OUTPUTS = ("hls_prj", "vivado", "output", "csim")     # what the tools build in a project


@dataclass
class Project:
    path: Path
    plan: Plan
    board: Board
    clock_mhz: float
    meta: dict


def library_dir() -> Path:
    """hwlib/include of this bnnc installation (package data of `hwlib`, a sibling of `compiler` both in the
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


@dataclass
class ProjectFiles:
    """A generated HLS project in memory: every file's text (bytes for the weight image) and project.json's
    contents. Computed without touching disk, so a rebuild or the runtime can compare `source_digest` with a
    project folder's (compiler.backends.hls.sources) before deciding to write anything."""

    plan: Plan
    board: Board
    clock_mhz: float
    meta: dict
    files: dict[str, str | bytes]

    @property
    def source_digest(self) -> str:
        return self.meta["source_digest"]


def project_files(graph: DataflowGraph, board: str | Board = DEFAULT_BOARD,
                  clock_mhz: float | None = None) -> ProjectFiles:
    """The HLS project of `graph` (folding from layer.folding, default 1) for `board` at `clock_mhz` (default:
    the board's), in memory. Raises IRError/CompileError naming the layer or board at fault."""
    b = board if isinstance(board, Board) else get_board(board)
    clock = fabric_clock(b, clock_mhz)
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
    return ProjectFiles(plan, b, clock, meta, written)


def write_project(generated: ProjectFiles, out_dir: str | os.PathLike) -> Project:
    """Write `generated` into `out_dir`, all or nothing; on any failure `out_dir` is untouched."""
    # tool outputs stay only with the sources they were built from (content, not project.json's claim)
    keep = TOOL_OUTPUTS if sources_digest(out_dir) == generated.source_digest else ()
    out = write_generated(out_dir, generated.files, what="HLS project", keep=keep)
    return Project(out, generated.plan, generated.board, generated.clock_mhz, generated.meta)


def generate_project(graph: DataflowGraph, out_dir: str | os.PathLike, board: str | Board = DEFAULT_BOARD,
                     clock_mhz: float | None = None) -> Project:
    """Generate the HLS project for `graph` (folding from layer.folding, default 1) into `out_dir`.

    Raises IRError/CompileError naming the layer or board at fault; on any failure `out_dir` is untouched.
    """
    return write_project(project_files(graph, board, clock_mhz), out_dir)


def regenerate_if_changed(graph: DataflowGraph, project: str | os.PathLike, board: str, clock_mhz: float) -> bool:
    """Make `project` hold exactly the sources `graph` (the IR) generates for `board` at `clock_mhz`.

    Returns False when they already match (content digest; tool outputs stay), True when the folder's sources
    differed (edited, replaced, stale) and were regenerated from the IR, which also drops binaries built from
    them. Why: the runtime's C simulation must compile what the deployed IR means, not whatever C++ sits in
    the folder. The expected digest is computed in memory: nothing is written when the sources match."""
    generated = project_files(graph, board, clock_mhz)
    if sources_digest(project) == generated.source_digest:
        return False
    write_project(generated, project)
    return True
