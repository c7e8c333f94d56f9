"""A mock Vivado / Vitis HLS for tclsh, shared by the HLS and RTL backends' Tcl tests: every command the generated
scripts run is logged to the file given as the second argument (`proc unknown`), IP definitions and properties answer
as Vivado's would, so a script can be parsed and dry-run without the Xilinx tools."""
import shutil
import subprocess
from pathlib import Path

import pytest

requires_tclsh = pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh not installed (make setup)")

MOCK = r"""
set ::log [open [lindex $argv 1] w]
proc unknown {args} { puts $::log $args; return "" }
proc get_ipdefs {args} {
    regexp {xilinx.com:ip:([a-z0-9_]+):} [lindex $args end] -> n
    return [list "xilinx.com:ip:$n:1.0" "xilinx.com:ip:$n:2.0"]
}
proc get_property {args} { return "100%" }
EXTRA
source [lindex $argv 0]
close $::log
"""


def tclsh(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["tclsh", *map(str, args)], capture_output=True, text=True)


def write_mock(folder: Path, extra: str = "") -> Path:
    """folder/mock.tcl: run as `tclsh mock.tcl SCRIPT LOG`; `extra` adds procs (e.g. a get_bd_cells answer)."""
    path = folder / "mock.tcl"
    path.write_text(MOCK.replace("EXTRA\n", extra + "\n" if extra else ""))
    return path


def tcl_complete(folder: Path, *scripts: Path) -> list[str]:
    """Tcl's `info complete` of each script ("1": it parses as whole commands)."""
    check = folder / "complete.tcl"
    check.write_text('foreach f $argv { set h [open $f]; puts [info complete [read $h]]; close $h }')
    return tclsh(check, *scripts).stdout.split()
