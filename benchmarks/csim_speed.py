"""C-simulation speed per frame: this checkout's HLS library against a git revision's, same project, same run.

The demo's model is built (LFC-W1A1 with an 8-bit input, untrained with calibrated BatchNorm, default folding),
compiled to the IR and turned into one HLS project; that project is compiled with g++ twice: once as generated
(this checkout's hls/include/bnnc headers) and once with the headers of --baseline REV copied over them. Both
binaries run the same --frames Fashion-MNIST frames; their outputs are compared with the NumPy simulator
(element by element, must be 0 mismatches) and the time inside bnnc_top per frame is reported, with the ratio.

    .venv/bin/python benchmarks/csim_speed.py --baseline 4496fcd --frames 20
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from _bench_models import fmnist  # noqa: E402
from compiler.codegen import generate_project  # noqa: E402
from compiler.csim import compile_csim, run_csim  # noqa: E402
from compiler.hostops import run_pre  # noqa: E402
from compiler.simulate import simulate_layers  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def build_lfc(work: Path, input_bits: int):
    import torch

    from bnn.calibrate import calibrate_bn
    from bnn.export import export_qonnx
    from bnn.topologies import from_spec, make_spec
    from compiler.build import compile_model

    torch.manual_seed(0)
    model = calibrate_bn(from_spec(make_spec("lfc", 1, 1, input_bits=input_bits)), fmnist("lfc", 256, "train"), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model.eval(), work / "lfc.onnx", (1, 28, 28))
        return compile_model(work / "lfc.onnx", work / "build")


def baseline_headers(rev: str, project: Path) -> None:
    """Overwrite the project's copy of the library (include/bnnc) with revision `rev`'s hls/include/bnnc."""
    names = subprocess.run(["git", "-C", str(REPO), "ls-tree", "--name-only", f"{rev}:hls/include/bnnc"],
                           check=True, capture_output=True, text=True).stdout.split()
    for n in names:
        text = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:hls/include/bnnc/{n}"], check=True,
                              capture_output=True).stdout
        (project / "include" / "bnnc" / n).write_bytes(text)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default="HEAD", help="git revision whose HLS library is the 'before'")
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--input-bits", type=int, default=8)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    os.environ["BNNC_CSIM_CACHE"] = "off"               # time real builds of both libraries
    with tempfile.TemporaryDirectory(prefix="bnnc-csimspeed-") as tmp:
        work = Path(tmp)
        g = build_lfc(work, args.input_bits)
        cur = generate_project(g, work / "current", "Pynq-Z2").path
        if not (cur / "include" / "bnnc").is_dir():
            sys.exit(f"{cur}/include/bnnc missing: the project layout changed")
        base = Path(shutil.copytree(cur, work / "baseline"))
        baseline_headers(args.baseline, base)
        images = fmnist("lfc", args.frames)
        ints = np.asarray(run_pre(g.input, images)).reshape(len(images), *g.layers[0].in_shape).astype(np.int64)
        ref = simulate_layers(g, ints)
        res = {"model": f"lfc-w1a1-in{args.input_bits}", "frames": len(ints), "baseline": args.baseline}
        for label, proj in (("baseline", base), ("current", cur)):
            _, build_s, _ = compile_csim(proj)
            got, top_s = run_csim(proj, ints)
            res[label] = {"gxx_s": build_s, "ms_per_frame": 1000 * top_s / len(ints),
                          "mismatched_elements": int((got.reshape(len(got), -1) != ref.reshape(len(ref), -1)).sum())}
            print(f"{label:9s} library: g++ {build_s:6.1f} s, C-sim {res[label]['ms_per_frame']:9.3f} ms/frame, "
                  f"{res[label]['mismatched_elements']} mismatched elements vs the simulator", flush=True)
    res["speedup"] = res["baseline"]["ms_per_frame"] / res["current"]["ms_per_frame"]
    print(f"LFC-W1A1 (in{args.input_bits}), {len(ints)} frames: current / baseline {args.baseline}: "
          f"{res['speedup']:.1f}x faster per frame")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1) + "\n")
    return 1 if res["baseline"]["mismatched_elements"] or res["current"]["mismatched_elements"] else 0


if __name__ == "__main__":
    sys.exit(main())
