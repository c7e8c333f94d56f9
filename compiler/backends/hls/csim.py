"""C simulation of a generated HLS project: compile it with g++, stream packed frames through bnnc_top and
compare with the NumPy simulator (the reference semantics), bit for bit.

The Xilinx ap_int / hls::stream C++ models (Apache-2.0) come from the hls4ml package (`pip install bnnc[hls]`).
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from diagnostics import progress
from compiler.backends.cache import cache_dir, compiler_id, reuse_or_build
from diagnostics.errors import CompileError
from compiler.backends.hls.gxx_cost import estimate_gxx
from compiler.backends.hls.pch import HEADER as PCH_HEADER, library_pch
from compiler.ir.graph import DataflowGraph
from compiler.sim.packing import frame_bytes, pack_stream, unpack_stream
from compiler.backends.digest import digest_texts
from compiler.backends.hls.sources import sources_digest

CXXFLAGS = ("-O2", "-std=c++14")
STREAM_WARNING = "WARNING: Hls::stream"       # printed by the hls::stream model on reads of empty / leftover data


def ap_types_dir() -> Path:
    """Folder holding ap_int.h and hls_stream.h (hls4ml's copy of Xilinx's ap_types), without importing hls4ml."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise CompileError("C simulation needs the Xilinx ap_types headers shipped with hls4ml, which is not "
                           "installed", hint="pip install 'bnnc[hls]' (or hls4ml)")
    for loc in spec.submodule_search_locations:
        d = Path(loc) / "templates" / "vivado" / "ap_types"
        if (d / "ap_int.h").is_file() and (d / "hls_stream.h").is_file():
            return d
    raise CompileError(f"hls4ml at {list(spec.submodule_search_locations)} has no templates/vivado/ap_types/ap_int.h",
                       hint="reinstall hls4ml (>= 1.0)")


def _meta(project: Path) -> dict:
    f = Path(project) / "project.json"
    try:
        return json.loads(f.read_text())
    except (OSError, ValueError) as e:
        raise CompileError(f"{f}: not a generated bnnc HLS project ({e})", hint="run `bnnc hls BUILD_DIR` first") from None


def csim_cache_dir() -> Path | None:
    """Where C-sim binaries are shared by content across projects: $BNNC_CSIM_CACHE ('' or 'off' disables it),
    else $XDG_CACHE_HOME/bnnc/csim (~/.cache/bnnc/csim)."""
    return cache_dir("BNNC_CSIM_CACHE", "csim")


def _toolchain(cxx: str) -> str:
    """What every C-sim build depends on besides the project's sources: the ap_types headers, the compiler and the
    flags (part of both the binary's cache key and the precompiled header's, compiler.backends.hls.pch)."""
    ap = ap_types_dir()
    ap_digest = digest_texts({f.name: f.read_text(errors="surrogateescape") for f in sorted(ap.glob("*.h"))})
    return "\n".join((ap_digest, compiler_id(cxx), " ".join(CXXFLAGS)))


def _cache_key(sources: str | None, toolchain: str, defines: tuple[str, ...]) -> str | None:
    """sha256 of everything the binary depends on: project sources, ap_types headers, compiler, flags."""
    if sources is None:
        return None
    return hashlib.sha256("\n".join((sources, toolchain, " ".join(defines))).encode()).hexdigest()


def compile_csim(project: str | os.PathLike, cxx: str = "g++", defines: tuple[str, ...] = (),
                 warn: Callable[[str], None] | None = None) -> tuple[Path, float, bool]:
    """Build project/csim/csim (csim/csim-<DEFINES> with -D flags); returns (executable, compile seconds, reused).
    Reuses a binary built from the same sources (content digest of the files on disk, compiler.backends.hls.sources) and
    flags: the project's own, else one from the shared cache (csim_cache_dir: keyed by sources, ap_types
    headers, compiler identity and flags), so tests and users never rebuild identical C++. Paths are passed
    absolute, so a project folder named '-x' cannot become a compiler option.
    A build estimated to take minutes or GB (compiler.backends.hls.gxx_cost) is announced first through `warn`
    (default: warnings.warn)."""
    project = Path(project).resolve()
    _meta(project)
    sources = sources_digest(project)
    digest = f"{sources} {' '.join(defines)}"
    name = "-".join(("csim", *(re.sub(r"\W", "_", d) for d in defines)))
    exe, stamp = project / "csim" / name, project / "csim" / f"{name}.digest"
    if exe.is_file() and stamp.is_file() and stamp.read_text() == digest:
        return exe, 0.0, True
    if shutil.which(cxx) is None:
        raise CompileError(f"C simulation needs a C++ compiler: {cxx!r} is not on PATH",
                           hint="apt-get install g++ (or pass another compiler)")
    toolchain = _toolchain(cxx)
    cache, key = csim_cache_dir(), _cache_key(sources, toolchain, defines)
    say = warn or (lambda m: warnings.warn(m, stacklevel=3))
    seconds, reused = reuse_or_build(cache / key if cache is not None and key is not None else None, exe, stamp,
                                     digest, lambda: _build(project, exe, cxx, defines, toolchain, say), say)
    return exe, seconds, reused


def unity_source(project: Path) -> str | None:
    """The one translation unit g++ compiles: top.cpp then tb.cpp, included by absolute path (so messages name
    the real files). Two units parsed the ap_types and bnnc headers twice: ~15 % of a C-sim build's CPU time.
    None for a path an #include cannot spell (a quote, backslash or newline in it): then two units, as before."""
    if any(c in str(project) for c in '"\\\n'):
        return None
    return "".join(f'#include "{project / part}"\n' for part in ("src/top.cpp", "tb/tb.cpp"))


def _build(project: Path, exe: Path, cxx: str, defines: tuple[str, ...], toolchain: str,
           warn: Callable[[str], None]) -> float:
    """Run g++ on the project (announcing a heavy build first); returns its seconds."""
    cost = estimate_gxx(project)
    if cost.heavy:
        warn(f"compiling the C simulation of {project}: " + cost.describe())
    exe.parent.mkdir(exist_ok=True)
    # the library's headers precompiled once (compiler.backends.hls.pch; not with -D defines, which they read)
    ap = ap_types_dir()
    pch = None if defines else library_pch(project, ap, cxx, CXXFLAGS, toolchain, csim_cache_dir())
    cmd = [cxx, *CXXFLAGS, *(f"-D{d}" for d in defines), *([f"-I{pch}", "-include", PCH_HEADER] if pch else []),
           f"-I{ap.resolve()}", f"-I{project / 'include'}", f"-I{project / 'src'}"]
    unity = unity_source(project)
    cmd += ["-x", "c++", "-"] if unity else [str(project / "src" / "top.cpp"), str(project / "tb" / "tb.cpp")]
    t0 = time.perf_counter()
    with progress.step(f"g++ build of the C simulation of {project.parent.name}/{project.name}"):
        res = subprocess.run([*cmd, "-o", str(exe)], input=unity or "", capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if res.returncode:
        tail = "\n".join(res.stderr.strip().splitlines()[-25:])
        raise CompileError(f"compiling the C simulation of {project} failed ({cxx} exit {res.returncode}):\n{tail}",
                           hint="this is a bnnc code generation bug; please report it with the graph")
    return seconds


def run_csim(project: str | os.PathLike, ints: np.ndarray, batch: int = 64,
             exe: str | os.PathLike | None = None, weights: str | os.PathLike | None = None) -> tuple[np.ndarray, float]:
    """Integer layer-0 input (N, *in_shape) -> (last layer's output (N, *out_shape) int64, seconds inside bnnc_top).

    Goes through the bytes the runtime's DMA buffers hold (compiler.sim.packing.pack_stream)."""
    meta = _meta(Path(project))
    raw, seconds = run_csim_bytes(project, pack_stream(ints, meta["input"]), batch=batch, exe=exe, weights=weights)
    return unpack_stream(raw, meta["output"]), seconds


def run_csim_bytes(project: str | os.PathLike, data: np.ndarray, batch: int = 64,
                   exe: str | os.PathLike | None = None,
                   weights: str | os.PathLike | None = None) -> tuple[np.ndarray, float]:
    """DMA input buffer bytes (N, in_frame_bytes) uint8 -> (DMA output bytes (N, out_frame_bytes), seconds inside
    bnnc_top), `batch` frames per bnnc_top call as one DMA transfer would carry them. A design with URAM weights
    (project.json "weights") first gets the weight image `weights` (default: the project's weights.bin) through
    bnnc_top's weight-load mode, as the runtime loads it on the board."""
    project = Path(project).resolve()
    meta = _meta(project)
    exe = Path(exe).resolve() if exe is not None else project / "csim" / "csim"
    if not exe.is_file():
        raise CompileError(f"{exe} not built", hint="call compile_csim first")
    frame_in, frame_out = frame_bytes(meta["input"]), frame_bytes(meta["output"])
    d = np.ascontiguousarray(data, dtype=np.uint8)
    n = len(d)
    if d.size != n * frame_in:
        raise CompileError(f"C simulation input of shape {d.shape} is not N frames of {frame_in} bytes")
    with tempfile.TemporaryDirectory(prefix="bnnc-csim-") as tmp:
        fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        fin.write_bytes(d.tobytes())
        with progress.step(f"C simulation of {n} frames"):
            cmd = [str(exe), str(fin), str(fout), str(int(batch))]
            if "weights" in meta:
                cmd.append(str(Path(weights or project / meta["weights"]["file"]).resolve()))
            res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode or STREAM_WARNING in res.stdout:
            msg = (res.stderr.strip() + "\n" + res.stdout.strip()).strip().splitlines()[-10:]
            raise CompileError(f"C simulation of {project} failed (exit {res.returncode}):\n" + "\n".join(msg))
        raw = np.frombuffer(fout.read_bytes(), np.uint8)
    if raw.size != n * frame_out:
        raise CompileError(f"C simulation wrote {raw.size} bytes, expected {n * frame_out}")
    seconds = float(res.stdout.rsplit("run_seconds=", 1)[1].split()[0])
    return raw.reshape(n, frame_out), seconds


@dataclass
class CsimReport:
    frames: int
    mismatched_elements: int
    mismatched_frames: int
    compile_seconds: float
    reused_binary: bool
    run_seconds: float                 # inside bnnc_top (testbench timer)
    wall_seconds: float                # packing + process + unpacking
    first_mismatch: str | None = None

    @property
    def ok(self) -> bool:
        return self.mismatched_elements == 0


def check_csim(graph: DataflowGraph, project: str | os.PathLike, ints: np.ndarray, batch: int = 64,
               warn: Callable[[str], None] | None = None) -> CsimReport:
    """Compile (or reuse) the C simulation, run `ints` through it and compare with compiler.sim.simulate."""
    from compiler.sim.simulate import simulate_layers

    _, comp_s, reused = compile_csim(project, warn=warn)
    t0 = time.perf_counter()
    got, run_s = run_csim(project, ints, batch=batch)
    wall = time.perf_counter() - t0
    ref = simulate_layers(graph, ints)
    diff = got.reshape(len(got), -1) != ref.reshape(len(ref), -1)
    first = None
    if diff.any():
        f, e = (int(v) for v in np.argwhere(diff)[0])
        first = (f"frame {f}, output element {e}: C-sim {got.reshape(len(got), -1)[f, e]}, "
                 f"simulator {ref.reshape(len(ref), -1)[f, e]}")
    return CsimReport(len(got), int(diff.sum()), int(diff.any(axis=1).sum()), comp_s, reused, run_s, wall, first)
