"""bnnc's RTL against BNN-PYNQ's published hardware: throughput per LUT.

For LFC-W1A1 and CNV-W1A1/W1A2/W2A2 (untrained exports: exactness and cost do not need training) this builds
bnnc's design at BNN-PYNQ's folding (PE/SIMD per layer from their config.h, clamped to the largest divisor of
our layer's MH/MW: our LFC input is 784 wide, not padded to 832, and our classifier has 10 outputs, not 64),
runs `bnnc rtlsim` (Verilator, bit-exact check, measured cycles per frame) and `bnnc synth` (Yosys 0.23
synth_xilinx xc7), and prints our FPS at 100 MHz (100e6 / measured cycles per frame), our Yosys LUTs, and
FPS per LUT beside the published figures.

The published numbers are inputs of the comparison, labelled as published (BNN-PYNQ, Vivado 2018.2, xc7z020;
the LFC throughput figure is the one BNN-PYNQ's LFC notebook reports). Ours are post-synthesis Yosys counts,
theirs post-route Vivado: the ratio compares designs, not tools, only to within that difference. CNV-W1A2 has no
published point here; its row shows ours only. W1A2/W2A2 use the W1A1 folding (BNN-PYNQ's W2A2 folding is
not in this repository); say so when quoting.

usage: python benchmarks/hardware_vs_published.py [WORK_DIR] [--models lfc-w1a1,cnv-w1a1,cnv-w1a2,cnv-w2a2]
       [--frames 50]       (slow: CNV synthesis takes ~8 CPU-minutes per model, Verilator builds minutes)
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

BNNC = str(Path(sys.executable).with_name("bnnc"))
CLOCK_MHZ = 100.0
SOURCE = "BNN-PYNQ (https://github.com/Xilinx/BNN-PYNQ), Vivado 2018.2, xc7z020"
#: published operating points: images/s and LUTs (inputs of the comparison, not measured here)
PUBLISHED = {"lfc-w1a1": (356_633, 28_360), "cnv-w1a1": (9_150, 26_072), "cnv-w2a2": (2_580, 37_302)}
#: BNN-PYNQ config.h folding, (PE, SIMD) per matrix layer in order
BNN_PYNQ_FOLDING = {
    "lfc": [(32, 64), (64, 32), (32, 64), (16, 8)],
    "cnv": [(16, 3), (32, 32), (16, 32), (16, 32), (4, 32), (1, 32), (1, 4), (1, 8), (4, 1)],
}


def largest_divisor(n: int, at_most: int) -> int:
    return max(d for d in range(1, min(n, at_most) + 1) if n % d == 0)


def folding_for(graph: dict, net: str) -> dict:
    """Layer name -> folding: BNN-PYNQ's per-MVTU (PE, SIMD) clamped to divisors; a sliding window streams the
    next MVTU's SIMD channels per word; a max-pool takes all channels of a pixel per cycle (as theirs)."""
    layers = graph["layers"]
    mvtus = [l for l in layers if l["kind"] == "MVTU"]
    plan = BNN_PYNQ_FOLDING[net]
    if len(mvtus) != len(plan):
        raise SystemExit(f"{net}: {len(mvtus)} matrix layers, BNN-PYNQ's folding has {len(plan)}")
    fold = {}
    for l, (pe, simd) in zip(mvtus, plan):
        fold[l["name"]] = {"pe": largest_divisor(l["attrs"]["MH"], pe), "simd": largest_divisor(l["attrs"]["MW"], simd)}
    for i, l in enumerate(layers):
        if l["kind"] == "SlidingWindow":
            nxt = next(m for m in layers[i + 1:] if m["kind"] == "MVTU")
            fold[l["name"]] = {"simd": largest_divisor(l["attrs"]["channels"], fold[nxt["name"]]["simd"])}
        elif l["kind"] == "MaxPool":
            fold[l["name"]] = {"pe": l["attrs"]["channels"]}
    return fold


def build_dir(work: Path, model: str) -> Path:
    import torch

    from bnn.export import export_qonnx
    from bnn.topologies import build

    net, wa = model.split("-")
    w, a = int(wa[1]), int(wa[3])
    ch, size = (1, 28) if net == "lfc" else (3, 32)
    out, onnx = work / model, work / f"{model}.onnx"
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(build(net, w, a, in_channels=ch).eval(), onnx, (ch, size, size), dynamo=False)
    subprocess.run([BNNC, "compile", str(onnx), "-o", str(out)], check=True, capture_output=True)
    fold = folding_for(json.loads((out / "graph.json").read_text()), net)
    (work / f"{model}_folding.json").write_text(json.dumps(fold, indent=1))
    # no --board: the folding is BNN-PYNQ's, not checked against our (HLS-path) budget estimate; synth targets xc7z020
    subprocess.run([BNNC, "compile", str(onnx), "-o", str(out), "--clock-mhz", str(CLOCK_MHZ),
                    "--folding", str(work / f"{model}_folding.json")], check=True, capture_output=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("work", nargs="?", default="runs/hardware_vs_published")
    ap.add_argument("--models", default="lfc-w1a1,cnv-w1a1,cnv-w1a2,cnv-w2a2")
    ap.add_argument("--frames", type=int, default=50)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for model in args.models.split(","):
        out = build_dir(work, model)
        subprocess.run([BNNC, "rtlsim", str(out), "--frames", str(args.frames)], check=True)
        subprocess.run([BNNC, "synth", str(out), "--board", "Pynq-Z2"], check=True)
        sim = json.loads((out / "rtlsim.json").read_text())
        syn = json.loads((out / "synth.json").read_text())
        fps = CLOCK_MHZ * 1e6 / sim["cycles_per_frame"]
        row = {"model": model, "mismatches": sim["mismatches"], "frames": sim["frames"],
               "cycles_per_frame": sim["cycles_per_frame"], "fps": fps, "lut": syn["total"]["LUT"],
               "fps_per_lut": fps / syn["total"]["LUT"], "tool": syn["tool"]}
        if model in PUBLISHED:
            pfps, plut = PUBLISHED[model]
            row.update(published_fps=pfps, published_lut=plut, published_fps_per_lut=pfps / plut,
                       ratio=row["fps_per_lut"] / (pfps / plut))
        rows.append(row)
    (work / "hardware_vs_published.json").write_text(json.dumps({"clock_mhz": CLOCK_MHZ, "published_source": SOURCE,
                                                                 "rows": rows}, indent=1))
    print(f"\n{'model':9} {'mism.':>5} {'ours FPS@100MHz':>16} {'ours LUT':>9} {'ours FPS/LUT':>13} "
          f"{'published FPS':>14} {'pub. LUT':>9} {'pub. FPS/LUT':>13} {'ours/pub.':>9}")
    for r in rows:
        pub = (f"{r['published_fps']:>14,} {r['published_lut']:>9,} {r['published_fps_per_lut']:>13.2f} "
               f"{r['ratio']:>9.2f}") if "ratio" in r else f"{'—':>14} {'—':>9} {'—':>13} {'—':>9}"
        print(f"{r['model']:9} {r['mismatches']:>5} {r['fps']:>16,.0f} {r['lut']:>9,} {r['fps_per_lut']:>13.2f} {pub}")
    print(f"\nours: rtlsim-measured cycles/frame at {CLOCK_MHZ:g} MHz, {rows[0]['tool']} post-synthesis LUTs "
          f"(no place and route); published: {SOURCE}")


if __name__ == "__main__":
    main()
