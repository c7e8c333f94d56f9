"""Verilator build time of `bnnc rtlsim`, this checkout against a git revision's, cold, in one run.

Two designs: `bnnc demo`'s LFC (LFC-W1A1, 8-bit input, calibrated BatchNorm, folded by the optimiser for Pynq-Z2
as `bnnc demo` compiles it; benchmarks/_rtl_runs.py `lfc-demo`) and a 600-64-64-64-1 W2A2 MLP (bnn.topologies
TFC widths, 6x10x10 input, one output) folded for maximum throughput on Pynq-Z2 (`bnnc compile --board pynq-z2`,
--target-fps max by default). Both are compiled once with this checkout; then for each code version (--baseline
REV checked out in a temporary git worktree, and this checkout) `bnnc rtlsim BUILD --frames N` runs on a fresh
copy of the build folder with the Verilator model cache off (BNNC_VERILATOR_CACHE=off) and an empty ccache
(CCACHE_DIR a new empty folder): every build is a cold build. Reported: build seconds (rtlsim.json
build_seconds), run seconds, mismatches against the NumPy simulator and cycles per frame; both versions must be
bit-exact at the same cycle counts. Also the CPU seconds of the whole `bnnc rtlsim` command (Python start,
Verilator, g++, simulation): on a shared machine wall time depends on the other users' load, CPU time much less.

    .venv/bin/python benchmarks/rtlsim_build_speed.py --baseline cc989ce --frames 20 --out runs/rtlsim_build.json
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from _rtl_runs import BNNC, export_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MODELS = ("lfc-demo", "mlp600-w2a2")


def export_mlp600(work: Path) -> Path:
    """600-64-64-64-1 W2A2 MLP (untrained: build time and exactness do not need training), seed 0."""
    import torch

    from bnn.export import export_qonnx
    from bnn.topologies import from_spec, make_spec

    torch.manual_seed(0)
    module = from_spec(make_spec("tfc", 2, 2, in_channels=6, in_size=10, num_classes=1))
    onnx = work / "mlp600-w2a2.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(module.eval(), onnx, (6, 10, 10), dynamo=False)
    return onnx


def compile_model(work: Path, model: str) -> Path:
    onnx = export_mlp600(work) if model == "mlp600-w2a2" else export_model(work, model)
    out = work / model
    subprocess.run([BNNC, "compile", str(onnx), "-o", str(out), "--board", "pynq-z2"], check=True,
                   capture_output=True)
    return out


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished children (bnnc rtlsim, Verilator, make, g++)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def rtlsim(code: Path, build: Path, frames: int, jobs: int) -> dict:
    """`bnnc rtlsim` of the code in `code` on `build`, cold caches; rtlsim.json plus the command's wall seconds."""
    with tempfile.TemporaryDirectory(prefix="bnnc-ccache-") as ccache:
        env = {**os.environ, "PYTHONPATH": str(code), "BNNC_VERILATOR_CACHE": "off", "CCACHE_DIR": ccache}
        shutil.rmtree(build / "rtl", ignore_errors=True)
        t0, cpu0 = time.perf_counter(), _children_cpu()
        res = subprocess.run([sys.executable, "-c", "import sys, bnnc; sys.exit(bnnc.main())", "rtlsim", str(build), "--frames", str(frames),
                              "--jobs", str(jobs)], env=env, capture_output=True, text=True, cwd=code)
        wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if res.returncode:
        raise SystemExit(f"bnnc rtlsim ({code}) on {build} failed:\n{res.stdout}\n{res.stderr}")
    doc = json.loads((build / "rtlsim.json").read_text())
    return {"build_s": doc["build_seconds"], "run_s": doc["run_seconds"], "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
            "mismatches": doc["mismatches"], "cycles_per_frame": doc["cycles_per_frame"],
            "latency_cycles": doc["latency_cycles"], "total_cycles": doc["total_cycles"],
            "fifo_max_level": [f["max_level"] for f in doc["fifos"]]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default="HEAD", help="git revision whose code is the 'before'")
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--jobs", type=int, default=1, help="bnnc rtlsim --jobs (both versions)")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    res = {"baseline": args.baseline, "frames": args.frames, "jobs": args.jobs, "models": {}}
    with tempfile.TemporaryDirectory(prefix="bnnc-rtlbuild-") as tmp:
        work = Path(tmp)
        base = work / "baseline-code"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(base), args.baseline],
                       check=True, capture_output=True)
        try:
            for model in args.models.split(","):
                build = compile_model(work, model)
                row = res["models"][model] = {}
                for label, code in (("baseline", base), ("current", REPO)):
                    copy = work / f"{model}-{label}"
                    shutil.copytree(build, copy)
                    row[label] = r = rtlsim(code, copy, args.frames, args.jobs)
                    print(f"{model:12s} {label:8s}: Verilator build {r['build_s']:6.1f} s wall, whole bnnc rtlsim "
                          f"{r['cpu_s']:6.1f} CPU-s, run {r['run_s']:.2f} s, "
                          f"{r['mismatches']} mismatches, {r['cycles_per_frame']} cycles/frame, "
                          f"latency {r['latency_cycles']}", flush=True)
                b, c = row["baseline"], row["current"]
                row["build_speedup"] = round(b["build_s"] / c["build_s"], 2)
                row["cpu_speedup"] = round(b["cpu_s"] / c["cpu_s"], 2)
                row["same_cycles"] = all(b[k] == c[k] for k in ("cycles_per_frame", "latency_cycles",
                                                                  "total_cycles", "fifo_max_level"))
                print(f"{model:12s} build {row['build_speedup']:.2f}x faster (wall) than {args.baseline}, whole command "
                      f"{row['cpu_speedup']:.2f}x fewer CPU-s; same cycle "
                      f"counts: {row['same_cycles']}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)], check=False,
                           capture_output=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1) + "\n")
    bad = [m for m, r in res["models"].items()
           if r["baseline"]["mismatches"] or r["current"]["mismatches"] or not r["same_cycles"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
