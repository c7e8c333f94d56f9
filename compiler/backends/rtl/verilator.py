"""Verilator co-simulation of a generated RTL project: build (cached by source digest), run DMA bytes
through it, compare with the NumPy simulator bit for bit, measure cycles per frame and latency."""
from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from diagnostics import progress
from compiler.backends.rtl.project import TOP, RtlProject
from compiler.backends.cache import cache_dir, compiler_id, reuse_or_build
from compiler.backends.rtl.pch import pch_flags, verilated_pch
from diagnostics.errors import CompileError
from compiler.ir.graph import DataflowGraph
from compiler.sim.packing import frame_bytes, pack_stream, unpack_stream

VERILATOR = "verilator"
VERILATOR_FLAGS = ("--cc", "--exe", "--build", "--default-language", "1364-2005", "-Wno-fatal",
                   "--x-assign", "fast", "--x-initial", "fast", "-GSTATS=1", "-O3")
#: g++ optimisation per part of Verilator's make (verilated.mk): OPT_FAST for the per-cycle model code, OPT_SLOW for
#: the __Slow files (initial settle and reset: run once, as large again as the fast code), OPT_GLOBAL for the
#: Verilator runtime. -O0 on the run-once half and -O1 elsewhere: a cold build of the demo's LFC takes a third of
#: g++'s CPU time of -CFLAGS -O1 (which only reached the __Slow files: OPT_FAST -Os came after it), with no
#: measurable simulation slow-down (benchmarks/rtlsim_build_speed.py)
MAKEFLAGS = ("OPT_FAST=-O1", "OPT_SLOW=-O0", "OPT_GLOBAL=-O1")


def make_flags(jobs: int, pch: Path | None = None) -> tuple[str, ...]:
    """MAKEFLAGS for a build with `jobs` parallel C++ compiles. Verilator splits a model of over 20,000 statements
    into a file per class and half (keep that split: --output-split also cuts huge functions that g++ needs minutes
    for), and each file parses verilated.h again (~0.5 CPU-s a file), which pays only when make compiles them side
    by side. With one job the files are compiled as one translation unit (VM_PARALLEL_BUILDS=0: verilated.mk's
    __ALL.cpp, the run-once half then at OPT_FAST too). benchmarks/rtlsim_build_speed.py, cold, --jobs 1: the demo's
    LFC 1.3x fewer CPU-s, the maximally folded 600-64-64-64-1 MLP 8 % more (its run-once half is large).
    `pch`: a precompiled verilated.h (compiler.backends.rtl.pch) for the model files and the harness only
    (OPT_FAST): the runtime's objects keep the command line ccache knows them by."""
    flags = tuple(f + pch_flags(pch) if f.startswith("OPT_FAST=") else f for f in MAKEFLAGS)
    return flags + (("VM_PARALLEL_BUILDS=0",) if jobs == 1 else ())


def tool_version(tool: str) -> str:
    """`tool --version`'s first line; CompileError naming the tool when it is missing."""
    if shutil.which(tool) is None:
        raise CompileError(f"{tool} is not on PATH: the RTL backend needs it",
                           hint="apt-get install verilator yosys (or `make setup` as root)")
    res = subprocess.run([tool, "--version" if tool != "yosys" else "-V"], capture_output=True, text=True)
    return (res.stdout or res.stderr).strip().splitlines()[0]


def verilator_cache_dir() -> Path | None:
    """Where Verilator models are shared by content across projects: $BNNC_VERILATOR_CACHE ('' or 'off' disables
    it), else $XDG_CACHE_HOME/bnnc/verilator (~/.cache/bnnc/verilator)."""
    return cache_dir("BNNC_VERILATOR_CACHE", "verilator")


def _build_env() -> dict[str, str]:
    """Verilator's make runs each compile through $OBJCACHE: ccache when installed (and OBJCACHE unset), so the
    Verilator runtime's objects, the same in every model, are compiled once per machine, not once per design."""
    env = dict(os.environ)
    if "OBJCACHE" not in env and shutil.which("ccache"):
        env["OBJCACHE"] = "ccache"
    return env


def build(project: RtlProject, jobs: int = 1) -> tuple[Path, float, bool]:
    """Build project/obj_dir/sim; returns (executable, seconds, reused). Reused when rtl.json's source_digest
    (every generated file, ROM files included, and the library) and the Verilator version match the last build,
    else taken from the shared cache (verilator_cache_dir: keyed by that, the flags and the C++ compiler; the
    model reads its ROM files at start from the folder it runs in, so one binary serves equal projects)."""
    version = tool_version(VERILATOR)
    obj = project.path / "obj_dir"
    exe, stamp = obj / "sim", obj / "sim.digest"
    digest = f"{project.meta['source_digest']} {version} {' '.join(VERILATOR_FLAGS)} {' '.join(make_flags(jobs))}"
    if exe.is_file() and stamp.is_file() and stamp.read_text() == digest:
        return exe, 0.0, True
    cache = verilator_cache_dir()
    entry = cache / hashlib.sha256(f"{digest}\n{compiler_id('g++')}".encode()).hexdigest() if cache else None
    seconds, reused = reuse_or_build(entry, exe, stamp, digest, lambda: _verilate(project, jobs, version, cache),
                                     lambda m: warnings.warn(m, stacklevel=3))
    return exe, seconds, reused


def _verilate(project: RtlProject, jobs: int, version: str, cache: Path | None) -> float:
    """Run Verilator's build of project/obj_dir/sim (`version`: Verilator's; the precompiled header beside `cache`
    when there is one); returns its seconds."""
    pch = verilated_pch(VERILATOR, make_flags(jobs), f"{version}\n{compiler_id('g++')}", cache)
    # -MAKEFLAGS reaches make through a shell: OPT_FAST with a precompiled header holds spaces
    cmd = [VERILATOR, *VERILATOR_FLAGS, "-MAKEFLAGS", " ".join(map(shlex.quote, make_flags(jobs, pch))), "-j",
           str(jobs), "--top-module", TOP, "--Mdir", "obj_dir", "-o", "sim", *project.sources, "harness.cpp"]
    t0 = time.perf_counter()
    with progress.step(f"Verilator build of {project.path}"):
        res = subprocess.run(cmd, cwd=project.path, capture_output=True, text=True, env=_build_env())
    if res.returncode or not (project.path / "obj_dir" / "sim").is_file():
        tail = "\n".join((res.stderr or res.stdout).strip().splitlines()[-25:])
        raise CompileError(f"Verilator build of {project.path} failed (exit {res.returncode}):\n{tail}",
                           hint="this is a bnnc RTL generation bug; please report it with the graph")
    return time.perf_counter() - t0


class RtlsimDeadlock(CompileError):
    """The simulated design stopped moving (the harness saw no beat for DEADLOCK_CYCLES cycles); `stats` holds
    the frames completed so far and every FIFO's high-water mark (rtl.json "fifos" order)."""

    def __init__(self, reason: str, stats: dict):
        super().__init__(reason, hint="a FIFO marked FULL in front of a join (AddStreams) is too shallow for what "
                                      "its branch must buffer (docs/cost_model.md \"Branch FIFOs\")")
        self.stats = stats


def run_bytes(project: RtlProject, data: np.ndarray, stall_seed: int | None = None) -> tuple[np.ndarray, dict]:
    """DMA input bytes (N, in_frame_bytes) -> (DMA output bytes (N, out_frame_bytes), harness stats)."""
    exe = (project.path / "obj_dir" / "sim").resolve()     # absolute: it runs with cwd=project.path
    if not exe.is_file():
        raise CompileError(f"{exe} not built", hint="call build() first")
    fin, fout = frame_bytes(project.meta["input"]), frame_bytes(project.meta["output"])
    d = np.ascontiguousarray(data, dtype=np.uint8)
    n = len(d)
    if n < 1 or d.size != n * fin:
        raise CompileError(f"RTL simulation input of shape {d.shape} is not N >= 1 frames of {fin} bytes")
    with tempfile.TemporaryDirectory(prefix="bnnc-rtlsim-") as tmp:
        pin, pout, pstats = Path(tmp) / "in.bin", Path(tmp) / "out.bin", Path(tmp) / "stats.json"
        pin.write_bytes(d.tobytes())
        cmd = [str(exe), str(pin), str(pout), str(pstats)] + ([str(stall_seed)] if stall_seed is not None else [])
        with progress.step(f"Verilator simulation of {n} frames"):
            res = subprocess.run(cmd, cwd=project.path, capture_output=True, text=True)
        if res.returncode == 3 and pstats.is_file():
            lines = [ln.removeprefix("bnnc-rtlsim: ") for ln in res.stderr.strip().splitlines()]
            raise RtlsimDeadlock(f"RTL simulation of {project.path}: " + "\n  ".join(lines),
                                 json.loads(pstats.read_text()))
        if res.returncode:
            msg = (res.stderr.strip() + "\n" + res.stdout.strip()).strip().splitlines()[-10:]
            raise CompileError(f"RTL simulation of {project.path} failed (exit {res.returncode}):\n" + "\n".join(msg))
        raw = np.frombuffer(pout.read_bytes(), np.uint8)
        stats = json.loads(pstats.read_text())
    if raw.size != n * fout:
        raise CompileError(f"RTL simulation wrote {raw.size} bytes, expected {n * fout}")
    return raw.reshape(n, fout), stats


def run(project: RtlProject, ints: np.ndarray, stall_seed: int | None = None) -> tuple[np.ndarray, dict]:
    """Integer layer-0 input (N, *in_shape) -> (last layer's output (N, *out_shape) int64, stats), through
    the DMA bytes (compiler.sim.packing.pack_stream / unpack_stream)."""
    raw, stats = run_bytes(project, pack_stream(ints, project.meta["input"]), stall_seed)
    return unpack_stream(raw, project.meta["output"]), stats


def steady_state(done: list[int]) -> int | None:
    """Cycles between consecutive frame completions over the second half of the run (None below 3 frames)."""
    n = len(done)
    if n < 3:
        return None
    a = n // 2
    return round((done[-1] - done[a - 1]) / (n - a))


@dataclass
class RtlsimReport:
    frames: int
    mismatches: int                      # output elements differing from the simulator
    mismatched_frames: int
    cycles_per_frame: int | None         # measured steady-state initiation interval
    latency_cycles: int                  # first input beat accepted -> last output beat of frame 0
    total_cycles: int
    fifo_max_level: list[int]
    build_seconds: float
    reused_build: bool
    run_seconds: float
    first_mismatch: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.mismatches == 0

    @property
    def frames_per_second(self) -> float:
        """Simulated frames per host (wall-clock) second of the run, build excluded: what pushing a test set through
        this simulation costs (process start, packing and file I/O included)."""
        return self.frames / self.run_seconds if self.run_seconds > 0 else float("inf")

    def as_dict(self) -> dict:
        return asdict(self)


def check(graph: DataflowGraph, project: RtlProject, ints: np.ndarray, stall_seed: int | None = None,
          jobs: int = 1) -> RtlsimReport:
    """Build (or reuse) the simulation, run `ints` through it, compare with compiler.sim.simulate."""
    _, build_s, reused = build(project, jobs)
    t0 = time.perf_counter()
    got, stats = run(project, ints, stall_seed)
    return compare(graph, ints, got, stats, build_s, reused, time.perf_counter() - t0)


def compare(graph: DataflowGraph, ints: np.ndarray, got: np.ndarray, stats: dict, build_s: float, reused: bool,
            run_s: float) -> RtlsimReport:
    """The report of one RTL simulation run: its outputs `got` against compiler.sim.simulate on `ints`, element by
    element, and the cycle figures from the harness `stats` (frame_done, first_input_cycle, cycles, FIFO levels)."""
    from compiler.sim.simulate import simulate_layers

    ref = simulate_layers(graph, ints)
    g, r = got.reshape(len(got), -1), ref.reshape(len(ref), -1)
    diff = g != r
    first = None
    if diff.any():
        f, e = (int(v) for v in np.argwhere(diff)[0])
        first = f"frame {f}, output element {e}: RTL {g[f, e]}, simulator {r[f, e]}"
    done = stats["frame_done"]
    return RtlsimReport(len(got), int(diff.sum()), int(diff.any(axis=1).sum()), steady_state(done),
                        int(done[0] - stats["first_input_cycle"] + 1), int(stats["cycles"]),
                        list(stats["fifo_max_level"]), build_s, reused, run_s, first)


def default_jobs() -> int:
    return max(1, min(2, os.cpu_count() or 1))
