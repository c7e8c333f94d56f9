"""RTL backend on a depthwise stack: MobileNet-v1 style (bnn.topologies `mobilenet`: 3x3 stem, depthwise 3x3 +
pointwise 1x1 blocks, global average pool, FC; 4-bit weights and activations), random init with random
batch-norm statistics so every threshold matters. `bnnc rtlsim` (Verilator: bit-exactness, cycles per frame)
and `bnnc synth` (Yosys synth_xilinx xc7) beside the RTL-target cost model, per layer.

usage: python benchmarks/rtl_depthwise.py [WORK_DIR] [--width 0.25] [--size 32] [--frames 50] [--target-fps F]
       [--no-synth]
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


def export_model(onnx: Path, width: float, size: int, seed: int = 0) -> None:
    import torch
    from torch import nn

    from bnn.export import export_qonnx
    from bnn.topologies import build

    torch.manual_seed(seed)
    model = build("mobilenet", 4, 4, width=width, in_channels=3, in_size=size)
    for m in model.modules():                      # random statistics: thresholds spread over the value range
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model.eval(), onnx, (3, size, size), dynamo=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("work", nargs="?", default="runs/rtl_depthwise")
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--target-fps", default=None, help="fold for this rate on Pynq-Z2 (default: unfolded minimum)")
    ap.add_argument("--no-synth", action="store_true")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    onnx, out = work / "mobilenet.onnx", work / "mobilenet"
    export_model(onnx, args.width, args.size)
    cmd = [BNNC, "compile", str(onnx), "-o", str(out), "--verify", "--force"]
    if args.target_fps:
        cmd += ["--board", "Pynq-Z2", "--target-fps", args.target_fps]
    subprocess.run(cmd, check=True)
    subprocess.run([BNNC, "rtlsim", str(out), "--frames", str(args.frames)], check=True)
    sim = json.loads((out / "rtlsim.json").read_text())
    print(f"\nrtlsim ({sim.get('tool', 'verilator')}): {sim['frames']} frames, {sim['mismatches']} mismatches; "
          f"cycles/frame measured {sim['cycles_per_frame']} / estimated {sim['estimated_cycles_per_frame']} "
          f"= {sim['cycles_per_frame'] / sim['estimated_cycles_per_frame']:.3f}")
    if args.no_synth:
        return
    subprocess.run([BNNC, "synth", str(out)], check=True)
    syn = json.loads((out / "synth.json").read_text())
    print(f"\n{'layer':24} {'kind':14} " + " ".join(f"{k + ' synth/est':>18}" for k in ("LUT", "FF", "BRAM18")))
    for l in syn["layers"] + [{"name": "total", "kind": "", "synth": syn["total"], "estimated": syn["estimated_total"]}]:
        cells = []
        for k in ("LUT", "FF", "BRAM18"):
            s, e = l["synth"][k], l["estimated"][k]
            cells.append(f"{s}/{e}" + (f" ({s / e:.2f})" if e else ""))
        print(f"{l['name'][:24]:24} {l.get('kind', '')[:14]:14} " + " ".join(f"{c:>18}" for c in cells))
    print(f"\n{syn['tool']}, part {syn['part']}; post-synthesis counts, no place and route")


if __name__ == "__main__":
    main()
