"""FINN's resource estimate beside ours: reads finn_estimate.json (written into a build folder by
tests/finn/finn_check.py, i.e. FINN's res_estimation after SpecializeLayers) and compares it with ours per layer
(compiler.workflow.finn_report adds the comparison to a build's report).

FINN estimates per node of finn_dataflow.onnx; a layer's nodes are the one of its name and `<name>_*` (padding,
pooling window, the flatten in front of it), so the figures are summed per bnnc layer.
"""
from __future__ import annotations

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
