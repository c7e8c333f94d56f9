"""Branch FIFO depths (compiler/estimate/fifo.py, docs/cost_model.md "Branch FIFOs") checked in a cycle-level run:
the residual block of tests/compiler/frontend/test_residual.py (raw Brevitas, one or two blocks, folded for Pynq-Z1 at
its maximum frame rate) in Verilator (bnnc's RTL backend), first at the computed depths, then with the skip
FIFO of one AddStreams shrunk: a bisection finds the smallest depth that does not deadlock and the smallest
that keeps the measured cycles per frame of the computed depth (within 1 %).

usage: python benchmarks/rtl_branch_fifos.py [WORK_DIR] [--blocks 1] [--frames 50] [--no-sweep] [--synth]
--synth also runs Yosys (synth_xilinx xc7) on the design at the computed depths and prints each layer's LUTs and
FFs beside the RTL estimate (compiler.estimate.cost.estimate(target="rtl")).
Every point is a Verilator build (~1 min here); all figures are simulated cycles (rtlsim), not a board.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
for _d in ("compiler", "backends/rtl"):     # residual_model.py and the brevitas_models.ResBlock it builds
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / _d))


def run_point(g, work: Path, tag: str, frames: int, depths=None) -> dict:
    from compiler.backends.rtl.project import generate_rtl
    from compiler.backends.rtl.reports import fifo_levels
    from compiler.backends.rtl.verilator import RtlsimDeadlock, check
    from compiler.sim.ir_inputs import random_inputs

    proj = generate_rtl(g, work / f"rtl_{tag}", branch_depths=depths)
    t0 = time.perf_counter()
    try:
        rep = check(g, proj, random_inputs(g, frames, 0))
    except RtlsimDeadlock as e:
        return {"deadlock": True, "frames_done": len(e.stats["frame_done"]),
                "fifos": fifo_levels(proj, e.stats["fifo_max_level"]), "message": str(e).splitlines()[0],
                "seconds": round(time.perf_counter() - t0, 1)}
    return {"deadlock": False, "mismatches": rep.mismatches, "cycles_per_frame": rep.cycles_per_frame,
            "latency_cycles": rep.latency_cycles, "fifos": fifo_levels(proj, rep.fifo_max_level),
            "seconds": round(time.perf_counter() - t0, 1)}


def min_depths(at, top: int, cycles_per_frame: float) -> tuple[int, int]:
    """(smallest depth without deadlock, smallest within 1 % of `cycles_per_frame`), by bisection over 1..top
    (`at(depth)`: a run_point result; both hold at `top`)."""
    def bisect(ok) -> int:
        lo, hi = 1, top
        if ok(at(lo)):
            return lo
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if ok(at(mid)) else (mid, hi)
        return hi

    return (bisect(lambda p: not p["deadlock"]),
            bisect(lambda p: not p["deadlock"] and p["cycles_per_frame"] <= 1.01 * cycles_per_frame))


def main() -> None:
    from compiler.estimate.cost import estimate
    from residual_model import residual_graph

    ap = argparse.ArgumentParser()
    ap.add_argument("work", nargs="?", default="runs/rtl_branch_fifos")
    ap.add_argument("--blocks", type=int, default=1)
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--synth", action="store_true")
    args = ap.parse_args()
    work = Path(args.work)
    g = residual_graph(work, args.blocks)
    cost = estimate(g, target="rtl")
    est = max(l.cycles for l in cost.layers if l.kind != "dma")
    base = run_point(g, work, "computed", args.frames)
    assert not base["deadlock"] and base["mismatches"] == 0, base
    print(f"residual, {args.blocks} block(s), {args.frames} frames, rtlsim (Verilator) at the computed depths: "
          f"{base['mismatches']} mismatches, {base['cycles_per_frame']} cycles/frame (cost-model estimate {est}, "
          f"ratio {base['cycles_per_frame'] / est:.3f}), latency {base['latency_cycles']} cycles (estimate "
          f"{cost.pipeline_latency}, compiler.estimate.latency)")
    branch = [f for f in base["fifos"] if f["role"] == "branch"]
    for f in branch:
        print(f"  {f['fifo']}: depth {f['depth']} (compiler.estimate.fifo: {f['computed_depth']}), high-water {f['max_level']}")
    result = {"blocks": args.blocks, "frames": args.frames, "estimated_cycles_per_frame": est,
              "estimated_latency_cycles": cost.pipeline_latency, "computed": base}
    if args.synth:
        from compiler.backends.rtl.project import RtlProject
        from compiler.backends.rtl.reports import synth_doc
        from compiler.backends.rtl.yosys import synthesize

        rtl = work / "rtl_computed"
        proj = RtlProject(rtl, json.loads((rtl / "rtl.json").read_text()))
        doc = synth_doc(g, synthesize(proj, "xc7"), cost, "Pynq-Z1", "xc7z020")
        print(f"Yosys ({doc['tool']}, synth_xilinx xc7) per layer, synthesized / RTL estimate:")
        for l in doc["layers"]:
            s_, e_ = l["synth"], l["estimated"]
            print(f"  {l['name']:22} {l['kind']:17} LUT {s_['LUT']:6}/{e_['LUT']:<6} ({s_['LUT'] / max(1, e_['LUT']):.2f})"
                  f"  FF {s_['FF']:5}/{e_['FF']:<5} ({s_['FF'] / max(1, e_['FF']):.2f})")
        t, e = doc["total"], doc["estimated_total"]
        print(f"  total LUT {t['LUT']}/{e['LUT']} ({t['LUT'] / e['LUT']:.2f}), FF {t['FF']}/{e['FF']}, BRAM18 "
              f"{t['BRAM18']}/{e['BRAM18']}, DSP {t['DSP']}/{e['DSP']}; {doc['seconds']} s")
        result["synth"] = doc
    if not args.no_sweep:
        skip = max(branch, key=lambda f: f["computed_depth"])
        name, j = skip["fifo"].split(" input ")[0], int(skip["fifo"].split(" input ")[1].split()[0])
        points: dict[int, dict] = {skip["depth"]: base}

        def at(d: int) -> dict:
            if d not in points:
                points[d] = run_point(g, work, f"d{d}", args.frames, {(name, j): d})
                p = points[d]
                state = "DEADLOCK" if p["deadlock"] else f"{p['cycles_per_frame']} cycles/frame, {p['mismatches']} mism."
                print(f"  {name} input {j} at depth {d}: {state} ({p['seconds']} s)", flush=True)
            return points[d]

        no_deadlock, full_rate = min_depths(at, skip["depth"], base["cycles_per_frame"])
        result["sweep"] = {"fifo": f"{name} input {j}", "computed_depth": skip["computed_depth"],
                           "min_depth_no_deadlock": no_deadlock, "min_depth_full_rate": full_rate,
                           "points": {str(d): {k: v for k, v in p.items() if k != "fifos"}
                                      for d, p in sorted(points.items())}}
        print(f"skip FIFO {name} input {j}: compiler.estimate.fifo depth {skip['computed_depth']}; smallest depth without "
              f"deadlock {no_deadlock}; smallest at full rate {full_rate} (rtlsim, {args.frames} frames each)")
    (work / f"branch_fifos_{args.blocks}.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
