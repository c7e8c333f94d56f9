"""Design-space exploration: one model compiled for every (board, target FPS) point, estimated, and optionally
simulated (Verilator rtlsim) and synthesized (Yosys), each point an independent scaleout Task.

`explore()` is the library call behind `bnnc explore`. Each point writes its build folder DIR/builds/<key>/ and its
result DIR/items/<key>.json as it finishes (scaleout), so a rerun skips the finished points; at the end DIR/explore.json
gathers every point and DIR/explore.png draws LUTs against FPS with the Pareto front. Every figure says what produced
it: `estimate` (compiler.estimate.cost), `simulation` (Verilator), `synthesis` (Yosys, before place and route).
Never imports torch (a Ray or pool worker runs `explore_point` with only the compiler loaded)."""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnostics.errors import BnncError

FORMAT_VERSION = 1
SWEEP_FILE = "sweep.json"          # the model and options DIR was made with (a rerun must match them)
RESOURCE_KEYS = ("LUT", "FF", "BRAM18", "URAM", "DSP")


class ExploreError(BnncError):
    """A sweep that cannot start: bad board, FPS value, model, or an output folder of another sweep."""


@dataclass(frozen=True)
class Point:
    board: str
    target_fps: float | str            # frames/s, or "max"

    @property
    def key(self) -> str:
        """File-name-safe id, e.g. 'Pynq-Z2_100000fps' (also names the build folder and the item file)."""
        t = self.target_fps
        label = t if isinstance(t, str) else (str(int(t)) if float(t).is_integer() else repr(float(t)))
        return f"{self.board}_{label}fps"


def parse_boards(text: str) -> list[str]:
    """'B1,B2' -> the catalog names (boards.catalog), in order, duplicates dropped; an unknown board is an
    ExploreError naming it and the known ones."""
    from boards.catalog import BoardError, get_board

    names = [b.strip() for b in text.split(",") if b.strip()]
    if not names:
        raise ExploreError(f"--boards: expected a comma-separated list of boards, got {text!r}")
    out: list[str] = []
    for n in names:
        try:
            name = get_board(n).name
        except BoardError as e:
            raise ExploreError(f"--boards: {e}") from None
        if name not in out:
            out.append(name)
    return out


def parse_fps_list(text: str) -> list[float | str]:
    """'F1,F2' -> positive frames/s values or 'max', in order, duplicates dropped; anything else an ExploreError
    naming the value."""
    from compiler.estimate.folding import parse_target

    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise ExploreError(f"--target-fps: expected a comma-separated list of frames/s values or 'max', got {text!r}")
    out: list[float | str] = []
    for t in items:
        try:
            v = parse_target(t)
        except BnncError as e:
            raise ExploreError(f"--target-fps value {t!r}: {e}") from None
        v = "max" if v is None else v
        if v not in out:
            out.append(v)
    return out


def sweep_points(boards: list[str], fps: list[float | str]) -> list[Point]:
    return [Point(b, f) for b in boards for f in fps]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _resources(total: dict[str, Any]) -> dict[str, int]:
    """compiler.workflow.report totals (lower-case keys) as the upper-case keys of synth.json."""
    return {k: round(total.get(k.lower(), 0)) for k in RESOURCE_KEYS}


def explore_point(model: str, board: str, target_fps: float | str, build_dir: str, rtl: bool = False,
                  synth: bool = False, frames: int = 20, seed: int = 0) -> dict[str, Any]:
    """Compile `model` for `board` at `target_fps` into `build_dir` and return the point's entry of explore.json.

    With `rtl` or `synth` the design is sized by the RTL library's cost (what rtlsim and Yosys build); `rtl` runs
    `frames` random frames through Verilator bit for bit against the simulator (a mismatch fails the point);
    `synth` runs Yosys synth_xilinx for the board's family. Raises BnncError on failure (scaleout names it)."""
    from compiler.workflow.config import BuildConfig
    from compiler.workflow.pipeline import build

    folder = Path(build_dir)
    flow = "rtl" if (rtl or synth) else "hls"
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    res = build(model, BuildConfig(board=board, target_fps=target_fps, flow=flow, name=folder.name), folder)
    times["compile"] = round(time.perf_counter() - t0, 2)
    rep = res.report or {}
    est_fps = rep.get("fps")
    entry: dict[str, Any] = {
        "key": folder.name, "board": board, "part": (rep.get("board") or {}).get("part"),
        "target_fps": target_fps, "flow": flow, "build": str(folder),
        "clock_mhz": rep.get("clock_mhz"), "fits": rep.get("fits"), "over_budget": rep.get("over_budget", []),
        "bottleneck": rep.get("bottleneck"),
        "folding": {l.name: dict(l.folding) for l in res.graph.layers if l.folding},
        "fps": {"estimate": est_fps, "simulation": None},
        "latency_cycles": {"estimate": rep.get("latency_cycles"), "simulation": None},
        "resources": {"estimate": _resources(rep.get("total", {})), "synthesis": None,
                      "estimate_without_dma": None},
        "utilization_estimate": rep.get("utilization"),
        "rtlsim": None, "synth": None,
        "graph_sha256": _sha256(folder / "graph.json"),
        "notes": ["fps/latency_cycles/resources 'estimate': compiler.estimate.cost for the " +
                  ("RTL library" if flow == "rtl" else "HLS templates") + ", DMA shell included",
                  "'simulation': Verilator rtlsim of the generated RTL (no DMA shell)",
                  "'synthesis': Yosys synth_xilinx, before place and route (no DMA shell); "
                  "'estimate_without_dma' is the estimate of that same scope"],
    }
    if rtl:
        t0 = time.perf_counter()
        entry["rtlsim"] = _rtlsim(folder, frames, seed)
        times["rtlsim"] = round(time.perf_counter() - t0, 2)
        cpf = entry["rtlsim"]["cycles_per_frame"]
        if cpf and rep.get("clock_mhz"):
            entry["fps"]["simulation"] = rep["clock_mhz"] * 1e6 / cpf
        entry["latency_cycles"]["simulation"] = entry["rtlsim"]["latency_cycles"]
    if synth:
        t0 = time.perf_counter()
        doc = _synth(folder, board)
        times["synth"] = round(time.perf_counter() - t0, 2)
        entry["synth"] = {"tool": doc["tool"], "family": doc["family"], "report": "synth.json"}
        entry["resources"]["synthesis"] = {k: doc["total"].get(k) for k in ("LUT", "FF", "LUTRAM", "BRAM18", "DSP")}
        entry["resources"]["estimate_without_dma"] = dict(doc["estimated_total"])
    entry["seconds"] = times
    return entry


def _rtlsim(folder: Path, frames: int, seed: int) -> dict[str, Any]:
    """What `bnnc rtlsim` does for a build folder (rtlsim.json beside it), as a library call."""
    from compiler.workflow.rtl_runs import rtlsim_build

    doc, rep, _ = rtlsim_build(folder, frames, seed)
    if not rep.ok:
        raise ExploreError(f"{folder}: RTL simulation differs from the simulator: {rep.first_mismatch}")
    return {"tool": doc["tool"], "frames": rep.frames, "mismatches": rep.mismatches,
            "cycles_per_frame": rep.cycles_per_frame, "latency_cycles": rep.latency_cycles,
            "report": "rtlsim.json"}


def _synth(folder: Path, board: str) -> dict[str, Any]:
    """What `bnnc synth` does for a build folder (synth.json, and the folding report with the synthesized counts)."""
    from compiler.workflow.report import refresh_report
    from compiler.workflow.rtl_runs import synth_build
    from compiler.workflow.target import resolve_target

    doc = synth_build(folder, resolve_target(folder, board).board.name)
    refresh_report(folder)
    return doc


def check_tools(rtl: bool, synth: bool) -> None:
    """Verilator / Yosys present before any point starts (else one error per point, minutes later)."""
    if rtl:
        from compiler.backends.rtl import verilator

        verilator.tool_version(verilator.VERILATOR)
    if synth:
        from compiler.backends.rtl.yosys import YOSYS, tool_version

        tool_version(YOSYS)


def _signature(model: Path, rtl: bool, synth: bool, frames: int, seed: int) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "model_sha256": _sha256(model), "rtl": rtl, "synth": synth,
            "frames": frames if rtl else None, "seed": seed if rtl else None}


def _claim_output(out_dir: Path, sig: dict[str, Any]) -> None:
    """DIR is new, or holds a sweep of the same model and options (resume); anything else is refused untouched."""
    f = out_dir / SWEEP_FILE
    if f.is_file():
        try:
            old = json.loads(f.read_text())
        except ValueError:
            old = None
        if old != sig:
            raise ExploreError(f"{out_dir} holds a sweep of another model or other options ({f}); resume it with "
                               "the same model and --rtl/--synth/--frames, or give another -o folder")
        return
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ExploreError(f"{out_dir} exists and is not a bnnc explore folder (no {SWEEP_FILE}); give another -o")
    from scaleout.store import write_atomic

    write_atomic(f, json.dumps(sig, indent=1) + "\n")


def explore(model: str | os.PathLike, boards: list[str], target_fps: list[float | str], out_dir: str | os.PathLike,
            rtl: bool = False, synth: bool = False, frames: int = 20, seed: int = 0, executor=None,
            num_cpus: float = 1.0) -> dict[str, Any]:
    """Run the sweep boards x target_fps through `executor` (a scaleout.Executor; default: the local one) and write
    DIR/explore.json and DIR/explore.png; returns the explore.json document. Bad input is an ExploreError before
    any point runs; a failed point is listed under 'failed' with its error, the others are kept."""
    from scaleout import Task, make_executor

    model = Path(model)
    if not model.is_file():
        raise ExploreError(f"model {model}: no such file")
    if not boards or not target_fps:
        raise ExploreError("give at least one board and one target FPS")
    if frames < 1:
        raise ExploreError(f"--frames must be >= 1, got {frames}")
    check_tools(rtl, synth)
    out = Path(out_dir)
    _claim_output(out, _signature(model, rtl, synth, frames, seed))
    points = sweep_points(boards, target_fps)
    tasks = [Task(p.key, explore_point, (str(model.resolve()), p.board, p.target_fps, str((out / "builds" / p.key)
                                                                                                .resolve())),
                  {"rtl": rtl, "synth": synth, "frames": frames, "seed": seed}, num_cpus=num_cpus) for p in points]
    ex = executor if executor is not None else make_executor()
    try:
        results = ex.run(tasks, out_dir=out / "items", desc="explore")
        where = ex.describe()
    finally:
        if executor is None:            # one made here is closed here (a kept process pool, a Ray connection)
            ex.close()
    entries, failed = [], []
    for p in points:
        r = results[p.key]
        if r.ok:
            e = dict(r.value)
            e["build"] = os.path.relpath(e["build"], out.resolve())   # the folder moves with DIR
            entries.append(e)
        else:
            failed.append({"key": p.key, "board": p.board, "target_fps": p.target_fps, "error": r.error})
    doc = {"format_version": FORMAT_VERSION, "model": str(model), "boards": boards, "target_fps": target_fps,
           "rtl": rtl, "synth": synth, "executor": where, "points": entries, "failed": failed,
           "pareto_estimate": pareto_front(entries),
           "notes": ["pareto_estimate: the points no other fitting point beats on both estimated LUTs and estimated "
                     "FPS", "each point's figures are labelled estimate / simulation / synthesis"]}
    from scaleout.store import write_atomic

    write_atomic(out / "explore.json", json.dumps(doc, indent=1) + "\n")
    plot_explore(doc, out / "explore.png")
    return doc


def sweep_results(doc: dict[str, Any]) -> dict[str, Any]:
    """An explore.json document without what depends on how the sweep ran (the executor, the points' timings): what
    two runs of one sweep -- in this process, on a pool, on Ray -- must agree on exactly."""
    d = json.loads(json.dumps(doc))
    d.pop("executor")
    for e in d["points"]:
        e.pop("seconds")
    return d


def pareto_front(entries: list[dict[str, Any]]) -> list[str]:
    """Keys of the fitting points not dominated in (estimated LUTs lower, estimated FPS higher), by LUTs."""
    pts = [(e["resources"]["estimate"]["LUT"], e["fps"]["estimate"], e["key"]) for e in entries
           if e.get("fits") and e["fps"]["estimate"]]
    front = []
    for lut, fps, key in sorted(pts, key=lambda t: (t[0], -t[1])):
        if not front or fps > front[-1][1]:
            front.append((lut, fps, key))
    return [k for _, _, k in front]


def plot_explore(doc: dict[str, Any], path: Path) -> Path:
    """LUTs against FPS, one colour per board: estimates as dots (the Pareto front joined), simulated FPS as
    triangles, Yosys LUTs (plus the estimated DMA shell, which the RTL has not) as crosses. Matplotlib's object API
    on an Agg canvas (no pyplot, no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 5))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    colours = {b: f"C{i}" for i, b in enumerate(doc["boards"])}
    for e in doc["points"]:
        c = colours.get(e["board"], "k")
        lut, fps = e["resources"]["estimate"]["LUT"], e["fps"]["estimate"]
        ax.scatter([lut], [fps], color=c, marker="o", facecolors=c if e.get("fits") else "none", zorder=3)
        t = e["target_fps"]
        ax.annotate(t if isinstance(t, str) else f"{t:g}", (lut, fps), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
        if e["fps"].get("simulation"):
            ax.scatter([lut], [e["fps"]["simulation"]], color=c, marker="^", zorder=3)
        syn, same = e["resources"].get("synthesis"), e["resources"].get("estimate_without_dma")
        if syn and syn.get("LUT") is not None and same:     # on the x axis' scope: plus the DMA shell's estimate
            ax.scatter([syn["LUT"] + lut - same["LUT"]], [fps], color=c, marker="x", zorder=3)
    byk = {e["key"]: e for e in doc["points"]}
    front = [byk[k] for k in doc["pareto_estimate"]]
    if front:
        ax.step([e["resources"]["estimate"]["LUT"] for e in front], [e["fps"]["estimate"] for e in front],
                where="post", color="0.4", lw=1, ls="--", label="Pareto front (estimate)")
    for b, c in colours.items():
        ax.scatter([], [], color=c, marker="o", label=f"{b} (estimate; hollow: does not fit)")
    if any(e["fps"].get("simulation") for e in doc["points"]):
        ax.scatter([], [], color="k", marker="^", label="FPS, Verilator simulation")
    if any(e["resources"].get("synthesis") for e in doc["points"]):
        ax.scatter([], [], color="k", marker="x", label="LUT, Yosys synthesis + the DMA shell's estimate")
    vals = [e["fps"]["estimate"] for e in doc["points"] if e["fps"]["estimate"]]
    if vals and max(vals) / max(min(vals), 1e-9) > 20:
        ax.set_yscale("log")
    ax.set_xlabel("LUTs (estimate: compiler.estimate.cost, with the DMA shell)")
    ax.set_ylabel("frames / s")
    ax.set_title(f"bnnc explore {Path(doc['model']).name}: {len(doc['points'])} points"
                 + (f", {len(doc['failed'])} failed" if doc["failed"] else ""), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)
    return path


def format_points(doc: dict[str, Any]) -> str:
    """The table `bnnc explore` prints: one row per point, each figure's source in its column name."""
    head = (f"{'point':28} {'fits':>4} {'FPS est':>12} {'FPS sim':>12} {'LUT est':>8} {'LUT synth':>9} "
            f"{'BRAM18 est':>10}  folding (PE/SIMD)")
    rows = [head, "-" * len(head)]
    pareto = set(doc["pareto_estimate"])

    def num(v, fmt="{:,.0f}"):
        return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)

    for e in doc["points"]:
        syn = e["resources"].get("synthesis") or {}
        fold = " ".join(f"{f.get('pe', 1)}/{f.get('simd', 1)}" for f in e["folding"].values())
        rows.append(f"{e['key'][:27] + ('*' if e['key'] in pareto else ''):28} {'yes' if e['fits'] else 'NO':>4} "
                    f"{num(e['fps']['estimate']):>12} {num(e['fps']['simulation']):>12} "
                    f"{num(e['resources']['estimate']['LUT']):>8} {num(syn.get('LUT')):>9} "
                    f"{num(e['resources']['estimate']['BRAM18']):>10}  {fold}")
    for f in doc["failed"]:
        rows.append(f"{f['key'][:28]:28} FAILED: {f['error']}")
    rows.append("* on the Pareto front of the estimates; est = compiler.estimate.cost estimate, sim = Verilator simulation, "
                "synth = Yosys synthesis (no DMA shell)")
    return "\n".join(rows)
