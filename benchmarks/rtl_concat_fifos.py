"""Branch FIFO depths of a channel concatenation (ConcatStreams; compiler/estimate/fifo.py, docs/cost_model.md "Branch FIFOs")
in a cycle-level run: the Inception and DenseNet-style blocks of tests/compiler/branch_models.py and its nested
ones (nested_dense: an Inception split inside a DenseNet path; inception_residual: x + cat(towers of x)) (raw
Brevitas, folded for Pynq-Z1 at its maximum frame rate) in Verilator (bnnc's RTL backend), at the computed depth of
the join input with the deepest computed FIFO (the skip; input 0 of the concatenation for the flat blocks) and at
the depths given, each point: cycles per frame and mismatches, or the deadlock; --bisect also finds the smallest
depth without deadlock and the smallest at full rate (within 1 % of the computed depth's cycles per frame).

usage: python benchmarks/rtl_concat_fifos.py [WORK_DIR] [--models densenet,inception] [--depths 175,88,44,20,2]
       [--frames 20] [--bisect]
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



def deepest_input(g) -> tuple[str, int]:
    """(layer, input) of the join input whose computed branch FIFO is deepest."""
    from compiler.estimate.fifo import branch_fifo_depths

    return max(branch_fifo_depths(g).items(), key=lambda kv: kv[1][0])[0]


def main(argv: list[str] | None = None) -> int:
    from rtl_branch_fifos import min_depths, run_point

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
    p.add_argument("--bisect", action="store_true")
    a = p.parse_args(argv)
    results = {}
    for name in a.models.split(","):
        work = a.work / name
        work.mkdir(parents=True, exist_ok=True)
        model, shape = getattr(branch_models, name)()
        g = compile_model(export_raw(model, work / "m.onnx", shape, False), None)
        fold_graph(g, get_board("Pynq-Z1"), target_fps="max")
        key = deepest_input(g)
        need = branch_fifo_depths(g)[key][0]
        points: dict[int, dict] = {}

        def at(d: int) -> dict:
            if d not in points:
                r = points[d] = run_point(g, work, f"d{d}", a.frames, {key: d})
                r["depth"] = d
                what = ("DEADLOCK" if r["deadlock"] else
                        f"{r['cycles_per_frame']} cycles/frame, {r['mismatches']} mismatches")
                print(f"{name}: {key[0]} input {key[1]} depth {d}{' (computed)' if d == need else ''}: {what}",
                      flush=True)
            return points[d]

        for d in [need] + [int(v) for v in a.depths.split(",") if int(v) != need]:
            at(d)
        results[name] = {"input": list(key), "computed_depth": need}
        if a.bisect:
            base = at(need)
            assert not base["deadlock"] and base["mismatches"] == 0, base
            no_deadlock, full_rate = min_depths(at, need, base["cycles_per_frame"])
            results[name].update(min_depth_no_deadlock=no_deadlock, min_depth_full_rate=full_rate)
            print(f"{name}: {key[0]} input {key[1]}: computed depth {need}; smallest depth without deadlock "
                  f"{no_deadlock}; smallest at full rate {full_rate} (rtlsim, {a.frames} frames each)", flush=True)
        results[name]["points"] = [points[d] for d in sorted(points, reverse=True)]
    (a.work / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"results: {a.work / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
