"""compiler.workflow.target.resolve_target: one rule for the board and clock of every command after compile (the
user's, else build_config.json's, else the existing HLS project's, else Pynq-Z2), and the one clock check."""
import json

import pytest
from click.testing import CliRunner

import irgraphs
from bnnc import main
from compiler.backends.hls.project import generate_project
from compiler.workflow.config import BuildConfig, ConfigError
from compiler.workflow.target import DEFAULT_BOARD, resolve_target


@pytest.fixture
def build(tmp_path):
    """A build folder of a hand-made graph (graph.json), compiled for ZCU104 at 150 MHz (build_config.json)."""
    d = tmp_path / "b"
    irgraphs.ties().save(d)
    BuildConfig(board="ZCU104", clock_mhz=150.0).save(d)
    return d


def test_the_builds_board_and_clock_then_the_users(build):
    t = resolve_target(build)
    assert (t.board.name, t.clock_mhz, t.board_from, t.clock_from) == ("ZCU104", 150.0, "build_config.json",
                                                                       "build_config.json")
    t = resolve_target(build, clock_mhz=200)
    assert (t.board.name, t.clock_mhz, t.clock_from) == ("ZCU104", 200.0, "--clock-mhz")
    t = resolve_target(build, "pynq-z1")          # another board: its own default clock, not the build's
    assert (t.board.name, t.board_from, t.clock_from) == ("Pynq-Z1", "--board", "board default")
    assert t.clock_mhz == t.board.default_clock_mhz


def test_the_existing_project_then_the_default_board(tmp_path):
    d = tmp_path / "b"
    g = irgraphs.ties()
    g.save(d)
    t = resolve_target(d)
    assert (t.board.name, t.board_from, t.clock_from) == (DEFAULT_BOARD, "default", "board default")
    generate_project(g, d / "hls", "kv260", 125.0)            # `bnnc hls --board kv260 --clock-mhz 125` before
    t = resolve_target(d)
    assert (t.board.name, t.clock_mhz, t.board_from) == ("KV260", 125.0, "hls/project.json")
    BuildConfig(board="zcu104").save(d)                        # the build's own board comes first
    assert resolve_target(d).board.name == "ZCU104"


@pytest.mark.parametrize("bad", [0, -5.0, float("nan")])
def test_a_clock_that_is_not_positive_is_refused_in_one_place(build, bad):
    with pytest.raises(ConfigError, match=r"clock must be positive, got .* MHz"):
        BuildConfig(clock_mhz=bad)
    with pytest.raises(ConfigError, match=r"--clock-mhz: field 'clock_mhz': clock must be positive"):
        resolve_target(build, clock_mhz=bad)


def test_a_bad_clock_in_the_project_names_the_file(tmp_path):
    d = tmp_path / "b"
    irgraphs.ties().save(d)
    (d / "hls").mkdir()
    (d / "hls" / "project.json").write_text(json.dumps({"board": "Pynq-Z2", "clock_mhz": -1}))
    with pytest.raises(ConfigError, match=r"hls/project.json: field 'clock_mhz': clock must be positive"):
        resolve_target(d)


def test_every_command_takes_the_same_board(build, monkeypatch):
    """hls, bitstream --rtl and synth used three different rules; now all say ZCU104 for this build."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")                 # no Vitis HLS / Vivado
    r = CliRunner().invoke(main, ["hls", str(build), "--no-synth"])
    assert r.exit_code == 0 and "for ZCU104 (" in r.output and "at 150 MHz" in r.output, r.output
    r = CliRunner().invoke(main, ["bitstream", str(build), "--rtl"])
    assert "RTL project" in r.output and "for ZCU104 (" in r.output and "at 150 MHz" in r.output, r.output
    import compiler.workflow.rtl_runs as runs
    from diagnostics.errors import CompileError

    def no_yosys(build_dir, board):
        raise CompileError(f"synthesis stopped for the test ({board})")

    monkeypatch.setattr(runs, "synth_build", no_yosys)
    monkeypatch.setattr("compiler.backends.rtl.yosys.tool_version", lambda tool: "Yosys (test)")
    r = CliRunner().invoke(main, ["hls", str(build), "--no-synth", "--board", "kv260"])   # a one-off project
    assert r.exit_code == 0 and "for KV260 (" in r.output, r.output
    r = CliRunner().invoke(main, ["synth", str(build)])        # (synth took hls/project.json's board first)
    assert r.exit_code == 1 and "(ZCU104, " in r.output and "stopped for the test (ZCU104)" in r.output, r.output
    r = CliRunner().invoke(main, ["hls", str(build), "--no-synth", "--clock-mhz", "0"])
    assert r.exit_code == 1 and "clock must be positive, got 0.0 MHz" in r.output, r.output
