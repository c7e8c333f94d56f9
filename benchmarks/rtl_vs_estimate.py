"""RTL backend vs the cost model on TFC-W1A1 and LFC-W1A1 (untrained export; exactness does not need
training): `bnnc rtlsim` (Verilator, cycles per frame, latency, bit-exactness) and `bnnc synth` (Yosys
synth_xilinx xc7) beside compiler.cost's estimates, as ratios measured / estimated.

usage: python benchmarks/rtl_vs_estimate.py [WORK_DIR] [--models tfc,lfc] [--frames 50]
Foldings: TFC as FINN's end-to-end TFC-W1A1 example, LFC as tests/compiler/test_csim_lfc.py.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

FOLDINGS = {"tfc": [(16, 49), (8, 8), (8, 8), (10, 8)], "lfc": [(32, 49), (32, 64), (16, 32), (10, 8)]}
BNNC = str(Path(sys.executable).with_name("bnnc"))


def build_dir(work: Path, name: str) -> Path:
    import torch

    from bnn.export import export_qonnx
    from bnn.topologies import build

    out = work / name
    onnx = work / f"{name}.onnx"
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(build(name, 1, 1).eval(), onnx, (1, 1, 28, 28), dynamo=False)
    subprocess.run([BNNC, "compile", str(onnx), "-o", str(out)], check=True, capture_output=True)
    names = [l["name"] for l in json.loads((out / "graph.json").read_text())["layers"] if l["kind"] == "MVTU"]
    folding = {n: {"pe": pe, "simd": simd} for n, (pe, simd) in zip(names, FOLDINGS[name])}
    (work / f"{name}_folding.json").write_text(json.dumps(folding))
    subprocess.run([BNNC, "compile", str(onnx), "-o", str(out), "--board", "Pynq-Z2", "--folding",
                    str(work / f"{name}_folding.json")], check=True, capture_output=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("work", nargs="?", default="runs/rtl_vs_estimate")
    ap.add_argument("--models", default="tfc,lfc")
    ap.add_argument("--frames", type=int, default=50)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.models.split(","):
        out = build_dir(work, name)
        subprocess.run([BNNC, "rtlsim", str(out), "--frames", str(args.frames)], check=True)
        subprocess.run([BNNC, "synth", str(out)], check=True)
        sim = json.loads((out / "rtlsim.json").read_text())
        syn = json.loads((out / "synth.json").read_text())
        rows.append((name, sim, syn))
    print(f"\n{'model':6} {'mism.':>6} {'II meas/est':>16} {'latency meas/est':>18} "
          + " ".join(f"{k + ' synth/est':>20}" for k in ("LUT", "FF", "BRAM18")))
    for name, sim, syn in rows:
        ii = f"{sim['cycles_per_frame']}/{sim['estimated_cycles_per_frame']}"
        lat = f"{sim['latency_cycles']}/{sim['estimated_latency_cycles']}"
        res = []
        for k in ("LUT", "FF", "BRAM18"):
            s, e = syn["total"][k], syn["estimated_total"][k]
            res.append(f"{s}/{e}" + (f" ({s / e:.2f})" if e else ""))
        print(f"{name:6} {sim['mismatches']:>6} {ii:>16} {lat:>18} " + " ".join(f"{r:>20}" for r in res))
    print(f"\n{rows[0][2]['tool']}, part {rows[0][2]['part']}; post-synthesis counts, no place and route")


if __name__ == "__main__":
    main()
