"""The result of `bnn.compress.run`: a family of verified students, its family.json, Pareto plot and table.

Every figure carries the name of what produced it: accuracy (PyTorch on the test set, the export proven exact),
estimate (the compiler's cost model), rtlsim (Verilator), synth (Yosys). The plot and the recommendation use the
synthesized LUTs where a student was synthesized and the estimate otherwise, and say which.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bnn.compress.student_build import write_json_atomic

FAMILY_JSON = "family.json"


@dataclass
class StudentEntry:
    name: str
    method: str                       # 'supernet' (weight-shared), 'separate', 'morphnet', 'prune', 'lowrank', ...
    widths: list[int]
    bits: dict                        # {"weight": [...per layer], "act": [...], "input": n}
    accuracy: dict                    # {"value", "n", "source"}
    checkpoint: str
    build: str | None = None
    onnx: str | None = None
    estimate: dict | None = None      # compiler cost model at the build's folding
    rtlsim: dict | None = None
    synth: dict | None = None
    verify: dict | None = None
    export_check: dict | None = None
    error: str | None = None          # the build failed: why

    @property
    def lut(self) -> tuple[float | None, str]:
        """LUTs for comparisons: synthesized when measured, else estimated; and which."""
        if self.synth and self.synth.get("lut") is not None:
            return float(self.synth["lut"]), "synthesized (Yosys)"
        if self.estimate and self.estimate.get("lut") is not None:
            return float(self.estimate["lut"]), "estimated"
        return None, "none"

    @property
    def fps(self) -> tuple[float | None, str]:
        if self.rtlsim and self.rtlsim.get("fps"):
            return float(self.rtlsim["fps"]), "rtlsim"
        if self.estimate and self.estimate.get("fps"):
            return float(self.estimate["fps"]), "estimated"
        return None, "none"

    @property
    def met(self) -> bool:
        return bool(self.estimate and self.estimate.get("met")) and self.error is None


@dataclass
class Family:
    students: list[StudentEntry]
    out_dir: str
    teacher: dict
    board: str
    target_fps: float | str | None
    recommended: str | None = None
    deploy: str | None = None
    training: dict = field(default_factory=dict)    # how the students were trained, seconds, epochs
    dataset: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    def by_name(self) -> dict[str, StudentEntry]:
        return {s.name: s for s in self.students}

    def to_dict(self) -> dict:
        d = asdict(self)
        for e, s in zip(d["students"], self.students):
            lut, lsrc = s.lut
            fps, fsrc = s.fps
            e["lut"], e["lut_source"], e["fps"], e["fps_source"], e["met"] = lut, lsrc, fps, fsrc, s.met
        return d

    def save(self) -> Path:
        return write_json_atomic(Path(self.out_dir) / FAMILY_JSON, self.to_dict())


def recommend(students: list[StudentEntry]) -> StudentEntry | None:
    """The most accurate student that meets the board and FPS target (fewest LUTs on a tie)."""
    ok = [s for s in students if s.met]
    return max(ok, key=lambda s: (s.accuracy["value"], -(s.lut[0] or 0))) if ok else None


def table(fam: Family) -> str:
    """Plain-text table, one row per student; the header says what produced each column."""
    head = ["student", "method", "widths", "W/A bits", "test acc", "LUT", "(source)", "BRAM18", "FPS", "(source)",
            "verified", "target"]
    rows = []
    for s in fam.students:
        lut, lsrc = s.lut
        fps, fsrc = s.fps
        bram = (s.synth or {}).get("bram18") if s.synth else (s.estimate or {}).get("bram18")
        wb, ab = s.bits.get("weight") or [], s.bits.get("act") or []
        bits = f"{wb[0]}/{ab[0]}" if len(set(wb)) <= 1 and len(set(ab)) <= 1 and wb else \
            ",".join(f"{w}/{a}" for w, a in zip(wb, ab))
        ver = "-" if s.verify is None else (f"{s.verify['output_mismatches']} mism./{s.verify['inputs']}"
                                            + (f", rtl {s.rtlsim['mismatches']}" if s.rtlsim else ""))
        rows.append([s.name + (" *" if s.name == fam.recommended else ""), s.method, ",".join(map(str, s.widths)), bits,
                     f"{s.accuracy['value']:.4f}", "-" if lut is None else f"{lut:,.0f}", lsrc.split(" ")[0],
                     "-" if bram is None else f"{bram:,.0f}", "-" if fps is None else f"{fps:,.0f}", fsrc,
                     "FAILED" if s.error else ver, "meets" if s.met else "misses"])
    w = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.rjust(w[i]) if 4 <= i <= 8 else c.ljust(w[i]) for i, c in enumerate(r))  # noqa: E731
    lines = [fmt(head), "-" * len(fmt(head))] + [fmt(r) for r in rows]
    lines.append(f"* recommended; accuracy: PyTorch on the {fam.dataset.get('test_size', '?')}-sample test set "
                 "(export proven exact); LUT/FPS sources as labelled")
    return "\n".join(lines)


def plot_family(fam: Family, path: str | Path) -> Path:
    """Accuracy against LUTs (synthesized where available), each point labelled with its FPS; Pareto front."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bnn.compress.pareto import pareto_front

    pts = []
    for s in fam.students:
        lut, lsrc = s.lut
        fps, fsrc = s.fps
        if lut is not None:
            pts.append({"name": s.name, "lut": lut, "accuracy": s.accuracy["value"], "src": lsrc, "fps": fps,
                        "fsrc": fsrc})
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for src, marker in (("synthesized (Yosys)", "o"), ("estimated", "^")):
        ps = [p for p in pts if p["src"] == src]
        if ps:
            ax.scatter([p["lut"] for p in ps], [p["accuracy"] for p in ps], marker=marker, s=36, label=f"LUT {src}")
    for p in pts:
        label = p["name"] + ("" if p["fps"] is None else f"\n{p['fps']:,.0f} FPS ({p['fsrc']})")
        ax.annotate(label, (p["lut"], p["accuracy"]), fontsize=6, xytext=(4, 3), textcoords="offset points")
    front = pareto_front(pts) if pts else []
    if front:
        ax.plot([p["lut"] for p in front], [p["accuracy"] for p in front], "k--", lw=0.8, label="Pareto front")
    ax.set_xlabel("LUT (synthesized by Yosys where available, else the compiler's estimate)")
    ax.set_ylabel("test accuracy (full test set)")
    ax.set_title(f"student family on {fam.board} @ {fam.target_fps} FPS target")
    ax.grid(alpha=0.3)
    if pts:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no student was built", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path


def load_family(path: str | Path) -> dict:
    """family.json as a dict (for tools that read a finished family)."""
    return json.loads(Path(path).read_text())
