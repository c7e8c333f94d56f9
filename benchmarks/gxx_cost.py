"""Calibration of compiler.backends.hls.gxx_cost: estimated vs measured g++ time and peak memory for the C simulation of
unfolded TFC/SFC/LFC-W1A1 (random weights), printed as measured/estimated ratios.

usage: OMP_NUM_THREADS=1 python benchmarks/gxx_cost.py [tfc sfc lfc]   (lfc: ~3 min, ~1.6 GB)
"""
from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from bnn.export import export_qonnx
from bnn.topologies import build
from compiler.workflow.compile import compile_model
from compiler.backends.hls.project import generate_project
from compiler.backends.hls.csim import CXXFLAGS, ap_types_dir
from compiler.backends.hls.gxx_cost import estimate_gxx


def main(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in names:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                onnx = export_qonnx(build(name, 1, 1).eval(), root / f"{name}.onnx", (1, 28, 28))
            p = generate_project(compile_model(onnx, root / name), root / name / "hls", "Pynq-Z2").path
            est = estimate_gxx(p)
            t0 = time.perf_counter()
            subprocess.run(["g++", *CXXFLAGS, f"-I{ap_types_dir()}", f"-I{p / 'include'}", f"-I{p / 'src'}",
                            str(p / "src" / "top.cpp"), str(p / "tb" / "tb.cpp"), "-o", str(p / "x")], check=True)
            seconds = time.perf_counter() - t0
            rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024   # max over children so far
            print(f"{name}: {est.source_mb:.1f} MB sources; g++ {seconds:.1f} s (estimate {est.seconds:.1f} s, "
                  f"ratio {seconds / est.seconds:.2f}), peak {rss_mb:.0f} MB (estimate {est.memory_mb:.0f} MB, "
                  f"ratio {rss_mb / est.memory_mb:.2f})", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["tfc", "sfc"])
