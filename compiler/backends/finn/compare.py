"""FINN's resource estimate beside ours: reads finn_estimate.json (written into a build folder by
tests/finn/finn_check.py, i.e. FINN's res_estimation after SpecializeLayers) and adds it to report.json/report.txt.

FINN estimates per node of finn_dataflow.onnx; a layer's nodes are the one of its name and `<name>_*` (padding,
pooling window, the flatten in front of it), so the figures are summed per bnnc layer.
Usage: python -m compiler.backends.finn.compare BUILD [BUILD ...]
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# FINN res_estimation key -> ours (compiler.estimate.cost Resources)
KEYS = {"LUT": "lut", "BRAM_18K": "bram18", "URAM": "uram", "DSP": "dsp"}


def finn_comparison(report: dict[str, Any], estimate: dict[str, Any]) -> dict[str, Any]:
    """Per layer and in total: {"ours": {...}, "finn": {...}} for the KEYS resources."""
    layers = [l["name"] for l in report["layers"]]
    owner = lambda node: next((l for l in sorted(layers, key=len, reverse=True)  # noqa: E731
                               if node == l or node.startswith(f"{l}_")), None)
    finn = {l: {k: 0.0 for k in KEYS.values()} for l in layers}
    unmatched = []
    for node, res in estimate["nodes"].items():
        l = owner(node)
        if l is None:
            unmatched.append(node)
            continue
        for fk, ok in KEYS.items():
            finn[l][ok] += float(res.get(fk, 0.0))
    rows = [{"name": l["name"], "ours": {k: l["resources"][k] for k in KEYS.values()}, "finn": finn[l["name"]]}
            for l in report["layers"]]
    total = {"ours": {k: report["total"][k] for k in KEYS.values()},
             "finn": {k: sum(r["finn"][k] for r in rows) for k in KEYS.values()}}
    return {"fpgapart": estimate.get("fpgapart"), "impl": estimate.get("impl", {}), "layers": rows, "total": total,
            "unmatched_nodes": unmatched}


def format_comparison(cmp: dict[str, Any]) -> str:
    keys = list(KEYS.values())
    head = ["layer", *[f"{k.upper()} ours/FINN" for k in keys]]
    cell = lambda r, k: f"{r['ours'][k]:,.0f} / {r['finn'][k]:,.0f}"  # noqa: E731
    rows = [[r["name"], *[cell(r, k) for k in keys]] for r in cmp["layers"]]
    rows.append(["total", *[cell(cmp["total"], k) for k in keys]])
    w = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.ljust(x) if i == 0 else c.rjust(x) for i, (c, x) in enumerate(zip(r, w)))  # noqa: E731
    return "\n".join([f"FINN's estimate (res_estimation after SpecializeLayers, part {cmp['fpgapart']}) beside ours:",
                      fmt(head), *map(fmt, rows)])


def attach(build: str | os.PathLike) -> dict[str, Any]:
    """Add FINN's estimate to the build's report (report.json gains "finn"; report.txt shows both)."""
    from compiler.workflow.report import write_report

    d = Path(build)
    for f in ("report.json", "finn_estimate.json"):
        if not (d / f).exists():
            raise FileNotFoundError(f"{d / f} missing: compile with --board (report.json) and run "
                                    "tests/finn/finn_check.py (finn_estimate.json) first")
    rep = json.loads((d / "report.json").read_text())
    rep["finn"] = finn_comparison(rep, json.loads((d / "finn_estimate.json").read_text()))
    write_report(rep, d)
    return rep


def main(argv: list[str] | None = None) -> int:
    for b in argv if argv is not None else sys.argv[1:]:
        try:
            rep = attach(b)
        except (FileNotFoundError, KeyError, json.JSONDecodeError) as e:
            print(f"{b}: {e}", file=sys.stderr)
            return 1
        print(f"{b}:\n{format_comparison(rep['finn'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
