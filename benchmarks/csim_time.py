"""C-simulation cost of the generated HLS against the NumPy simulator, same frames, same run.

CNV-W1A1 (full width, untrained with BatchNorm calibrated on Fashion-MNIST, FINN's CNV folding) is exported,
compiled to the IR, turned into an HLS project and built with g++ (-O2); then --frames real Fashion-MNIST test
images (host pre-processing applied once) go through
  - csim: the g++ binary (packed input file -> bnnc_top -> packed output file; time inside bnnc_top and
          wall time including file I/O and (un)packing),
  - sim:  compiler.sim.simulate.simulate_layers on the same integer frames (best of --repeats),
and the outputs are compared element by element (must be 0 mismatches). One thread for NumPy/BLAS.

    .venv/bin/python benchmarks/csim_time.py --frames 32
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")            # before numpy loads: both backends on one core
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from _bench_models import export_and_compile, fmnist  # noqa: E402
from compiler.backends.hls.project import generate_project  # noqa: E402
from compiler.backends.hls.csim import compile_csim, run_csim  # noqa: E402
from compiler.estimate.folding import apply_folding  # noqa: E402
from compiler.sim.hostops import run_pre  # noqa: E402
from compiler.sim.simulate import simulate_layers  # noqa: E402

# FINN / BNN-PYNQ CNV-W1A1 folding (finn-examples build/bnn-pynq folding config for cnv-w1a1); the first layer's
# simd is its channel count (3 for RGB there, 1 for the grey images here).
CNV_FOLDING = {"Conv_0_mvtu": {"pe": 16},
               **{f"Conv_{i}_swg": {"simd": 32} for i in range(1, 6)},
               "Conv_1_mvtu": {"pe": 32, "simd": 32}, "Conv_2_mvtu": {"pe": 16, "simd": 32},
               "Conv_3_mvtu": {"pe": 16, "simd": 32}, "Conv_4_mvtu": {"pe": 4, "simd": 32},
               "Conv_5_mvtu": {"pe": 1, "simd": 32}, "Gemm_0_mvtu": {"pe": 1, "simd": 4},
               "Gemm_1_mvtu": {"pe": 1, "simd": 8}, "Gemm_2_mvtu": {"pe": 5, "simd": 1}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3, help="simulator timing: best of this many passes")
    ap.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bnnc-csim-bench-") as tmp:
        work = Path(tmp)
        _, g, _ = export_and_compile("cnv", "w1a1", work)
        c0 = g.layer("Conv_0_swg").attrs["channels"]
        apply_folding(g, {**CNV_FOLDING, "Conv_0_swg": {"simd": c0}, "Conv_0_mvtu": {"pe": 16, "simd": c0}})
        t0 = time.perf_counter()
        proj = generate_project(g, work / "hls")
        gen_s = time.perf_counter() - t0
        _, compile_s, _ = compile_csim(proj.path)

        images = fmnist("cnv", args.frames)
        ints = np.asarray(run_pre(g.input, images)).reshape(len(images), *g.layers[0].in_shape).astype(np.int64)
        t0 = time.perf_counter()
        got, top_s = run_csim(proj.path, ints)
        csim_wall = time.perf_counter() - t0
        sim_s, ref = float("inf"), None
        for _ in range(max(1, args.repeats)):
            t0 = time.perf_counter()
            ref = simulate_layers(g, ints)
            sim_s = min(sim_s, time.perf_counter() - t0)
    mismatches = int((got.reshape(len(got), -1) != ref.reshape(len(ref), -1)).sum())
    n = len(ints)
    res = {"model": "cnv-w1a1", "frames": n, "folding": "FINN cnv-w1a1", "codegen_s": gen_s,
           "gxx_compile_s": compile_s, "csim_bnnc_top_s": top_s, "csim_wall_s": csim_wall, "simulator_s": sim_s,
           "csim_ms_per_frame": 1000 * top_s / n, "simulator_ms_per_frame": 1000 * sim_s / n,
           "csim_over_simulator": top_s / sim_s, "csim_wall_over_simulator": csim_wall / sim_s,
           "mismatched_elements": mismatches}
    print(f"CNV-W1A1, {n} Fashion-MNIST frames, FINN folding; outputs compared: {mismatches} mismatched elements")
    print(f"  code generation          {gen_s:8.2f} s")
    print(f"  g++ -O2 compile          {compile_s:8.2f} s")
    print(f"  C-sim (inside bnnc_top)  {top_s:8.3f} s  {res['csim_ms_per_frame']:8.2f} ms/frame")
    print(f"  C-sim (wall, with I/O)   {csim_wall:8.3f} s")
    print(f"  NumPy simulator          {sim_s:8.3f} s  {res['simulator_ms_per_frame']:8.2f} ms/frame (best of {args.repeats})")
    print(f"  C-sim / simulator: {res['csim_over_simulator']:.1f}x run time "
          f"({res['csim_wall_over_simulator']:.1f}x wall); compile + run / simulator: "
          f"{(compile_s + csim_wall) / sim_s:.1f}x")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1) + "\n")
    if mismatches:
        sys.exit("C simulation differs from the simulator")


if __name__ == "__main__":
    main()
