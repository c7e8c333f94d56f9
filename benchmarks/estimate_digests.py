"""The proof that a restructuring of the cost model changed no estimate: every figure of compiler.estimate for the
benchmark builds, on both targets, dumped as JSON to compare before and after.

For each build folder holding a graph.json (benchmarks/output_digests.py writes them to OUT/current/builds): the
estimate (per-layer cycles, resources, memories, notes, pipeline latency) and the width-converter costs at the
build's folding and at five random legal foldings (seeded by the build name), for target "hls" and "rtl"; and the
folding optimiser's plan (folding and estimate) for both flows on pynq-z2 and zcu104. Only public functions that
existed before issue 23's moves are used, so the same script runs on a checkout before and after.

    .venv/bin/python benchmarks/estimate_digests.py BUILDS runs/est_after.json [--compare runs/est_before.json]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from boards.catalog import get_board
from compiler import kinds
from compiler.estimate.cost import dwc_cost, estimate
from compiler.estimate.folding import optimize_folding
from compiler.ir.graph import DataflowGraph, stream_edges

FOLDINGS = 6          # the build's own, then random legal ones
BOARDS = ("pynq-z2", "zcu104")


def snapshot(builds: Path) -> dict:
    out: dict = {}
    for b in sorted(p for p in builds.iterdir() if (p / "graph.json").is_file()):
        g = DataflowGraph.load(b)
        rng = random.Random(b.name)
        for trial in range(FOLDINGS):
            if trial:
                for l in g.layers:
                    for key, (_, n) in kinds.get(l.kind).folded_dims(l).items():
                        l.folding[key] = rng.choice([d for d in range(1, n + 1) if n % d == 0])
            for t in ("hls", "rtl"):
                e = estimate(g, 100.0, 64, t)
                out[f"{b.name}/{trial}/{t}"] = [c.as_dict() for c in e.layers] + [e.pipeline_latency]
                out[f"{b.name}/{trial}/{t}/dwc"] = [repr(dwc_cost(p, c, t)) for p, c, _ in stream_edges(g.layers)]
        g = DataflowGraph.load(b)
        for flow in ("hls", "rtl"):
            for board in BOARDS:
                p = optimize_folding(g, get_board(board), "max", flow=flow)
                out[f"{b.name}/optimiser/{flow}/{board}"] = [p.folding, [c.as_dict() for c in p.cost.layers]]
        print(f"{b.name}: done", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("builds", type=Path,
                    help="folder of build folders (benchmarks/output_digests.py OUT/current/builds)")
    ap.add_argument("out", type=Path, help="JSON file to write")
    ap.add_argument("--compare", type=Path, help="an earlier output of this script: exit 1 on any difference")
    args = ap.parse_args()
    snap = json.loads(json.dumps(snapshot(args.builds), sort_keys=True, default=repr))
    args.out.write_text(json.dumps(snap, indent=0, sort_keys=True))
    print(f"{len(snap)} entries -> {args.out}")
    if args.compare:
        old = json.loads(args.compare.read_text())
        differ = sorted(k for k in snap.keys() | old.keys() if snap.get(k) != old.get(k))
        for k in differ:
            print(f"differs: {k}")
        same = len(snap.keys() & old.keys()) - sum(k in snap and k in old for k in differ)
        print(f"{same} entries identical, {len(differ)} differ or missing")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
