"""bnnc's RTL against BNN-PYNQ's published hardware: cycles per frame, throughput per LUT.

For LFC-W1A1 and CNV-W1A1/W1A2/W2A2 (untrained exports: exactness and cost do not need training) this builds
bnnc's design at BNN-PYNQ's folding (PE/SIMD per matrix layer from bnn/src/network/<net>/hw/config.h, clamped
to the largest divisor of our layer's MH/MW: our LFC input is 784 wide, not padded to 832, and our classifier has
10 outputs, not 64), runs `bnnc rtlsim` (Verilator; exits non-zero on any mismatch; measured cycles per frame)
and `bnnc synth` (Yosys 0.23 synth_xilinx xc7, Pynq-Z2's xc7z020), and prints our FPS at 100 MHz
(100e6 / measured cycles per frame), our LUTs and FPS per LUT beside the published figures.

Published figures (inputs of the comparison, not measured here; https://github.com/Xilinx/BNN-PYNQ at d39c1c7):
- LUTs: post-route "Slice LUTs" of the Pynq-Z1/Z2 (xc7z020) designs, Vivado 2018.2,
  bnn/src/network/{lfcW1A1,cnvW1A1,cnvW1A2,cnvW2A2}/README.md.
- Throughput: the images/s printed by the notebooks, notebooks/LFC-QNN_MNIST.ipynb (classify_mnists, 10,000
  MNIST images) and notebooks/CNV-QNN_Cifar10_Testset.ipynb (classify_cifars, 10,000 CIFAR-10 images). Those
  notebooks ran on a 64-bit board (their matplotlib object addresses are 64-bit; BNN-PYNQ's only 64-bit board is
  the Ultra96), whose overlays run the accelerator at 299.999695 MHz (FREQ_HZ in
  bnn/bitstreams/ultra96/*.hwh), not on the xc7z020 at 100 MHz (bnn/bitstreams/pynqZ1-Z2/*.hwh). So the
  published throughput and the published LUTs are two different boards of the same design (one config.h per
  network serves both). The comparison therefore goes through cycles per frame, which the folding fixes:
  published cycles/frame = 299.999695e6 / images/s (this includes the driver's host overhead, so it is an upper
  bound on the design's initiation interval), published FPS at 100 MHz = 100e6 / that; FPS per LUT divides
  each side's 100 MHz FPS by its LUTs.
Ours are post-synthesis Yosys counts, theirs post-route Vivado: the ratio compares designs to within that tool
difference. Our designs are untrained (weights do not change cycles; ROM contents change LUTs a little).

usage: python benchmarks/hardware_vs_published.py [WORK_DIR] [--models lfc-w1a1,cnv-w1a1,cnv-w1a2,cnv-w2a2]
       [--frames 50]   (slow: CNV synthesis takes ~8 CPU-minutes per model, a CNV Verilator build minutes)
       python benchmarks/hardware_vs_published.py [WORK_DIR] --table   (print the saved results only)
"""
from __future__ import annotations

import json
from pathlib import Path

from _rtl_runs import build_model, mvtu_folding, parse_model, rtlsim_and_synth, sweep_rows

CLOCK_MHZ = 100.0
REPO = "https://github.com/Xilinx/BNN-PYNQ (commit d39c1c7)"
#: the Ultra96 overlays' accelerator clock, bnn/bitstreams/ultra96/*.hwh FREQ_HZ
PUBLISHED_CLOCK_MHZ = 299.999695
#: images/s printed by BNN-PYNQ's notebooks (run on the Ultra96), and the notebook
PUBLISHED_FPS = {"lfc-w1a1": (356_633.39, "notebooks/LFC-QNN_MNIST.ipynb"),
                 "cnv-w1a1": (9_149.98, "notebooks/CNV-QNN_Cifar10_Testset.ipynb"),
                 "cnv-w1a2": (9_150.50, "notebooks/CNV-QNN_Cifar10_Testset.ipynb"),
                 "cnv-w2a2": (2_580.30, "notebooks/CNV-QNN_Cifar10_Testset.ipynb")}
#: post-route Slice LUTs on Pynq-Z1/Z2 (xc7z020), Vivado 2018.2, bnn/src/network/<net>/README.md
PUBLISHED_LUT = {"lfc-w1a1": 28_360, "cnv-w1a1": 26_072, "cnv-w1a2": 40_321, "cnv-w2a2": 37_302}
#: bnn/src/network/<net>/hw/config.h: (L<i>_PE, L<i>_SIMD) per matrix layer in order
BNN_PYNQ_FOLDING = {
    "lfc-w1a1": [(32, 64), (64, 32), (32, 64), (16, 8)],
    "cnv-w1a1": [(16, 3), (32, 32), (16, 32), (16, 32), (4, 32), (1, 32), (1, 4), (1, 8), (4, 1)],
    "cnv-w1a2": [(16, 3), (32, 32), (16, 32), (16, 32), (4, 32), (1, 32), (1, 4), (1, 8), (4, 1)],
    "cnv-w2a2": [(8, 3), (16, 16), (8, 16), (8, 16), (4, 8), (1, 8), (1, 2), (2, 2), (4, 1)],
}


def measure(work: Path, model: str, frames: int) -> tuple[dict, dict]:
    if model not in BNN_PYNQ_FOLDING:
        raise SystemExit(f"{model}: no BNN-PYNQ design known (one of {', '.join(BNN_PYNQ_FOLDING)})")
    parse_model(model)
    # no --board: the folding is BNN-PYNQ's, not checked against our budget estimate; synth targets xc7z020
    out = build_model(work, model, lambda g: mvtu_folding(g, BNN_PYNQ_FOLDING[model], model),
                      ("--clock-mhz", str(CLOCK_MHZ)))
    return rtlsim_and_synth(out, frames, board="Pynq-Z2")


def make_row(model: str, sim: dict, syn: dict) -> dict:
    fps = CLOCK_MHZ * 1e6 / sim["cycles_per_frame"]
    pfps, notebook = PUBLISHED_FPS[model]
    pcycles = PUBLISHED_CLOCK_MHZ * 1e6 / pfps
    pfps100 = CLOCK_MHZ * 1e6 / pcycles
    plut = PUBLISHED_LUT[model]
    row = {"model": model, "frames": sim["frames"], "mismatches": sim["mismatches"],
           "cycles_per_frame": sim["cycles_per_frame"], "estimated_cycles_per_frame": sim["estimated_cycles_per_frame"],
           "fps": fps, "lut": syn["total"]["LUT"], "estimated_lut": syn["estimated_total"]["LUT"],
           "fps_per_lut": fps / syn["total"]["LUT"], "tool": syn["tool"], "part": syn["part"],
           "published_fps": pfps, "published_fps_source": f"{REPO} {notebook}, Ultra96 at {PUBLISHED_CLOCK_MHZ} MHz",
           "published_cycles_per_frame": pcycles, "published_fps_at_100mhz": pfps100, "published_lut": plut,
           "published_lut_source": f"{REPO} bnn/src/network/{model.replace('-w', 'W').replace('a', 'A', 1)}"
                                   "/README.md, Pynq-Z1/Z2 xc7z020, Vivado 2018.2 post-route",
           "published_fps_per_lut": pfps100 / plut}
    row["ratio"] = row["fps_per_lut"] / row["published_fps_per_lut"]
    return row


def main() -> None:
    work, rows = sweep_rows("runs/hardware_vs_published", "lfc-w1a1,cnv-w1a1,cnv-w1a2,cnv-w2a2", measure, make_row)
    (work / "hardware_vs_published.json").write_text(json.dumps({"clock_mhz": CLOCK_MHZ, "rows": rows}, indent=1))
    print(f"\n{'':9} | {'ours (rtlsim, Yosys; est. = cost model)':^60} | {'published (BNN-PYNQ)':^58} |")
    print(f"{'model':9} | {'mism.':>5} {'cyc/frame':>9} {'est.':>9} {'FPS@100MHz':>10} {'LUT':>7} {'FPS/LUT':>8} | "
          f"{'FPS':>9} {'cyc/frame':>9} {'FPS@100MHz':>10} {'LUT':>7} {'FPS/LUT':>8} | {'ours/pub. FPS/LUT':>17}")
    for r in rows:
        print(f"{r['model']:9} | {r['mismatches']:>5} {r['cycles_per_frame']:>9,} "
              f"{r['estimated_cycles_per_frame']:>9,} {r['fps']:>10,.0f} {r['lut']:>7,} "
              f"{r['fps_per_lut']:>8.3f} | {r['published_fps']:>9,.0f} {r['published_cycles_per_frame']:>9,.0f} "
              f"{r['published_fps_at_100mhz']:>10,.0f} {r['published_lut']:>7,} {r['published_fps_per_lut']:>8.3f} | "
              f"{r['ratio']:>17.2f}")
    print(f"\nours: {rows[0]['frames']} random frames, rtlsim-measured cycles/frame at {CLOCK_MHZ:g} MHz, "
          f"{rows[0]['tool']} post-synthesis LUTs ({rows[0]['part']}; no place and route).\n"
          f"published: {REPO}; FPS printed by the notebooks on the Ultra96 (accelerator at {PUBLISHED_CLOCK_MHZ} "
          f"MHz, driver overhead included), cycles/frame = that clock / FPS, FPS@100MHz = 100e6 / cycles/frame; "
          "LUTs post-route on Pynq-Z1/Z2 (xc7z020), Vivado 2018.2. FPS/LUT = FPS@100MHz / LUT.")


if __name__ == "__main__":
    main()
