"""rtlsim and Yosys synthesis of a compiled build folder, as library calls: what `bnnc rtlsim` and `bnnc synth` do,
shared by them, `bnnc explore` (compiler.workflow.explore), the compression workflow's student builds and the benchmarks.
Each generates BUILD/rtl from BUILD/graph.json and writes its report (rtlsim.json / synth.json) atomically beside it;
what to print or to do about a mismatch is the caller's."""
from __future__ import annotations

from pathlib import Path

from boards.catalog import get_board
from compiler.backends.rtl import icarus, verilator
from compiler.backends.rtl.project import RtlProject, generate_rtl
from compiler.backends.rtl.reports import deadlock_doc, rtlsim_doc, synth_doc, write_json
from compiler.backends.rtl.verilator import RtlsimDeadlock, RtlsimReport
from compiler.backends.rtl.yosys import family_for_part, synthesize
from compiler.workflow.builds import load_build
from compiler.estimate.cost import estimate
from compiler.sim.ir_inputs import random_inputs


def simulator_version(simulator: str = "verilator") -> str:
    """The simulator's version line; CompileError naming the install command when it is missing."""
    return verilator.tool_version(verilator.VERILATOR) if simulator == "verilator" else icarus.tool_version()


def rtlsim_build(build_dir: Path, frames: int = 50, seed: int = 0, stall_seed: int | None = None, jobs: int = 1,
                 simulator: str = "verilator") -> tuple[dict, RtlsimReport, RtlProject]:
    """Simulate `frames` random frames through BUILD/rtl and compare them with the NumPy simulator; writes and
    returns BUILD/rtlsim.json (also on a mismatch: the caller decides). On a deadlock the report says so, and
    RtlsimDeadlock is raised with its `report` attribute set to that file."""
    build_dir = Path(build_dir)
    tool = simulator_version(simulator)
    graph = load_build(build_dir)
    project = generate_rtl(graph, build_dir / "rtl")
    ints = random_inputs(graph, frames, seed)
    try:
        rep = verilator.check(graph, project, ints, stall_seed=stall_seed, jobs=jobs) if simulator == "verilator" \
            else icarus.check(graph, project, ints, stall_seed=stall_seed)
    except RtlsimDeadlock as e:
        e.report = write_json(build_dir / "rtlsim.json", deadlock_doc(project, e, tool, frames, seed, stall_seed))
        raise
    doc = rtlsim_doc(graph, project, rep, estimate(graph, target="rtl"), tool, seed, stall_seed)
    write_json(build_dir / "rtlsim.json", doc)
    return doc, rep, project


def synth_build(build_dir: Path, board: str) -> dict:
    """Yosys synth_xilinx of BUILD/rtl for `board`'s FPGA family (post-synthesis, no place and route), beside the
    RTL-flow estimate of the same layers; writes and returns BUILD/synth.json."""
    build_dir = Path(build_dir)
    b = get_board(board)
    graph = load_build(build_dir)
    project = generate_rtl(graph, build_dir / "rtl")
    doc = synth_doc(graph, synthesize(project, family_for_part(b.part)), estimate(graph, target="rtl"), b.name, b.part)
    write_json(build_dir / "synth.json", doc)
    return doc
