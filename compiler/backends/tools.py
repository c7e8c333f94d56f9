"""Running the Xilinx tools on a generated project: Vitis HLS (IP) then Vivado (bitstream).

Neither tool ships with bnnc; when one is missing the caller gets ToolMissing, whose message names the tool,
lists what has been generated so far and the commands that finish the job on a machine that has it.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from diagnostics import progress
from diagnostics.errors import CompileError

VITIS_HLS = "vitis_hls"
VIVADO = "vivado"


class ToolMissing(CompileError):
    """A Xilinx tool needed for the next step is not on PATH."""


def ip_dir(project: Path) -> Path:
    return Path(project) / "hls_prj" / "sol1" / "impl" / "ip"


def bitstream_files(project: Path) -> tuple[Path, Path]:
    stem = json.loads((Path(project) / "project.json").read_text())["bitstream_stem"]
    out = Path(project) / "output"
    return out / f"{stem}.bit", out / f"{stem}.hwh"


def generated_summary(project: Path) -> str:
    """One line per generated artefact that exists, for 'what was generated so far' messages."""
    project = Path(project)
    bit, hwh = bitstream_files(project)
    items = [("HLS sources (src/, include/, tb/)", project / "src" / "top.cpp"),
             ("Vitis HLS script", project / "hls.tcl"), ("Vivado script", project / "vivado.tcl"),
             ("stream metadata", project / "project.json"), ("C-simulation binary", project / "csim" / "csim"),
             ("HLS IP", ip_dir(project)), ("bitstream", bit), ("hardware handoff", hwh)]
    return "\n".join(f"  {what}: {path}" for what, path in items if path.exists())


def _missing(tool: str, project: Path, step: str) -> ToolMissing:
    cmds = f"cd {project} && vitis_hls -f hls.tcl && vivado -mode batch -source vivado.tcl"
    return ToolMissing(f"{tool} is not on PATH, so {step} cannot run here. Generated so far:\n"
                       f"{generated_summary(project)}",
                       hint=f"on a machine with Vitis HLS and Vivado (2020.2 or newer): {cmds}")


def _run(cmd: list[str], project: Path, log: str) -> None:
    with open(Path(project) / log, "w") as f, progress.step(f"{Path(cmd[0]).name} (log: {Path(project) / log})"):
        res = subprocess.run(cmd, cwd=project, stdout=f, stderr=subprocess.STDOUT)
    if res.returncode:
        raise CompileError(f"{' '.join(cmd)} failed (exit {res.returncode}); see {Path(project) / log}")


def run_hls(project: Path) -> Path:
    """vitis_hls -f hls.tcl -> the exported IP folder."""
    if shutil.which(VITIS_HLS) is None:
        raise _missing(VITIS_HLS, project, "HLS synthesis (C++ -> IP)")
    _run([VITIS_HLS, "-f", "hls.tcl"], project, "vitis_hls.log")
    if not ip_dir(project).is_dir():
        raise CompileError(f"vitis_hls finished but {ip_dir(project)} is missing; see {project / 'vitis_hls.log'}")
    return ip_dir(project)


def run_vivado(project: Path) -> tuple[Path, Path]:
    """vivado -mode batch -source vivado.tcl -> (bitstream, hwh)."""
    if shutil.which(VIVADO) is None:
        raise _missing(VIVADO, project, "the block design and implementation (IP -> bitstream)")
    _run([VIVADO, "-mode", "batch", "-source", "vivado.tcl", "-nojournal", "-log", "vivado.log"], project,
         "vivado.out")
    bit, hwh = bitstream_files(project)
    if not (bit.is_file() and hwh.is_file()):
        raise CompileError(f"vivado finished but {bit} / {hwh} are missing; see {project / 'vivado.log'}")
    return bit, hwh
