"""g++ CPU time of a C-simulation build with and without the precompiled HLS library header
(compiler/backends/hls/pch.py), in one run, and whether the two binaries are byte-identical.

A small CNN (tests/compiler/brevitas_models.py cnn: W2A2, two 3x3 convolutions, a pool, an FC; seed 3) and the
CNV-W1A1 topology (bnn.topologies, untrained) are compiled and their HLS projects generated; then for each:
1. without: the C-sim cache off (BNNC_CSIM_CACHE=off), so no precompiled header;
2. making the header: an empty cache folder, so the build first makes bnnc/bnnc.hpp.gch (once per library
   version, compiler and flags);
3. with: another build of the same project with the binary removed from the cache, the header kept.
Reported: the CPU seconds of g++ (children of this process) in each, and cmp of binaries 1 and 3.

    .venv/bin/python benchmarks/csim_pch.py
"""
from __future__ import annotations

import filecmp
import os
import resource
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "compiler"))


def _children_cpu() -> float:
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return c.ru_utime + c.ru_stime


def _projects(work: Path) -> dict[str, Path]:
    import torch

    from bnn.export import export_qonnx
    from bnn.topologies import build
    from brevitas_models import cnn, export
    from compiler.backends.hls.project import generate_project
    from compiler.workflow.compile import compile_model

    out = {}
    small = export(cnn(2, 2, chans=(4, 3), in_ch=2, size=8, pad=1, pool=True, seed=3), work / "small.onnx", (2, 8, 8))
    torch.manual_seed(0)
    cnv = export_qonnx(build("cnv", 1, 1, in_channels=3), work / "cnv.onnx", (3, 32, 32), dynamo=False)
    for name, onnx in (("small CNN (W2A2)", small), ("CNV-W1A1", cnv)):
        g = compile_model(onnx, work / f"{Path(onnx).stem}-build")
        out[name] = generate_project(g, work / f"{Path(onnx).stem}-hls").path
    return out


def _build(project: Path, cache: str) -> tuple[float, Path]:
    from compiler.backends.hls.csim import compile_csim

    shutil.rmtree(project / "csim", ignore_errors=True)
    os.environ["BNNC_CSIM_CACHE"] = cache
    t = _children_cpu()
    exe, _, reused = compile_csim(project)
    assert not reused, "expected a build"
    return _children_cpu() - t, exe


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bnnc-pch-bench-") as tmp:
        work = Path(tmp)
        print(f"{'design':<20} {'without':>9} {'making':>9} {'with':>9}  binaries (CPU-s of g++)")
        for name, project in _projects(work).items():
            cache = work / f"cache-{project.name}"
            plain, exe = _build(project, "off")
            shutil.copy(exe, work / "plain")
            first, _ = _build(project, str(cache))
            for f in cache.iterdir():           # drop the binary, keep the header (in <cache>.pch)
                f.unlink()
            again, exe = _build(project, str(cache))
            same = filecmp.cmp(work / "plain", exe, shallow=False)
            print(f"{name:<20} {plain:9.2f} {first:9.2f} {again:9.2f}  {'identical' if same else 'DIFFER'}")


if __name__ == "__main__":
    main()
