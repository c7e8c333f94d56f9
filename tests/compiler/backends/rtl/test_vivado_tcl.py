"""`bnnc bitstream --rtl`: the Vivado Tcl of the RTL path parses and dry-runs in tclsh against a mock Vivado
(every Vivado command logged), and without vivado the CLI stops with a clear message after generating."""
import json

import pytest
from click.testing import CliRunner

from bnnc import main
from boards.catalog import get_board
from compiler.backends.rtl.project import generate_rtl
from compiler.backends.rtl.vivado import write_scripts
import irgraphs
from mock_vivado import requires_tclsh, tcl_complete, tclsh, write_mock

# the processor system's reset cell the RTL block design looks up
GET_BD_CELLS = 'proc get_bd_cells {args} { puts $::log "get_bd_cells $args"; return [list /rst_ps_100M] }'


@requires_tclsh
@pytest.mark.parametrize("board,ps", [("pynq-z2", "processing_system7"), ("ultra96", "zynq_ultra_ps_e")])
def test_rtl_vivado_tcl_parses_and_runs_against_a_mock_vivado(tmp_path, board, ps):
    g = irgraphs.conv_bipolar()
    project = generate_rtl(g, tmp_path / "rtl")
    script = write_scripts(project, "conv_bipolar", get_board(board), 100.0)
    assert tcl_complete(tmp_path, script, project.path / "vivado_presynth.tcl") == ["1", "1"]

    write_mock(tmp_path, GET_BD_CELLS)
    for f in ("bnnc_rtl.gen/sources_1/bd/bnnc/hdl/bnnc_wrapper.v", "bnnc_rtl.runs/impl_1/bnnc_wrapper.bit",
              "bnnc_rtl.gen/sources_1/bd/bnnc/hw_handoff/bnnc.hwh"):       # what Vivado would have produced
        (project.path / "vivado" / f).parent.mkdir(parents=True, exist_ok=True)
        (project.path / "vivado" / f).write_text(f)
    res = tclsh(tmp_path / "mock.tcl", script, tmp_path / "v.log")
    assert res.returncode == 0, res.stderr
    log = (tmp_path / "v.log").read_text()
    assert f"-part {get_board(board).part}" in log and f"xilinx.com:ip:{ps}:2.0 ps" in log
    assert "-type module -reference bnnc_top accel" in log
    assert "ip_repo" not in log and "vitis" not in log.lower()     # no HLS IP involved
    for src in project.sources:
        assert str(project.path / src) in log                   # every Verilog file added
    roms = sorted(p.name for p in (project.path / "params").glob("*.hex"))
    assert roms and all(r in log for r in roms)
    io = project.meta
    assert f"CONFIG.c_m_axis_mm2s_tdata_width {io['input']['axi_bytes'] * 8}" in log
    assert f"CONFIG.c_s_axis_s2mm_tdata_width {io['output']['axi_bytes'] * 8}" in log
    assert "accel_ctrl/gpio_io_o" in log and "accel/num_frames" in log and "peripheral_reset" in log
    assert "launch_runs impl_1 -to_step write_bitstream" in log
    assert (project.path / "output" / "conv_bipolar.bit").read_text().endswith("bnnc_wrapper.bit")

    (project.path / "units.v").unlink()                          # a missing source: the script refuses
    res = tclsh(tmp_path / "mock.tcl", script, tmp_path / "v2.log")
    assert res.returncode != 0 and "units.v missing" in res.stderr


def test_bitstream_rtl_without_vivado_is_a_clear_error(tmp_path, monkeypatch):
    g = irgraphs.ties()
    g.save(tmp_path / "b")
    monkeypatch.setenv("PATH", "/nonexistent")
    res = CliRunner().invoke(main, ["bitstream", str(tmp_path / "b"), "--rtl"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "vivado is not on PATH" in res.output and "no Vitis HLS needed" in res.output
    assert (tmp_path / "b" / "rtl" / "vivado.tcl").is_file() and (tmp_path / "b" / "rtl" / "bnnc_top.v").is_file()
    assert json.loads((tmp_path / "b" / "rtl" / "rtl.json").read_text())["top"] == "bnnc_top"
