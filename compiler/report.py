"""Folding / cost report: per-layer folding, cycles and resources against the board budget.

One JSON-able dict (`build_report`) rendered three ways: a plain-text table for the terminal
(`format_table`), report.json, and report.png (cycles and budget share per layer, matplotlib Agg).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from boards.catalog import RESOURCE_KEYS, Board
from compiler import kinds
from compiler.cost import GraphCost
from compiler.kinds.sliding_window import CONV_NOTE  # noqa: F401  (re-exported)

SHOWN = ("lut", "ff", "bram18", "uram", "dsp")
def kind_notes(cost: GraphCost) -> list[str]:
    """The caveats each kind present in the design attaches to its estimate (e.g. CONV_NOTE), once each."""
    present = dict.fromkeys(l.kind for l in cost.layers if l.kind in kinds.names())
    return [n for k in present for n in kinds.get(k).report_notes]


def build_report(graph_name: str, cost: GraphCost, board: Board | None = None, margin: float = 0.85,
                 folding_source: str = "graph", target_fps: float | None = None,
                 notes: list[str] | None = None, model: str | None = None) -> dict[str, Any]:
    """Everything the table, JSON and plot show. `folding_source`: 'optimizer', 'file' or 'graph'; `model`: the
    source model's name, shown beside the graph's where they differ."""
    total = cost.total
    rep: dict[str, Any] = {
        "graph": graph_name, "model": model, "clock_mhz": cost.clock_mhz, "folding_source": folding_source,
        "target_fps": target_fps, "ii_cycles": cost.ii_cycles, "fps": cost.fps,
        "latency_cycles": cost.latency_cycles, "latency_us": cost.latency_us, "bottleneck": cost.bottleneck.name,
        "layers": [l.as_dict() for l in cost.layers], "total": total.as_dict(),
        "notes": list(notes or []) + kind_notes(cost),
        "board": None,
    }
    if board is not None:
        budget = board.budget(margin)
        rep["board"] = {"name": board.name, "part": board.part, "ps": board.ps, "margin": margin,
                        "available": board.resources.as_dict(), "budget": budget.as_dict(),
                        "shell": f"{board.shell.dma} on {board.shell.data_port} ({board.shell.dma_bits}-bit)"}
        rep["utilization"] = {k: (getattr(total, k) / getattr(board.resources, k)) if getattr(board.resources, k)
                              else None for k in RESOURCE_KEYS}
        rep["over_budget"] = total.over(budget)
        rep["fits"] = not rep["over_budget"]
        util = {k: v for k, v in rep["utilization"].items() if v is not None}
        if board.resources.uram and not total.uram and util.get("bram18") and util["bram18"] == max(util.values()):
            from compiler.folding import URAM_NOTE

            rep["notes"].append(URAM_NOTE.format(uram=f"{board.resources.uram:,.0f}"))
    return rep


def _num(v: float) -> str:
    return f"{v:,.0f}"


def format_table(rep: dict[str, Any]) -> str:
    """Fixed-width text table: one row per stage, then totals, budget and utilization."""
    head = ["layer", "kind", "pe", "simd", "cycles", *[k.upper() for k in SHOWN]]
    rows = [[l["name"], l["kind"], str(l["pe"]), str(l["simd"]), _num(l["cycles"]),
             *[_num(l["resources"][k]) for k in SHOWN]] for l in rep["layers"]]
    rows.append(["total", "", "", "", "", *[_num(rep["total"][k]) for k in SHOWN]])
    b = rep.get("board")
    if b:
        rows.append([f"budget ({b['margin']:.0%} of {b['name']})", "", "", "", "",
                     *[_num(b["budget"][k]) for k in SHOWN]])
        rows.append(["utilization of device", "", "", "", "",
                     *[(f"{rep['utilization'][k]:.0%}" if rep["utilization"][k] is not None else "-") for k in SHOWN]])
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    sep = "-" * len(fmt(head))
    lines = [fmt(head), sep, *[fmt(r) for r in rows[: len(rep["layers"])]], sep, *[fmt(r) for r in rows[len(rep["layers"]):]]]
    lines.append("")
    lines.append(f"estimated hardware throughput (cost model, not measured): {rep['fps']:,.0f} FPS (II "
                 f"{rep['ii_cycles']:,} cycles at {rep['clock_mhz']:g} MHz), latency ~{rep['latency_us']:,.1f} us; "
                 f"bottleneck: {rep['bottleneck']}")
    if b:
        verdict = "fits" if rep["fits"] else "DOES NOT FIT (over budget: " + ", ".join(rep["over_budget"]) + ")"
        lines.append(f"{b['name']} ({b['part']}, {b['ps']}), shell {b['shell']}: {verdict}")
    lines += [f"note: {n}" for n in rep.get("notes", [])]
    return "\n".join(lines)


def plot_title(rep: dict[str, Any]) -> str:
    """The graph's name (and the model's, when the graph is named after its build folder) and the estimate."""
    model, b = rep.get("model"), rep.get("board")
    name = rep["graph"] if not model or model == rep["graph"] else f"{rep['graph']} ({model})"
    title = f"{name}: estimated {rep['fps']:,.0f} FPS at {rep['clock_mhz']:g} MHz"
    return title + (f" on {b['name']} ({b['margin']:.0%} budget)" if b else "")


def plot_report(rep: dict[str, Any], path: str | os.PathLike) -> Path:
    """Two panels: cycles per stage (the II line marks the bottleneck) and each stage's share of the budget."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [l["name"] for l in rep["layers"]]
    x = range(len(names))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(6, 0.55 * len(names) + 2), 7), sharex=True)
    ax1.bar(x, [l["cycles"] for l in rep["layers"]], color="tab:blue")
    ax1.axhline(rep["ii_cycles"], color="tab:red", lw=1, ls="--", label=f"II = {rep['ii_cycles']:,} cycles")
    ax1.set_yscale("log")
    ax1.set_ylabel("cycles / frame")
    ax1.legend(loc="upper right", fontsize=8)
    title = plot_title(rep)
    b = rep.get("board")
    keys = [k for k in ("lut", "bram18", "dsp", "uram") if not b or b["available"][k]]
    width = 0.8 / len(keys)
    for j, k in enumerate(keys):
        vals = [l["resources"][k] / b["budget"][k] * 100 if b else l["resources"][k] for l in rep["layers"]]
        ax2.bar([i + (j - (len(keys) - 1) / 2) * width for i in x], vals, width, label=k.upper())
    ax2.set_ylabel("% of budget" if b else "count")
    ax2.legend(fontsize=8, ncol=len(keys))
    ax2.set_xticks(list(x))
    ax2.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
    ax1.set_title(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(rep: dict[str, Any], directory: str | os.PathLike) -> list[Path]:
    """report.json, report.txt and report.png in `directory`."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    (d / "report.json").write_text(json.dumps(rep, indent=1))
    (d / "report.txt").write_text(format_table(rep) + "\n")
    return [d / "report.json", d / "report.txt", plot_report(rep, d / "report.png")]
