"""Yosys synthesis of a generated RTL project for a Xilinx family: per-unit (= per layer) and whole-design
resource counts in the keys of the cost model (LUT, FF, LUTRAM, BRAM18, DSP).

One `synth_xilinx` run without flattening keeps the unit modules, so a single run gives every layer and the
total. LUT counts logic LUTs plus LUTs used as memory (LUTRAM and SRLs), as Vivado's "Slice LUTs" does;
LUTRAM is that memory part alone. No place and route happens here (nextpnr-xilinx is not packaged), so
these are post-synthesis, pre-optimisation counts of one pinned Yosys version.
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from compiler.backends.rtl.project import TOP, RtlProject
from compiler.backends.rtl.verilator import tool_version
from diagnostics.errors import CompileError

YOSYS = "yosys"
KEYS = ("LUT", "FF", "LUTRAM", "BRAM18", "DSP")
LUT_CELLS = {f"LUT{i}": 1 for i in range(1, 7)}
# LUTs a distributed-RAM / shift-register primitive occupies (UG474 / UG574)
LUTRAM_CELLS = {"RAM32X1S": 1, "RAM64X1S": 1, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1S": 2, "RAM128X1D": 4,
                "RAM256X1S": 4, "RAM256X1D": 8, "RAM512X1S": 8, "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8,
                "RAM64M8": 8, "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1}
FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE")
BRAM_CELLS = {"RAMB18E1": 1, "RAMB36E1": 2, "RAMB18E2": 1, "RAMB36E2": 2}
DSP_CELLS = ("DSP48E1", "DSP48E2")


def family_for_part(part: str) -> str:
    """synth_xilinx -family of an FPGA part: xc7 (Zynq-7000 / 7-series) or xcup (Zynq UltraScale+)."""
    p = part.lower()
    if p.startswith("xc7"):
        return "xc7"
    if p.startswith(("xczu", "xck", "xcu")):
        return "xcup"
    raise CompileError(f"part {part!r}: no Yosys synth_xilinx family known for it (xc7* or xczu*/xck*)")


def cell_resources(cells: dict[str, int]) -> dict[str, int]:
    """Primitive cell counts -> {LUT, FF, LUTRAM, BRAM18, DSP}."""
    lutram = sum(n * LUTRAM_CELLS[c] for c, n in cells.items() if c in LUTRAM_CELLS)
    return {"LUT": sum(n for c, n in cells.items() if c in LUT_CELLS) + lutram,
            "FF": sum(n for c, n in cells.items() if c in FF_CELLS),
            "LUTRAM": lutram,
            "BRAM18": sum(n * BRAM_CELLS[c] for c, n in cells.items() if c in BRAM_CELLS),
            "DSP": sum(n for c, n in cells.items() if c in DSP_CELLS)}


def _flatten_counts(modules: dict[str, dict], name: str, memo: dict) -> dict[str, int]:
    """Primitive cells of module `name` including its submodules' (stat counts instances as cells)."""
    if name in memo:
        return memo[name]
    out: dict[str, int] = {}
    for cell, n in modules[name].get("num_cells_by_type", {}).items():
        sub = cell if cell in modules else "\\" + cell if "\\" + cell in modules else None
        if sub is not None:
            for c, m in _flatten_counts(modules, sub, memo).items():
                out[c] = out.get(c, 0) + n * m
        else:
            out[cell] = out.get(cell, 0) + n
    memo[name] = out
    return out


def _modules(stat: Path) -> dict[str, dict]:
    """The "modules" object of `stat -json` (Yosys 0.23 follows it with a non-JSON hierarchy listing)."""
    text = stat.read_text()
    at = text.find('"modules"')
    try:
        return json.JSONDecoder().raw_decode(text, text.index("{", at))[0] if at >= 0 else {}
    except ValueError as e:
        raise CompileError(f"{stat}: cannot read Yosys statistics ({e})") from None


def synthesize(project: RtlProject, family: str, log: Path | None = None) -> dict:
    """Run Yosys on the project; returns {"tool", "family", "seconds", "total", "units": {unit: resources}}."""
    version = tool_version(YOSYS)
    out_dir = project.path / "synth"
    out_dir.mkdir(exist_ok=True)
    stat = out_dir / f"stat-{family}.json"
    script = (f"read_verilog -defer {' '.join(project.sources)}; hierarchy -check -top {TOP}; "
              f"synth_xilinx -family {family} -top {TOP}; tee -q -o {stat.relative_to(project.path)} stat -json")
    t0 = time.perf_counter()
    res = subprocess.run([YOSYS, "-q", "-l", str((log or out_dir / f"yosys-{family}.log").resolve()), "-p", script],
                         cwd=project.path, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if res.returncode or not stat.is_file():
        tail = "\n".join((res.stderr or res.stdout).strip().splitlines()[-20:])
        raise CompileError(f"Yosys synthesis of {project.path} failed (exit {res.returncode}):\n{tail}",
                           hint=f"full log: {out_dir / f'yosys-{family}.log'}")
    modules = _modules(stat)
    memo: dict = {}
    top = TOP if TOP in modules else "\\" + TOP
    units = {}
    for u in project.meta["units"]:
        key = next((m for m in modules if m == "\\" + u["unit"] or m.startswith(f"$paramod\\{u['unit']}\\")), None)
        if key is None:
            raise CompileError(f"Yosys statistics of {project.path} have no module {u['unit']}")
        units[u["unit"]] = cell_resources(_flatten_counts(modules, key, memo))
    return {"tool": version, "family": family, "seconds": round(seconds, 1),
            "total": cell_resources(_flatten_counts(modules, top, memo)), "units": units}
