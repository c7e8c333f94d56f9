"""Bit-exactness of the compiled IR (compiler.sim.simulate) against QONNX execution, for every standard topology.

TFC, SFC, LFC and CNV at full width, each as w1a1, w1a2 and w2a2, untrained but with calibrated random
BatchNorm statistics (benchmarks/_bench_models.py) so every layer's activations are a real mix of levels.
Each model is exported to QONNX, compiled, and compared with compiler.sim.verify.verify_graph (zero tolerance, final
outputs and every intermediate layer) on real Fashion-MNIST test images (CNV: padded to 32x32) plus random
inputs (uniform, Gaussian and structured frames). Prints a table; writes results.md and results.json.

    .venv/bin/python benchmarks/exactness.py --out runs/exactness
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads

import numpy as np  # noqa: E402

from _bench_models import IN_SHAPE, export_and_compile, fmnist, varying_channels  # noqa: E402
from compiler.sim.simulate import simulate  # noqa: E402
from compiler.sim.verify import random_inputs, verify_graph  # noqa: E402

COLUMNS = ["model", "bits", "inputs", "real", "random", "output_mismatches", "layer_mismatches", "layers_checked",
           "max_abs_diff", "varying_channels", "classes_predicted", "seconds"]


def run_one(name: str, bits: str, n: int, real_frac: float, seed: int, work: Path) -> dict:
    t0 = time.perf_counter()
    path, graph, _ = export_and_compile(name, bits, work, seed)
    n_real = int(round(n * real_frac))
    n_rand = n - n_real - 5                       # random_inputs appends 5 structured frames
    real = fmnist(name, n_real)
    rep = verify_graph(path, graph, inputs=real, num_random=n_rand, seed=seed, batch=100)
    x = np.concatenate([real, random_inputs(IN_SHAPE[name], n_rand, seed)])
    out, layers = simulate(graph, x, return_all=True)
    return {"model": name.upper(), "bits": bits, "inputs": rep.n_inputs, "real": n_real, "random": rep.n_inputs - n_real,
            "output_mismatches": rep.output_mismatches,
            "layer_mismatches": int(sum(rep.layer_mismatches.values())), "layers_checked": len(rep.checked_layers),
            "max_abs_diff": rep.max_abs_diff, "varying_channels": round(varying_channels(graph, layers), 4),
            "classes_predicted": int(len(np.unique(np.asarray(out).reshape(len(x), -1).argmax(1)))),
            "seconds": round(time.perf_counter() - t0, 1), "ok": rep.ok, "notes": rep.notes,
            "first_mismatching_layer": rep.first_layer}


def markdown(rows: list[dict], args) -> str:
    head = ["model", "bits", "inputs (real+random)", "output mismatches", "layer mismatches (frames, summed)",
            "max abs diff", "varying channels", "classes predicted", "s"]
    lines = ["# IR simulator vs QONNX execution (bit-exactness)", "",
             f"Command: `.venv/bin/python benchmarks/exactness.py {' '.join(sys.argv[1:])}`".rstrip(), "",
             "Untrained full-width models with calibrated random BatchNorm; real inputs are Fashion-MNIST test "
             "images (CNV: zero-padded to 32x32), random inputs are uniform [0,1), N(0, 1.5) and 5 structured "
             "frames. 'varying channels' = share of thresholded channels whose output is not constant over the "
             "inputs (shows activations are non-trivial). Zero tolerance.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append(f"| {r['model']} | {r['bits']} | {r['inputs']} ({r['real']}+{r['random']}) | "
                     f"{r['output_mismatches']} | {r['layer_mismatches']} over {r['layers_checked']} layers | "
                     f"{r['max_abs_diff']:.3g} | {100 * r['varying_channels']:.1f}% | {r['classes_predicted']} | "
                     f"{r['seconds']} |")
    total = sum(r["output_mismatches"] for r in rows)
    lines += ["", f"Total: {sum(r['inputs'] for r in rows)} inputs over {len(rows)} models, {total} mismatching "
              "outputs."]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["tfc", "sfc", "lfc", "cnv"])
    p.add_argument("--bits", nargs="+", default=["w1a1", "w1a2", "w2a2"])
    p.add_argument("--mlp-inputs", type=int, default=1000)
    p.add_argument("--cnv-inputs", type=int, default=1000)
    p.add_argument("--real-frac", type=float, default=0.6, help="share of real Fashion-MNIST images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/exactness"))
    args = p.parse_args()

    rows = []
    print(f"{'model':6} {'bits':5} {'inputs':>6} {'mismatch':>8} {'layer_mm':>8} {'max|diff|':>9} {'vary%':>6} "
          f"{'cls':>3} {'s':>6}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bnnc-exactness-") as work:
        for name in args.models:
            for bits in args.bits:
                n = args.cnv_inputs if name == "cnv" else args.mlp_inputs
                r = run_one(name, bits, n, args.real_frac, args.seed, Path(work))
                rows.append(r)
                print(f"{r['model']:6} {r['bits']:5} {r['inputs']:6d} {r['output_mismatches']:8d} "
                      f"{r['layer_mismatches']:8d} {r['max_abs_diff']:9.3g} {100 * r['varying_channels']:6.1f} "
                      f"{r['classes_predicted']:3d} {r['seconds']:6.1f}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    for fname, text in (("results.json", json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                     "rows": rows}, indent=1)),
                        ("results.md", markdown(rows, args))):
        tmp = args.out / f".{fname}.tmp"
        tmp.write_text(text)
        os.replace(tmp, args.out / fname)
    bad = [f"{r['model']}-{r['bits']}" for r in rows if not r["ok"]]
    print(f"wrote {args.out}/results.md; " + (f"NOT EXACT: {bad}" if bad else "all exact"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
