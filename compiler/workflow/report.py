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
from compiler.estimate.cost import GraphCost
from compiler.kinds.sliding_window import CONV_NOTE  # noqa: F401  (re-exported)

SHOWN = ("lut", "ff", "bram18", "uram", "dsp")
#: what each flow's estimate describes (report.txt)
FLOW_NAMES = {"hls": "HLS templates (Vitis HLS; bnnc hls / bitstream)",
              "rtl": "RTL library (hwlib/verilog, calibrated on Yosys 0.23; bnnc rtlsim / synth / bitstream --rtl)"}
SYNTH_KEYS = ("LUT", "FF", "BRAM18", "DSP")      # synth.json keys shown beside the estimate


def kind_notes(cost: GraphCost) -> list[str]:
    """The caveats each kind present in the design attaches to its estimate (e.g. CONV_NOTE), once each."""
    present = dict.fromkeys(l.kind for l in cost.layers if l.kind in kinds.names())
    return [n for k in present for n in kinds.get(k).report_notes]


def build_report(graph_name: str, cost: GraphCost, board: Board | None = None, margin: float = 0.85,
                 folding_source: str = "graph", target_fps: float | None = None,
                 notes: list[str] | None = None, model: str | None = None, weights_in: str = "auto",
                 flow: str = "hls") -> dict[str, Any]:
    """Everything the table, JSON and plot show. `folding_source`: 'optimizer', 'file' or 'graph'; `model`: the
    source model's name, shown beside the graph's where they differ; `weights_in`: the URAM policy
    (compiler.estimate.placement), which the note on unused URAM names; `flow`: whose hardware `cost` describes, the HLS
    templates ('hls') or the RTL library ('rtl')."""
    total = cost.total
    in_uram = [l.name for l in cost.layers if any(m.style == "uram" for m in l.memories)]
    if in_uram:
        notes = list(notes or []) + [f"weights of {len(in_uram)} layer(s) in URAM ({', '.join(in_uram)}), "
                                     f"{total.uram:,.0f} URAM blocks (estimate): UltraScale+ URAM is not initialised "
                                     "by the bitstream, so the runtime writes them at load time (deploy weights.bin)"]
    rep: dict[str, Any] = {
        "graph": graph_name, "model": model, "flow": flow, "clock_mhz": cost.clock_mhz, "folding_source": folding_source,
        "target_fps": target_fps, "ii_cycles": cost.ii_cycles, "fps": cost.fps,
        "latency_cycles": cost.latency_cycles, "latency_us": cost.latency_us, "bottleneck": cost.bottleneck.name,
        "layers": [l.as_dict() for l in cost.layers], "total": total.as_dict(),
        "notes": list(notes or []) + kind_notes(cost)
        + [n for l in cost.layers for n in l.notes if n.startswith("branch FIFO")],
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
            from compiler.estimate.folding import uram_note

            rep["notes"].append(uram_note(board.resources.uram, weights_in))
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
    lines.append("resources: cost model of the " + (FLOW_NAMES.get(rep.get("flow", "hls"), FLOW_NAMES["hls"])))
    if b:
        verdict = "fits" if rep["fits"] else "DOES NOT FIT (over budget: " + ", ".join(rep["over_budget"]) + ")"
        lines.append(f"{b['name']} ({b['part']}, {b['ps']}), shell {b['shell']}: {verdict}")
    lines += [f"note: {n}" for n in rep.get("notes", [])]
    if rep.get("finn"):   # FINN's own estimate, when tests/finn/finn_check.py ran on the build (compiler.backends.finn.compare)
        from compiler.backends.finn.compare import format_comparison

        lines += ["", format_comparison(rep["finn"])]
    lines += format_synth(rep)
    return "\n".join(lines)


def plot_title(rep: dict[str, Any]) -> str:
    """The graph's name (and the model's, when the graph is named after its build folder) and the estimate."""
    model, b = rep.get("model"), rep.get("board")
    name = rep["graph"] if not model or model == rep["graph"] else f"{rep['graph']} ({model})"
    title = f"{name}: estimated {rep['fps']:,.0f} FPS at {rep['clock_mhz']:g} MHz"
    return title + (f" on {b['name']} ({b['margin']:.0%} budget)" if b else "")


def plot_report(rep: dict[str, Any], path: str | os.PathLike) -> Path:
    """Two panels: cycles per stage (the II line marks the bottleneck) and each stage's share of the budget.

    Drawn with matplotlib's object API on an Agg canvas: importing pyplot (its backend machinery, ~seconds) is
    never needed, nor switching the process-wide backend of a caller that uses pyplot itself.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [l["name"] for l in rep["layers"]]
    x = range(len(names))
    fig = Figure(figsize=(max(6, 0.55 * len(names) + 2), 7))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
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
    synth = (rep.get("synth") or {}).get("layers") or {}
    if synth:       # Yosys LUTs of the same layers, as black ticks over the estimated LUT bars
        lx = [i + (keys.index("lut") - (len(keys) - 1) / 2) * width for i in x]
        scale = 100 / b["budget"]["lut"] if b else 1
        sv = [synth[n]["synth"]["LUT"] * scale if n in synth else float("nan") for n in names]
        ax2.scatter(lx, sv, marker="_", s=200, color="black", zorder=3, label="LUT synth (Yosys)")
    ax2.set_ylabel("% of budget" if b else "count")
    ax2.legend(fontsize=8, ncol=len(keys))
    ax2.set_xticks(list(x))
    ax2.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
    ax1.set_title(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


def attach_synth(rep: dict[str, Any], synth: dict[str, Any]) -> bool:
    """Put `bnnc synth`'s counts (synth.json) into the report beside the estimate, when synth.json describes this
    design: same layer names and foldings (a stale synth.json from another folding is left out). True if attached."""
    est = {l["name"]: l for l in rep["layers"]}
    layers = synth.get("layers") or []
    if not layers or any(l["name"] not in est or not _same_folding(l, est[l["name"]]) for l in layers):
        rep.pop("synth", None)
        return False
    rep["synth"] = {"tool": synth["tool"], "part": synth["part"], "total": synth["total"],
                    "estimated_total": synth["estimated_total"],
                    "layers": {l["name"]: {"synth": {k: l["synth"][k] for k in SYNTH_KEYS},
                                           "estimated": {k: l["estimated"][k] for k in SYNTH_KEYS}} for l in layers},
                    "note": "post-synthesis counts of the RTL backend (Yosys, no place and route) beside the cost "
                            "model's RTL estimate (synth.json; the table above is the "
                            f"{'RTL' if rep.get('flow') == 'rtl' else 'HLS'} estimate); without the DMA shell"}
    return True


def _same_folding(synth_layer: dict[str, Any], est_layer: dict[str, Any]) -> bool:
    fold = synth_layer.get("folding") or {}
    return all(int(fold.get(k, 1)) == int(est_layer[k]) for k in ("pe", "simd"))


def format_synth(rep: dict[str, Any]) -> list[str]:
    """Synthesized beside estimated, per layer and in total (when `attach_synth` put counts in the report)."""
    s = rep.get("synth")
    if not s:
        return []
    head = ["layer", *[f"{k} synth/est" for k in SYNTH_KEYS]]
    rows = [[name, *[f"{v['synth'][k]:,}/{v['estimated'][k]:,}" for k in SYNTH_KEYS]]
            for name, v in s["layers"].items()]
    rows.append(["total (without DMA shell)", *[f"{s['total'][k]:,}/{s['estimated_total'][k]:,}" for k in SYNTH_KEYS]])
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    lut = s["total"]["LUT"] / s["estimated_total"]["LUT"] if s["estimated_total"]["LUT"] else float("nan")
    return ["", f"synthesized ({s['tool']}, {s['part']}) beside estimated; total LUT synth/est = {lut:.2f}",
            fmt(head), "-" * len(fmt(head)), *[fmt(r) for r in rows], f"note: {s['note']}"]


def write_report(rep: dict[str, Any], directory: str | os.PathLike, plot: bool = True) -> list[Path]:
    """report.json, report.txt and report.png in `directory` (with synth.json's counts beside the estimate when
    `directory` holds a synth.json of this design). `plot=False` keeps an existing report.png (for additions the
    plot does not show, such as FINN's estimate: drawing it costs ~0.3 CPU-s)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    drawn_synth = rep.get("synth")
    if (d / "synth.json").is_file():
        try:
            attach_synth(rep, json.loads((d / "synth.json").read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            rep.pop("synth", None)          # unreadable or foreign synth.json: the report shows estimates only
    (d / "report.json").write_text(json.dumps(rep, indent=1))
    (d / "report.txt").write_text(format_table(rep) + "\n")
    png = d / "report.png"
    redraw = plot or not png.is_file() or rep.get("synth") != drawn_synth     # the plot shows synth.json's LUTs
    return [d / "report.json", d / "report.txt", plot_report(rep, png) if redraw else png]


def refresh_report(build_dir: str | os.PathLike) -> dict[str, Any] | None:
    """Rewrite a build's report.{json,txt,png} from its report.json, so a synth.json written since appears beside
    the estimate (after `bnnc synth`); None for a build without a folding report (synth.json then stands alone)."""
    d = Path(build_dir)
    try:
        rep = json.loads((d / "report.json").read_text())
    except (OSError, ValueError):
        return None
    write_report(rep, d)
    return rep
