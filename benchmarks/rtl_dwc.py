"""bnnc_dwc (hwlib/verilog) alone, synthesized by Yosys 0.23 synth_xilinx xc7 at several (IN, OUT, B), beside the
RTL estimate of the converter itself (compiler.estimate.cost.dwc_cost, target "rtl", without the FIFO after it) and the
HLS rule max(w_in, w_out).

usage: python benchmarks/rtl_dwc.py [WORK_DIR]
Integer ratios take cheap paths; other ratios pay a variable shift (`incoming << kept*B` over IN+OUT
elements); docs/cost_model.md records what this prints and the constants fitted on it. The FIFO the RTL puts after a converter is not part of these counts.
"""
from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

from compiler.backends.rtl.yosys import cell_resources
from compiler.backends.rtl.library_cost import dwc_luts

RTL = Path(__file__).resolve().parents[1] / "hwlib" / "verilog" / "bnnc_dwc.v"
POINTS = [(4, 2, 1), (2, 4, 1), (16, 8, 1), (8, 16, 1), (8, 10, 2), (7, 1, 2), (1, 7, 2), (3, 1, 4), (1, 3, 4),
          (8, 4, 4), (4, 8, 4), (6, 8, 3), (8, 6, 3), (24, 3, 2), (3, 24, 2), (32, 4, 1), (4, 32, 1), (16, 49, 1),
          (49, 8, 2), (8, 49, 2), (64, 32, 1), (32, 64, 1)]


def synth(work: Path, i: int, o: int, b: int) -> dict[str, int]:
    stat = work / f"dwc_{i}_{o}_{b}.txt"
    subprocess.run(["yosys", "-q", "-p", f"read_verilog {RTL}; chparam -set IN {i} -set OUT {o} -set B {b} bnnc_dwc; "
                    f"synth_xilinx -family xc7 -top bnnc_dwc; tee -q -o {stat} stat"], check=True, capture_output=True)
    cells = {m[1]: int(m[2]) for m in re.finditer(r"^\s+(\w+)\s+(\d+)$", stat.read_text(), re.M)}
    return cell_resources(cells)


def rtl_estimate(i: int, o: int, b: int) -> int:
    """compiler.estimate.cost.dwc_cost's converter LUTs on the RTL target (compiler.backends.rtl.library_cost.dwc_luts;
    its FIFO left out)."""
    return round(dwc_luts(i, o, i * b, o * b))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("work", nargs="?", default="runs/rtl_dwc")
    work = Path(ap.parse_args().work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"{'IN':>3} {'OUT':>3} {'B':>2}  LUT synth / RTL est (ratio) / HLS rule   FF synth   (Yosys 0.23 xc7, bnnc_dwc alone)")
    for i, o, b in POINTS:
        r = synth(work, i, o, b)
        est = rtl_estimate(i, o, b)
        print(f"{i:>3} {o:>3} {b:>2}  {r['LUT']:>5} / {est:<5} ({r['LUT'] / est:4.2f}) / {max(i, o) * b:<5}  {r['FF']:>4}",
              flush=True)

if __name__ == "__main__":
    main()
