"""Generate, build and co-simulate a graph; assert bit-exactness against compiler.sim.simulate."""
from __future__ import annotations

import shutil

import pytest

from compiler.backends.rtl.project import RtlProject, generate_rtl
from compiler.backends.rtl.verilator import RtlsimReport, check
from compiler.sim.ir_inputs import random_inputs
from compiler.ir.graph import DataflowGraph

requires_verilator = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator not installed (make setup)")
requires_yosys = pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed (make setup)")


def rtl_project(graph: DataflowGraph, tmp_path) -> RtlProject:
    return generate_rtl(graph, tmp_path / f"rtl_{graph.name}")


def assert_bit_exact(graph: DataflowGraph, project: RtlProject, frames: int = 6, seed: int = 0,
                     stall_seed: int | None = None) -> RtlsimReport:
    rep = check(graph, project, random_inputs(graph, frames, seed), stall_seed=stall_seed)
    assert rep.frames == frames
    assert rep.ok, f"{rep.mismatches} mismatches; first: {rep.first_mismatch}"
    return rep
