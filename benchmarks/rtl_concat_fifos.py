"""Branch FIFO depths of a channel concatenation (ConcatStreams; compiler/estimate/fifo.py, docs/cost_model.md "Branch FIFOs")
in a cycle-level run: the Inception and DenseNet-style blocks of tests/compiler/branch_models.py (raw Brevitas,
folded for Pynq-Z1 at its maximum frame rate) in Verilator (bnnc's RTL backend), at the computed depth of the
concatenation's input 0 and at the depths given, each point: cycles per frame and mismatches, or the deadlock.

usage: python benchmarks/rtl_concat_fifos.py [WORK_DIR] [--models densenet,inception] [--depths 175,88,44,20,2]
       [--frames 20]
Every point is a Verilator build (seconds here) plus the run; a deadlock is detected after 10^6 idle cycles. All
figures are simulated cycles (rtlsim), not a board.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "compiler"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

INPUT = ("Concat_0_concat", 0)


def main(argv: list[str] | None = None) -> int:
    from rtl_branch_fifos import run_point

    import branch_models
    from boards.catalog import get_board
    from compiler.workflow.compile import compile_model
    from compiler.estimate.fifo import branch_fifo_depths
    from compiler.estimate.folding import fold_graph
    from user_models import export_raw

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("work", nargs="?", type=Path, default=Path("runs/rtl_concat_fifos"))
    p.add_argument("--models", default="densenet,inception")
    p.add_argument("--depths", default="175,88,44,20,2")
    p.add_argument("--frames", type=int, default=20)
    a = p.parse_args(argv)
    results = {}
    for name in a.models.split(","):
        work = a.work / name
        work.mkdir(parents=True, exist_ok=True)
        model, shape = getattr(branch_models, name)()
        g = compile_model(export_raw(model, work / "m.onnx", shape, False), None)
        fold_graph(g, get_board("Pynq-Z1"), target_fps="max")
        need = branch_fifo_depths(g)[INPUT][0]
        rows = []
        for d in [need] + [int(v) for v in a.depths.split(",") if int(v) != need]:
            r = run_point(g, work, f"d{d}", a.frames, {INPUT: d})
            r["depth"] = d
            rows.append(r)
            what = "DEADLOCK" if r["deadlock"] else f"{r['cycles_per_frame']} cycles/frame, {r['mismatches']} mismatches"
            print(f"{name}: {INPUT[0]} input 0 depth {d}{' (computed)' if d == need else ''}: {what}", flush=True)
        results[name] = {"computed_depth": need, "points": rows}
    (a.work / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"results: {a.work / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
