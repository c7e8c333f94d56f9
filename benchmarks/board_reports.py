"""Board reports for LFC-W1A1 and CNV-W1A1 on Pynq-Z1 and ZCU104, beside published FINN / BNN-PYNQ figures.

Runs the same path as `bnnc compile --board B --target-fps max` (compile_model + fold_graph + report) on
untrained models (weights do not change resources or throughput), then puts the estimates next to the
published numbers found for the same networks, and re-estimates the published designs at *their* folding
to show how far the cost model is from what was measured / placed and routed.

    python benchmarks/board_reports.py            # writes runs/board_reports/{results.md,results.json,<net>_<board>/}

Published reference figures (constants below, each with its source):
- finn-examples cnv_w1a1_cifar10 throughput_test(): 3020.5 images/s at fclk 99.999 MHz, batch 1000
  (finn_examples/notebooks/1_cifar10_with_cnv_networks.ipynb, commit 00da6d36, https://github.com/Xilinx/finn-examples).
  The notebook ran on a 64-bit (aarch64) PYNQ board -- Ultra96 or ZCU104, not stated; finn-examples builds
  cnv-w1a1 with the same folding_config/cnv-w1a1_folding_config.json at 10 ns for Pynq-Z1, Ultra96 and ZCU104
  (build/bnn-pynq/build.py).
- BNN-PYNQ lfcW1A1 classify_mnists on the 10,000 MNIST test images: 356,633.39 images/s (2.80 us/image)
  (notebooks/LFC-QNN_MNIST.ipynb, commit 10b2ab55, https://github.com/Xilinx/BNN-PYNQ). 64-bit board, i.e.
  Ultra96 (the only 64-bit board BNN-PYNQ supports), whose overlay runs at pl_clk2 = 299 MHz
  (bnn/src/library/script/ultra96/make-vivado-proj.tcl); Pynq-Z1/Z2 overlays run at 100 MHz (make-hw.sh).
- BNN-PYNQ post-route utilization on Pynq-Z1/Z2, Vivado 2018.2 (bnn/src/network/{lfcW1A1,cnvW1A1}/README.md):
  LFC-W1A1 28,360 LUT, 33,470 FF, 110 BRAM tiles (6 RAMB36 + 208 RAMB18 = 220 BRAM18), 4 DSP;
  CNV-W1A1 26,072 LUT, 41,312 FF, 124 BRAM tiles (76 RAMB36 + 96 RAMB18 = 248 BRAM18), 24 DSP;
  folding from bnn/src/network/{lfcW1A1,cnvW1A1}/hw/config.h.
- FINN paper (Umuroglu et al., FPGA'17, https://arxiv.org/abs/1612.07119), abstract: CNV on ZC706 (a
  different board, xc7z045) 21,906 images/s at 200 MHz; no Pynq-Z1 / ZCU104 figure.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]

import numpy as np  # noqa: E402

from boards.catalog import get_board  # noqa: E402
from compiler.estimate.cost import estimate  # noqa: E402
from compiler.estimate.folding import apply_folding, fold_graph  # noqa: E402
from compiler.ir.graph import DataflowGraph, InputSpec, Layer, OutputSpec  # noqa: E402
from compiler.workflow.report import build_report, write_report  # noqa: E402

OUT = ROOT / "runs" / "board_reports"
FINN_EX = "https://github.com/Xilinx/finn-examples"
BNN_PYNQ = "https://github.com/Xilinx/BNN-PYNQ"

# ---- published figures (see module docstring for exact files) ---------------------------------------------
CNV_FINN_EXAMPLES_FPS = 3020.496696706212      # throughput[images/s], fclk 99.999 MHz, 64-bit board
LFC_BNN_PYNQ_FPS = 356633.39                   # Ultra96 overlay at 299 MHz
BNN_PYNQ_UTIL = {"lfc": {"lut": 28360, "ff": 33470, "bram18": 6 * 2 + 208, "dsp": 4},
                 "cnv": {"lut": 26072, "ff": 41312, "bram18": 76 * 2 + 96, "dsp": 24}}
FINN_PAPER_CNV_ZC706 = (21906, 200.0)          # images/s, MHz

# finn-examples folding_config/cnv-w1a1_folding_config.json mapped onto our CNV layer names (their MaxPool is
# unfolded: it handles all channels of a pixel per cycle, i.e. pe = channels).
CNV_FINN_FOLDING = {
    "Conv_0_swg": {"simd": 3}, "Conv_0_mvtu": {"pe": 16, "simd": 3},
    "Conv_1_swg": {"simd": 32}, "Conv_1_mvtu": {"pe": 32, "simd": 32}, "MaxPool_0": {"pe": 64},
    "Conv_2_swg": {"simd": 32}, "Conv_2_mvtu": {"pe": 16, "simd": 32},
    "Conv_3_swg": {"simd": 32}, "Conv_3_mvtu": {"pe": 16, "simd": 32}, "MaxPool_1": {"pe": 128},
    "Conv_4_swg": {"simd": 32}, "Conv_4_mvtu": {"pe": 4, "simd": 32},
    "Conv_5_swg": {"simd": 32}, "Conv_5_mvtu": {"pe": 1, "simd": 32},
    "Gemm_0_mvtu": {"pe": 1, "simd": 4}, "Gemm_1_mvtu": {"pe": 1, "simd": 8}, "Gemm_2_mvtu": {"pe": 5, "simd": 1},
}


def export_models(work: Path) -> dict[str, Path]:
    import torch

    from bnn.export import export_qonnx
    from bnn.topologies import build

    torch.manual_seed(0)
    return {"lfc": export_qonnx(build("lfc", 1, 1, in_channels=1), work / "lfc_w1a1.onnx", (1, 28, 28)),
            "cnv": export_qonnx(build("cnv", 1, 1, in_channels=3), work / "cnv_w1a1.onnx", (3, 32, 32))}


def board_report(onnx: Path, net: str, board: str, work: Path) -> dict:
    """`bnnc compile --board B --target-fps max`, keeping only the report files (the graph is ~25 MB)."""
    from compiler.workflow.compile import load, lower, report, run_steps, write
    from compiler.workflow.config import BuildConfig

    brd = get_board(board)

    def fold(state, cfg):       # this benchmark's own folding step (compiler.workflow.compile runs custom steps)
        # weights in bitstream-initialised BRAM/LUTRAM, as BNN-PYNQ and FINN's defaults keep them (comparable)
        cost, source, notes = fold_graph(state.graph, brd, "max", weights_in="bram")
        state.report = build_report(state.graph.name, cost, brd, 0.85, source, None, notes, weights_in="bram")

    build_dir = work / f"{net}_{brd.name}"
    rep = run_steps(onnx, BuildConfig(name=f"{net}-w1a1"), build_dir, steps=(load, lower, fold, report, write),
                    save_config=False).report
    dest = OUT / build_dir.name
    dest.mkdir(parents=True, exist_ok=True)
    for f in ("report.json", "report.txt", "report.png"):
        shutil.copyfile(build_dir / f, dest / f)
    return rep


# ---- the published designs at their own folding --------------------------------------------------------
def _mvtu(name, mw, mh, nv, pe, simd, idt="BIPOLAR", acc="INT16", noact=False, vec=()):
    arrays = {"weights": np.ones((mh, mw), np.int64)}
    if not noact:
        arrays["thresholds"] = np.zeros((mh, 1), np.int64)
    return Layer(name, "MVTU", (*vec, mw), (*vec, mh), idt, acc if noact else "BIPOLAR",
                 dict(MW=mw, MH=mh, num_vectors=nv, weight_dtype="BIPOLAR", acc_dtype=acc, out_bias=0,
                      binary_xnor=idt == "BIPOLAR", noact=noact), arrays, {"pe": pe, "simd": simd})


def _swg(name, ifm, c, simd, dt="BIPOLAR"):
    o = ifm - 2
    return Layer(name, "SlidingWindow", (ifm, ifm, c), (o, o, 9 * c), dt, dt,
                 dict(ifm_dim=[ifm, ifm], channels=c, kernel=[3, 3], stride=[1, 1], pad=[0, 0, 0, 0], pad_value=0,
                      ofm_dim=[o, o]), {}, {"simd": simd})


def _pool(name, ifm, c):
    return Layer(name, "MaxPool", (ifm, ifm, c), (ifm // 2, ifm // 2, c), "BIPOLAR", "BIPOLAR",
                 dict(ifm_dim=[ifm, ifm], channels=c, kernel=[2, 2], stride=[2, 2], ofm_dim=[ifm // 2, ifm // 2]),
                 {}, {"pe": c})


def bnn_pynq_designs() -> dict[str, DataflowGraph]:
    """BNN-PYNQ's lfcW1A1 / cnvW1A1 exactly as in their config.h (LFC input padded to 832, output to 64)."""
    lfc = [_mvtu("L0", 832, 1024, 1, 32, 64), _mvtu("L1", 1024, 1024, 1, 64, 32), _mvtu("L2", 1024, 1024, 1, 32, 64),
           _mvtu("L3", 1024, 64, 1, 16, 8, noact=True)]
    cnv = [_swg("S0", 32, 3, 3, "INT8"), _mvtu("L0", 27, 64, 900, 16, 3, "INT8", vec=(30, 30)),
           _swg("S1", 30, 64, 32), _mvtu("L1", 576, 64, 784, 32, 32, vec=(28, 28)), _pool("P0", 28, 64),
           _swg("S2", 14, 64, 32), _mvtu("L2", 576, 128, 144, 16, 32, vec=(12, 12)),
           _swg("S3", 12, 128, 32), _mvtu("L3", 1152, 128, 100, 16, 32, vec=(10, 10)), _pool("P1", 10, 128),
           _swg("S4", 5, 128, 32), _mvtu("L4", 1152, 256, 9, 4, 32, vec=(3, 3)),
           _swg("S5", 3, 256, 32), _mvtu("L5", 2304, 256, 1, 1, 32, vec=(1, 1)),
           _mvtu("L6", 256, 512, 1, 1, 4), _mvtu("L7", 512, 512, 1, 1, 8), _mvtu("L8", 512, 64, 1, 4, 1, noact=True)]
    mk = lambda ls: DataflowGraph("bnn-pynq", ls, InputSpec(ls[0].in_shape, ls[0].in_dtype), OutputSpec(ls[-1].out_shape))  # noqa: E731
    return {"lfc": mk(lfc), "cnv": mk(cnv)}


def fmt(v, nd=0):
    return "—" if v is None else f"{v:,.{nd}f}"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {"estimates": [], "published_folding": [], "resources": []}
    with tempfile.TemporaryDirectory(prefix="bnnc-board-reports-") as tmp:
        work = Path(tmp)
        onnx = export_models(work)
        for net in ("lfc", "cnv"):
            for board in ("Pynq-Z1", "ZCU104"):
                rep = board_report(onnx[net], net, board, work)
                results["estimates"].append({"net": net, "board": board, "fps": rep["fps"], "ii": rep["ii_cycles"],
                                             "bottleneck": rep["bottleneck"], "clock_mhz": rep["clock_mhz"],
                                             "util": rep["utilization"], "why": rep["notes"][0]})
                print(f"{net} {board}: {rep['fps']:,.0f} FPS, II {rep['ii_cycles']}", flush=True)
        # our CNV IR at finn-examples' folding (clock 100 MHz as in their build)
        from compiler.workflow.compile import compile_model

        cnv_g = apply_folding(compile_model(onnx["cnv"]), CNV_FINN_FOLDING)
    cnv_fe = estimate(cnv_g, 100.0, 64)
    results["published_folding"].append({
        "design": "CNV-W1A1, finn-examples folding, 100 MHz", "ours_fps": cnv_fe.fps, "ours_ii": cnv_fe.ii_cycles,
        "bottleneck": cnv_fe.bottleneck.name, "published_fps": CNV_FINN_EXAMPLES_FPS,
        "published": f"{FINN_EX} notebooks/1_cifar10_with_cnv_networks.ipynb (64-bit board, fclk 99.999 MHz)"})
    designs = bnn_pynq_designs()
    for clock, label in ((100.0, "Pynq-Z1/Z2 clock"), (299.0, "Ultra96 clock")):
        e = estimate(designs["lfc"], clock, 64)
        results["published_folding"].append({
            "design": f"LFC-W1A1, BNN-PYNQ folding, {clock:g} MHz ({label})", "ours_fps": e.fps, "ours_ii": e.ii_cycles,
            "bottleneck": e.bottleneck.name, "published_fps": LFC_BNN_PYNQ_FPS if clock == 299.0 else None,
            "published": f"{BNN_PYNQ} notebooks/LFC-QNN_MNIST.ipynb (Ultra96)" if clock == 299.0 else
            "no Pynq-Z1 throughput figure found"})
    for net, g in designs.items():
        e = estimate(g, 100.0, 64)
        t = e.total.as_dict()
        pub = BNN_PYNQ_UTIL[net]
        results["resources"].append({"design": f"{net.upper()}-W1A1 (BNN-PYNQ folding)", "ours": t, "published": pub,
                                     "ratio": {k: (t[k] / pub[k] if pub[k] else None) for k in pub}})
        write_report(build_report(f"bnn-pynq-{net}w1a1", e, get_board("Pynq-Z1")), OUT / f"bnn_pynq_{net}_folding")
    fz, mhz = FINN_PAPER_CNV_ZC706
    cnv_zcu = next(r for r in results["estimates"] if r["net"] == "cnv" and r["board"] == "ZCU104")
    results["finn_paper"] = {"published_fps": fz, "published_mhz": mhz, "ours_ii_zcu104_max": cnv_zcu["ii"],
                             "ours_fps_at_200mhz": 200e6 / cnv_zcu["ii"], "published_ii": mhz * 1e6 / fz}
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    (OUT / "results.md").write_text(render(results))
    print((OUT / "results.md").read_text())


def render(r: dict) -> str:
    published = {("lfc", "Pynq-Z1"): "not found (BNN-PYNQ publishes Pynq-Z1 utilization but no Pynq-Z1 throughput; "
                                      "finn-examples has TFC, not LFC)",
                 ("lfc", "ZCU104"): "not found (BNN-PYNQ has no ZCU104 overlay; finn-examples has no LFC)",
                 ("cnv", "Pynq-Z1"): "not found for Pynq-Z1 (finn-examples builds the same folding for it, measured "
                                     f"figure below is from a 64-bit board)",
                 ("cnv", "ZCU104"): f"{CNV_FINN_EXAMPLES_FPS:,.0f} FPS — finn-examples cnv_w1a1 at its own (slower) "
                                    "folding, measured on a 64-bit PYNQ board (Ultra96 or ZCU104, not stated; same "
                                    "bitstream config for both), 100 MHz; our estimate at that folding is in the next table"}
    L = ["# Board reports: LFC-W1A1 and CNV-W1A1 on Pynq-Z1 and ZCU104", "",
         "Produced by `python benchmarks/board_reports.py` (untrained weights; resources and throughput do not depend "
         "on them). Estimates come from `compiler/estimate/cost.py` at each board's default 100 MHz fabric clock with the "
         "optimiser's \"as fast as fits\" folding (85% of the device usable). Per-run reports (table, JSON, PNG) are in "
         "the `<net>_<board>/` folders. Published figures are quoted from the files named in the script's docstring; "
         "where none exists for a network/board pair this says so.", "",
         "## Estimated throughput beside published figures", "",
         "| network | board | est. FPS | II (cycles) | limited by | LUT | BRAM18 | published figure, same network & board |",
         "|---|---|---:|---:|---|---:|---:|---|"]
    for e in r["estimates"]:
        u = e["util"]
        why = e["why"].split("stopped because ")[-1]
        L.append(f"| {e['net'].upper()}-W1A1 | {e['board']} | {fmt(e['fps'])} | {fmt(e['ii'])} | {why} | "
                 f"{u['lut']:.0%} | {u['bram18']:.0%} | {published[(e['net'], e['board'])]} |")
    L += ["", "## The cycle model at the published designs' own folding", "",
          "| design | our est. FPS | II | bottleneck | published FPS | ours / published | source |",
          "|---|---:|---:|---|---:|---:|---|"]
    for p in r["published_folding"]:
        ratio = f"{p['ours_fps'] / p['published_fps']:.2f}" if p["published_fps"] else "—"
        L.append(f"| {p['design']} | {fmt(p['ours_fps'])} | {fmt(p['ours_ii'])} | {p['bottleneck']} | "
                 f"{fmt(p['published_fps'])} | {ratio} | {p['published']} |")
    f = r["finn_paper"]
    L += ["", f"FINN paper, CNV on ZC706 (a different board): {f['published_fps']:,} FPS at {f['published_mhz']:g} MHz, "
          f"i.e. II ≈ {f['published_ii']:,.0f} cycles; our CNV \"max\" folding on ZCU104 has II {f['ours_ii_zcu104_max']:,} "
          f"cycles ({f['ours_fps_at_200mhz']:,.0f} FPS if clocked at 200 MHz).", "",
          "## Resource model vs BNN-PYNQ post-route utilization (Pynq-Z1, same folding)", "",
          "| design | LUT ours / published | FF ours / published | BRAM18 ours / published | DSP ours / published |",
          "|---|---|---|---|---|"]
    for x in r["resources"]:
        o, p, q = x["ours"], x["published"], x["ratio"]
        cells = [f"{o[k]:,.0f} / {p[k]:,} ({q[k]:.2f})" if q[k] is not None else f"{o[k]:,.0f} / {p[k]:,}"
                 for k in ("lut", "ff", "bram18", "dsp")]
        L.append(f"| {x['design']} | " + " | ".join(cells) + " |")
    cnv_res = next(x for x in r["resources"] if x["design"].startswith("CNV"))
    cnv_z1 = next(e for e in r["estimates"] if e["net"] == "cnv" and e["board"] == "Pynq-Z1")
    adj = {k: cnv_z1["util"][k] / cnv_res["ratio"][k] for k in ("lut", "bram18")}
    L += ["", "Reading the numbers:", "",
          f"- CNV-W1A1 on Pynq-Z1: the optimiser's folding uses {cnv_z1['util']['lut']:.0%} of the LUTs and "
          f"{cnv_z1['util']['bram18']:.0%} of the BRAM18 by the model; divided by the CNV calibration ratios above "
          f"({cnv_res['ratio']['lut']:.2f}, {cnv_res['ratio']['bram18']:.2f}) that is ~{adj['lut']:.0%} LUT and "
          f"~{adj['bram18']:.0%} BRAM18 -- i.e. this estimate is likely too optimistic to place on the real part; "
          "the LFC estimates, where the model matches the published design, are the trustworthy ones.",
          "- The logic constant `XNOR_LUT_PER_LANE` and `FF_PER_LUT` were fitted on the LFC row, so LFC agreeing is "
          "in-sample; the CNV row is the held-out check. The conv path (sliding windows, 8-bit first layer, width "
          "converters) is under-estimated: treat CNV-like estimates as ~0.7x of what Vivado will report, or lower "
          "`--margin` accordingly.",
          "- LFC at BNN-PYNQ's folding: the 1.64x gap to the Ultra96 measurement is the difference between the "
          "accelerator's II and BNN-PYNQ's wall-clock time per image over a 10,000-image call, which includes host-side "
          "work the model does not cover (and assumes the overlay really ran at 299 MHz).",
          "- BNN-PYNQ's published totals include its own shell (an HLS AXI master, DMA buffers, 128-deep stream FIFOs); "
          "ours models an axi_dma shell with 32-deep SRL FIFOs, so part of the gap is a different design, not only "
          "model error. DSPs: our model maps ±1 x int8 products to LUTs; BNN-PYNQ's HLS used 24 DSPs for them.",
          "- These reports keep weights in BRAM/LUTRAM (`--weights-in bram`), as BNN-PYNQ does, so ZCU104's 96 URAMs "
          "are not counted as weight storage and LFC on ZCU104 is BRAM-limited; `--weights-in auto` (the default) "
          "moves weights to URAM, loaded at run time (docs/cost_model.md).",
          "- CNV \"max\" on the big board stops at the first sliding window (`Conv_0_swg`, 3 input channels: one "
          "kernel position per cycle), the same first-layer limit visible in FINN's CNV-max figure."]
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
