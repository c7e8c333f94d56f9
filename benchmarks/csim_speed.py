"""C-simulation speed per frame on the user's path: this checkout's HLS library against a git revision's, same run.

The demo's model is built (LFC-W1A1 with an 8-bit input, untrained with calibrated BatchNorm) and compiled as
`bnnc demo` / `bnnc compile --board` compile it (compiler.workflow.pipeline.build, folded for --board: the demo's design,
SIMD up to 1024), then C-simulated as `bnnc csim BUILD --inputs` does (compiler.workflow.builds.project_for_build, then
compiler.backends.hls.csim.check_csim: g++ build, one bnnc_top process over the packed frames, comparison with the NumPy
simulator). The baseline is the same build folder's project with the headers of --baseline REV copied over its
include/bnnc. Reported per frame: time inside bnnc_top (what `bnnc csim` prints as ms/frame) and the whole call
with packing, process launch and file I/O; g++ time separately (the C-sim cache is off, both are real builds).
--board none compiles without a board (default folding, PE = SIMD = 1 where not set).

    .venv/bin/python benchmarks/csim_speed.py --baseline 4496fcd --frames 64
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
from compiler.workflow.builds import project_for_build  # noqa: E402
from compiler.backends.hls.csim import check_csim  # noqa: E402
from compiler.sim.hostops import run_pre  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def build_lfc(work: Path, input_bits: int, board: str | None) -> Path:
    """The demo's LFC compiled into work/build as `bnnc demo` compiles it (board folding); returns the folder."""
    import torch

    from bnn.calibrate import calibrate_bn
    from bnn.export import export_qonnx
    from bnn.topologies import from_spec, make_spec
    from compiler.workflow.config import BuildConfig
    from compiler.workflow.pipeline import build

    torch.manual_seed(0)
    model = calibrate_bn(from_spec(make_spec("lfc", 1, 1, input_bits=input_bits)), fmnist("lfc", 256, "train"), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model.eval(), work / "lfc.onnx", (1, 28, 28))
        build(work / "lfc.onnx", BuildConfig(board=board, name="lfc"), work / "build", finn_export=False)
    return work / "build"


def baseline_headers(rev: str, project: Path) -> None:
    """Overwrite the project's copy of the library (include/bnnc) with revision `rev`'s hwlib/include/bnnc."""
    names = subprocess.run(["git", "-C", str(REPO), "ls-tree", "--name-only", f"{rev}:hwlib/include/bnnc"],
                           check=True, capture_output=True, text=True).stdout.split()
    for n in names:
        text = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:hwlib/include/bnnc/{n}"], check=True,
                              capture_output=True).stdout
        (project / "include" / "bnnc" / n).write_bytes(text)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default="HEAD", help="git revision whose HLS library is the 'before'")
    p.add_argument("--frames", type=int, default=64)
    p.add_argument("--batch", type=int, default=64, help="frames per bnnc_top call (bnnc csim --batch)")
    p.add_argument("--input-bits", type=int, default=8)
    p.add_argument("--board", default="pynq-z2", help="board the design is folded for, as the demo ('none': no board)")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    board = None if args.board.lower() == "none" else args.board
    os.environ["BNNC_CSIM_CACHE"] = "off"               # time real builds of both libraries
    with tempfile.TemporaryDirectory(prefix="bnnc-csimspeed-") as tmp:
        work = Path(tmp)
        cur_build = build_lfc(work, args.input_bits, board)
        base_build = Path(shutil.copytree(cur_build, work / "baseline"))
        g, cur = project_for_build(cur_build)
        _, base = project_for_build(base_build)
        if not (base.path / "include" / "bnnc").is_dir():
            sys.exit(f"{base.path}/include/bnnc missing: the project layout changed")
        baseline_headers(args.baseline, base.path)
        images = fmnist("lfc", args.frames)
        ints = np.asarray(run_pre(g.input, images)).reshape(len(images), *g.layers[0].in_shape).astype(np.int64)
        folding = ", ".join(f"{l.folding.get('pe', 1)}x{l.folding.get('simd', 1)}" for l in g.layers
                            if l.kind == "MVTU")
        res = {"model": f"lfc-w1a1-in{args.input_bits}", "board": board, "folding_pe_x_simd": folding,
               "frames": len(ints), "batch": args.batch, "baseline": args.baseline}
        print(f"LFC-W1A1 (in{args.input_bits}) folded for {board or 'no board'}: PE x SIMD per MVTU {folding}",
              flush=True)
        for label, proj in (("baseline", base), ("current", cur)):
            rep = check_csim(g, proj.path, ints, batch=args.batch)
            res[label] = {"gxx_s": rep.compile_seconds, "ms_per_frame": 1000 * rep.run_seconds / rep.frames,
                          "wall_ms_per_frame": 1000 * rep.wall_seconds / rep.frames,
                          "mismatched_elements": rep.mismatched_elements}
            r = res[label]
            print(f"{label:9s} library: g++ {r['gxx_s']:6.1f} s, C-sim {r['ms_per_frame']:9.3f} ms/frame in bnnc_top, "
                  f"{r['wall_ms_per_frame']:9.3f} ms/frame with packing, process and file I/O, "
                  f"{r['mismatched_elements']} mismatched elements vs the simulator", flush=True)
    res["speedup"] = res["baseline"]["ms_per_frame"] / res["current"]["ms_per_frame"]
    res["wall_speedup"] = res["baseline"]["wall_ms_per_frame"] / res["current"]["wall_ms_per_frame"]
    print(f"{len(ints)} frames, batch {args.batch}: current / baseline {args.baseline}: {res['speedup']:.1f}x faster "
          f"per frame in bnnc_top, {res['wall_speedup']:.1f}x with I/O (g++ C-simulation on this machine)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1) + "\n")
    return 1 if res["baseline"]["mismatched_elements"] or res["current"]["mismatched_elements"] else 0


if __name__ == "__main__":
    sys.exit(main())
