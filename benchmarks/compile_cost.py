"""Cost of `bnnc compile --verify`: wall time and peak RSS, beside the front end's phases measured alone.

For TFC-W1A1, LFC-W1A1 with 8-bit input (the demo's model) and CNV-W1A1, untrained with calibrated random
BatchNorm (benchmarks/_bench_models.py), this runs, each in a fresh subprocess so peak RSS is its own:
  1. `bnnc compile MODEL -o DIR --verify` (the user's command): wall time and peak RSS (ru_maxrss of the child);
  2. the phases alone: load+clean (compiler.frontend.load_model), lowering (compiler.frontend.lower) and
     verification (compiler.sim.verify.verify_graph with the CLI's default inputs), each timed, plus that child's
     peak RSS.
The table shows lowering and verification as shares of the compile's wall time, so runs on a busy machine
compare like with like. Writes results.json under --out.

    .venv/bin/python benchmarks/compile_cost.py --out runs/compile_cost
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads
sys.path.insert(0, str(Path(__file__).resolve().parent))

MODELS = [("tfc", "w1a1", None), ("lfc", "w1a1", 8), ("cnv", "w1a1", None)]
NUM_RANDOM = 32   # `bnnc compile --num-random` default

PHASES = r"""
import json, sys, time, resource
t0 = time.perf_counter()
from compiler.frontend.ingest import load_model
from compiler.frontend.lower import lower
from compiler.sim.verify import verify_graph
t1 = time.perf_counter()
m = load_model(sys.argv[1])
t2 = time.perf_counter()
g = lower(m, "bench")
t3 = time.perf_counter()
rep = verify_graph(sys.argv[1], g, num_random=int(sys.argv[2]), cleaned=m)
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "lower_s": t3 - t2, "verify_s": t4 - t3, "ok": rep.ok,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(cmd: list[str]) -> dict:
    """Run `cmd` under a tiny wrapper interpreter so ru_maxrss of RUSAGE_CHILDREN is this command's alone."""
    wrapper = ("import json, resource, subprocess, sys, time\n"
               "t = time.perf_counter(); p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
               "w = time.perf_counter() - t\n"
               "print(json.dumps({'rc': p.returncode, 'wall_s': w, 'out': p.stdout, 'err': p.stderr[-3000:],\n"
               "  'peak_rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n")
    p = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True)
    res = json.loads(p.stdout)
    if res["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({res['rc']}):\n{res['out']}\n{res['err']}")
    return res


def build_model(name: str, bits: str, input_bits: int | None, work: Path) -> Path:
    import torch

    from _bench_models import IN_SHAPE, fmnist
    from bnn.export import export_qonnx
    from bnn.quant import parse_bits
    from bnn.topologies import from_spec, make_spec
    from brevitas_models import calibrate_bn

    wb, ab = parse_bits(bits)
    torch.manual_seed(0)
    net = from_spec(make_spec(name, wb, ab, in_channels=1, input_bits=input_bits))
    model = calibrate_bn(net, fmnist(name, 256, "train"), 1)
    path = work / f"{name}-{bits}-in{input_bits or 'default'}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model.eval(), path, IN_SHAPE[name])
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/compile_cost"))
    ap.add_argument("--models", default=",".join(f"{n}-{b}" + (f"-in{i}" if i else "") for n, b, i in MODELS),
                    help="comma-separated subset, e.g. lfc-w1a1-in8")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    bnnc = str(Path(sys.executable).with_name("bnnc"))
    wanted = set(args.models.split(","))
    rows = []
    for name, bits, ib in MODELS:
        label = f"{name}-{bits}" + (f"-in{ib}" if ib else "")
        if label not in wanted:
            continue
        onnx = build_model(name, bits, ib, args.out)
        comp = run_child([bnnc, "compile", str(onnx), "-o", str(args.out / f"{label}.build"), "--verify",
                          "--num-random", str(NUM_RANDOM)])
        ph = run_child([sys.executable, "-c", PHASES, str(onnx), str(NUM_RANDOM)])
        phases = json.loads(ph["out"].strip().splitlines()[-1])
        row = {"model": label, "compile_s": round(comp["wall_s"], 2), "compile_peak_rss_mb": round(comp["peak_rss_mb"]),
               "load_s": round(phases["load_s"], 2), "lower_s": round(phases["lower_s"], 2),
               "verify_s": round(phases["verify_s"], 2), "phases_peak_rss_mb": round(phases["peak_rss_mb"]),
               "lower_share": round(phases["lower_s"] / comp["wall_s"], 3),
               "verify_share": round(phases["verify_s"] / comp["wall_s"], 3), "verified_ok": phases["ok"]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    cols = list(rows[0]) if rows else []
    print("\n" + " | ".join(cols))
    for r in rows:
        print(" | ".join(str(r[c]) for c in cols))
    (args.out / "results.json").write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
