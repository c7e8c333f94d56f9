"""Throughput of the bit-accurate IR simulator against QONNX execution and onnxruntime, same inputs, same run.

For each model (default LFC-w1a1, CNV-w1a1 and the low-bit LFC-w2a2; untrained, calibrated random BatchNorm):
  - sim:   compiler.sim.simulate.Simulator (host pre-ops, all layers, host post-ops), float images in, logits out,
           prepared once per model as the ORT session and the re-batched QONNX model are;
  - qonnx: qonnx.core.onnx_exec.execute_onnx on the exported QONNX model (the reference the compiler matches);
  - ort:   onnxruntime on the same QONNX model rewritten into standard ONNX (benchmarks/_ort_model.py: weight
           quantizers folded, Quant -> QuantizeLinear/Clip/DequantizeLinear via qonnx QuantToQCDQ, BipolarQuant ->
           Where(x >= 0, 1, -1) * scale). Brevitas's export_onnx_qcdq cannot export binary quantizers.
All three get the same Fashion-MNIST test images in the same batches, best of --repeats round-robin timed passes
after a warm-up. Outputs are compared: sim and ort against qonnx, zero tolerance.

Each thread count of --threads (default 1 and 2) runs in its own subprocess with OMP/OpenBLAS/MKL and the
simulator (BNNC_SIM_THREADS) pinned to it, and ORT's intra-op threads set to the same number: the simulator and
its peer always get the same cores. --baseline REV adds, in the same run, subprocesses whose whole library
(bnn, compiler, ...) is that git revision's (git archive on PYTHONPATH), for before/after ratios.

    .venv/bin/python benchmarks/simulator_throughput.py --baseline main --out runs/sim_throughput
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: the library's top-level packages, any revision (--baseline archives those present at REV)
LIBRARY_PACKAGES = ("bnn", "bnnc", "boards", "compiler", "diagnostics", "scaleout", "hwlib", "hls")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BNNC_SIM_THREADS")
for _v in THREAD_VARS:
    os.environ.setdefault(_v, "1")            # before numpy loads (the parent sets them for each child)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from _bench_models import export_and_compile, fmnist  # noqa: E402
from _ort_model import ort_session, qonnx_to_ort  # noqa: E402
from compiler.sim.simulate import Simulator  # noqa: E402


def qonnx_runner(path: Path, batch: int):
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.change_batchsize import ChangeBatchSize
    from qonnx.transformation.infer_shapes import InferShapes

    m = ModelWrapper(str(path)).transform(ChangeBatchSize(batch)).transform(InferShapes())
    iname, oname = m.graph.input[0].name, m.graph.output[0].name
    return lambda x: execute_onnx(m, {iname: x})[oname]


def timed(fns: dict, x: np.ndarray, batch: int, repeats: int) -> tuple[dict, dict]:
    """Best wall time of each backend over `repeats` passes through x in batches, and its outputs.

    One warm-up batch each, then the passes round-robin (sim, qonnx, ort, sim, ...) so load from other
    processes on a shared machine hits every backend alike.
    """
    for fn in fns.values():
        fn(x[:batch])
    best, outs = {k: float("inf") for k in fns}, {}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            outs[k] = np.concatenate([fn(x[s : s + batch]) for s in range(0, len(x), batch)])
            best[k] = min(best[k], time.perf_counter() - t0)
    return best, outs


def frames_differ(a: np.ndarray, b: np.ndarray) -> int:
    return int((np.asarray(a).reshape(len(b), -1) != np.asarray(b).reshape(len(b), -1)).any(1).sum())


def run_one(name: str, bits: str, n: int, batch: int, repeats: int, work: Path, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    path, graph, _ = export_and_compile(name, bits, work)
    ort_path = qonnx_to_ort(str(path), str(work / f"{name}-{bits}.ort.onnx"))
    sess = ort_session(ort_path, threads=threads)
    iname = sess.get_inputs()[0].name
    x = fmnist(name, n)
    sim = Simulator(graph)              # prepared once, like the ORT session and the re-batched QONNX model
    t, y = timed({"sim": sim, "qonnx": qonnx_runner(path, batch), "ort": lambda b: sess.run(None, {iname: b})[0]},
                 x, batch, repeats)
    t_sim, t_q, t_ort, y_sim, y_q, y_ort = t["sim"], t["qonnx"], t["ort"], y["sim"], y["qonnx"], y["ort"]
    return {"model": name.upper(), "bits": bits, "images": n, "batch": batch, "threads": threads,
            "sim_img_s": n / t_sim, "qonnx_img_s": n / t_q, "ort_img_s": n / t_ort,
            "sim_over_qonnx": t_q / t_sim, "sim_over_ort": t_ort / t_sim,
            "sim_vs_qonnx_mismatches": frames_differ(y_sim, y_q), "ort_vs_qonnx_mismatches": frames_differ(y_ort, y_q)}


def markdown(rows: list[dict]) -> str:
    head = ["library", "threads", "model", "bits", "images (batch)", "sim img/s", "qonnx img/s", "ort img/s", "sim/qonnx", "sim/ort",
            "sim != qonnx", "ort != qonnx"]
    lines = ["# Simulator throughput vs QONNX execution and onnxruntime", "",
             f"Command: `.venv/bin/python benchmarks/simulator_throughput.py {' '.join(sys.argv[1:])}`".rstrip(), "",
             "Same thread count for every backend (OMP/OpenBLAS/simulator/ORT pinned per subprocess), best of the round-robin timed passes, same "
             f"Fashion-MNIST test images and batches, on {os.cpu_count()} shared cores (other jobs may run: "
             "absolute numbers are noisy, ratios less so). The simulator and the QONNX model are prepared once "
             "per model, like the ORT session. Ratios > 1 mean the simulator is faster. ORT runs the QONNX model rewritten to "
             "standard ONNX (folded weights, QCDQ activations, BipolarQuant as Where). The last two columns count "
             "frames whose output differs from QONNX execution (zero tolerance).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append(f"| {r['library']} | {r['threads']} | {r['model']} | {r['bits']} | {r['images']} ({r['batch']}) | {r['sim_img_s']:.0f} | "
                     f"{r['qonnx_img_s']:.0f} | {r['ort_img_s']:.0f} | {r['sim_over_qonnx']:.2f}x | "
                     f"{r['sim_over_ort']:.2f}x | {r['sim_vs_qonnx_mismatches']} | {r['ort_vs_qonnx_mismatches']} |")
    return "\n".join(lines) + "\n"


def child(args) -> int:
    """One thread count, one library: every model, rows as JSON on the last stdout line."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bnnc-simtp-") as work:
        for spec in args.models:
            name, bits = spec.split(":")
            n = args.cnv_images if name == "cnv" else args.mlp_images
            rows.append(run_one(name, bits, n, args.batch, args.repeats, Path(work), args.child_threads))
    print(json.dumps(rows))
    return 0


def spawn(args, threads: int, library: str, pythonpath: str | None) -> list[dict]:
    env = dict(os.environ, **{v: str(threads) for v in THREAD_VARS})
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    cmd = [sys.executable, __file__, "--child-threads", str(threads), "--models", *args.models,
           "--mlp-images", str(args.mlp_images), "--cnv-images", str(args.cnv_images), "--batch", str(args.batch),
           "--repeats", str(args.repeats)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"{library} ({threads} threads) failed:\n{out.stderr[-3000:]}")
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    for r in rows:
        r["library"] = library
        print(f"[{library}, {threads} thread(s)] {r['model']}-{r['bits']}: sim {r['sim_img_s']:.0f} img/s, "
              f"qonnx {r['qonnx_img_s']:.0f}, ort {r['ort_img_s']:.0f}; sim/qonnx {r['sim_over_qonnx']:.2f}x, "
              f"sim/ort {r['sim_over_ort']:.2f}x; mismatches sim {r['sim_vs_qonnx_mismatches']}, "
              f"ort {r['ort_vs_qonnx_mismatches']}", flush=True)
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["lfc:w1a1", "cnv:w1a1", "lfc:w2a2"], help="name:bits")
    p.add_argument("--mlp-images", type=int, default=2000)
    p.add_argument("--cnv-images", type=int, default=500)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, default=Path("runs/sim_throughput"))
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts, one subprocess each")
    p.add_argument("--baseline", metavar="REV", help="also run the library of this git revision (before/after)")
    p.add_argument("--child-threads", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child_threads:
        return child(args)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bnnc-simtp-base-") as base:
        if args.baseline:
            repo = Path(__file__).resolve().parents[1]
            rev = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", args.baseline], check=True,
                                 capture_output=True, text=True).stdout.strip()
            # every top-level package of that revision (the set changed over time: hls/ became hwlib/, the leaf
            # packages diagnostics/ and scaleout/ were split off), so none falls through to the installed checkout
            tops = subprocess.run(["git", "-C", str(repo), "ls-tree", "-d", "--name-only", rev], check=True,
                                  capture_output=True, text=True).stdout.split()
            pkgs = [d for d in tops if d in LIBRARY_PACKAGES]
            tar = subprocess.run(["git", "-C", str(repo), "archive", rev, *pkgs],
                                 check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", base], input=tar, check=True)
        for threads in args.threads:                      # interleaved: load hits both libraries alike
            if args.baseline:
                rows += spawn(args, threads, f"baseline {rev}", base)
            rows += spawn(args, threads, "current", None)
    args.out.mkdir(parents=True, exist_ok=True)
    for fname, text in (("results.json", json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                     "rows": rows}, indent=1)), ("results.md", markdown(rows))):
        tmp = args.out / f".{fname}.tmp"
        tmp.write_text(text)
        os.replace(tmp, args.out / fname)
    print(f"wrote {args.out}/results.md")
    return 1 if any(r["sim_vs_qonnx_mismatches"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
