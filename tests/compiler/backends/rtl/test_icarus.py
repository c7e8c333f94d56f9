"""Icarus Verilog as a second RTL simulator: on the hand-built IR graphs (every kind, branches, padding) it gives
the NumPy simulator's outputs bit for bit and exactly Verilator's cycle figures; a corrupted ROM and an X reaching
the outputs are reported; `bnnc rtlsim --simulator icarus` writes the same rtlsim.json."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

import irgraphs
from bnnc import main
from rtl_check import requires_verilator, rtl_project
from compiler.backends.rtl import icarus, verilator
from compiler.sim.ir_inputs import random_inputs
from diagnostics.errors import CompileError

pytestmark = pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not installed (make setup)")

FAST = ["conv_int", "ties", "pools_depthwise", "residual"]     # the graphs Icarus runs in seconds


@requires_verilator
@pytest.mark.parametrize("name", FAST)
def test_icarus_equals_the_simulator_and_verilator(name, tmp_path):
    g = getattr(irgraphs, name)()
    proj = rtl_project(g, tmp_path)
    x = random_inputs(g, 4, 0)
    ic = icarus.check(g, proj, x)
    assert ic.ok and ic.frames == 4, ic.first_mismatch
    ve = verilator.check(g, proj, x)
    assert ve.ok
    # the same design in two simulators: the same cycle of every frame's last output word and FIFO levels
    assert (ic.cycles_per_frame, ic.latency_cycles, ic.total_cycles, ic.fifo_max_level) == \
           (ve.cycles_per_frame, ve.latency_cycles, ve.total_cycles, ve.fifo_max_level)


def test_icarus_under_backpressure(tmp_path):
    g = irgraphs.residual()
    rep = icarus.check(g, rtl_project(g, tmp_path), random_inputs(g, 5, 1), stall_seed=3)
    assert rep.ok and rep.frames == 5


def test_icarus_catches_a_flipped_weight_bit(tmp_path):
    g = irgraphs.conv_int()
    proj = rtl_project(g, tmp_path)
    rom = sorted((proj.path / "params").glob("*_weights.hex"))[-1]              # the last layer's: its sums are the output
    lines = rom.read_text().splitlines()
    lines[0] = format(int(lines[0], 16) ^ 1, "0" + str(len(lines[0])) + "x")
    rom.write_text("\n".join(lines) + "\n")
    rep = icarus.check(g, proj, random_inputs(g, 4, 0))
    assert not rep.ok and rep.first_mismatch.startswith("frame ")


def test_an_x_on_the_outputs_is_an_error(tmp_path):
    """Four states: a ROM word the file leaves unset is X in Icarus (0 in a two-state simulator); the sums it enters
    are X, and an X output word must not pass as a number."""
    g = irgraphs.conv_int()
    proj = rtl_project(g, tmp_path)
    rom = sorted((proj.path / "params").glob("*_weights.hex"))[-1]             # the last layer's: its sums are the output
    rom.write_text("\n".join(rom.read_text().splitlines()[:-1]) + "\n")      # the last word stays X
    with pytest.raises(CompileError, match=r"X in output word \d+"):
        icarus.check(g, proj, random_inputs(g, 4, 0))


def test_cli_rtlsim_with_icarus(tmp_path):
    g = irgraphs.residual()
    g.save(tmp_path / "build")
    res = CliRunner().invoke(main, ["rtlsim", str(tmp_path / "build"), "--frames", "3", "--simulator", "icarus"])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "build" / "rtlsim.json").read_text())
    assert doc["tool"].startswith("Icarus Verilog") and doc["frames"] == 3 and doc["mismatches"] == 0
    assert doc["cycles_per_frame"] == doc["estimated_cycles_per_frame"]
    assert "Icarus compile" in res.output


def test_missing_icarus_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(CompileError, match="(?s)iverilog is not on PATH.*apt-get install iverilog"):
        icarus.tool_version()
