"""The board runtime's off-board backends on one deployment, same frames, same run: device-side throughput of
the NumPy simulator ('sim'), of the g++ C simulation of the HLS code ('csim') and of the Verilator simulation of
the generated RTL ('rtlsim'), the host's share of the end-to-end time (preprocessing + bit packing, the part that
also runs on the board's ARM cores), and a check that all backends return identical DMA bytes.

'device fps' is host wall-clock speed of the simulation for sim and csim; for rtlsim it is the accelerator's
throughput measured in simulated clock cycles at the deployment's clock (cycle-accurate, not host speed), and
rtlsim's host simulation speed is its end-to-end column.

    make demo    # writes build/demo/lfc-w1a1-in8/deploy
    .venv/bin/python benchmarks/runtime_backends.py --deploy build/demo/lfc-w1a1-in8/deploy --frames 1024
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

from boards.runtime import Accelerator  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deploy", type=Path, default=Path("build/demo/lfc-w1a1-in8/deploy"))
    ap.add_argument("--frames", type=int, default=1024)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--backends", default="sim,csim,rtlsim", help="comma-separated; the first is the reference")
    ap.add_argument("--out", type=Path, default=Path("runs/runtime_backends"))
    args = ap.parse_args()

    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    accs = {b: Accelerator(args.deploy, backend=b, batch_size=args.batch_size) for b in names}
    ref = names[0]
    images, labels = accs[ref].deployment.samples()
    reps = -(-args.frames // len(images))
    x, y = np.concatenate([images] * reps)[: args.frames], np.concatenate([labels] * reps)[: args.frames]
    rows, raw = {}, {}
    for name, acc in accs.items():
        acc.run(x[: acc.batch_size])                       # warm-up (csim / rtlsim binaries already built)
        r = acc.run(x)
        raw[name] = acc.raw(x[:256])[1]
        rows[name] = {"frames": r.frames, "device_fps": r.fps, "end_to_end_fps": r.host_fps,
                      "host_share": 1 - r.device_seconds / r.wall_seconds,
                      "accuracy_on_repeated_samples": float((r.labels == y).mean())}
    same = all(bool(np.array_equal(raw[ref], raw[b])) for b in names)
    print(f"deployment {args.deploy} ({accs[ref].deployment.meta.get('graph')}), {args.frames} frames, "
          f"batch {accs[ref].batch_size}")
    print(f"{'backend':8} {'device fps':>12} {'end-to-end fps':>15} {'host share':>11}")
    for name, r in rows.items():
        print(f"{name:8} {r['device_fps']:>12,.0f} {r['end_to_end_fps']:>15,.0f} {100 * r['host_share']:>10.1f}%")
    for b in names[1:]:
        print(f"{b} / {ref} end-to-end throughput: {rows[b]['end_to_end_fps'] / rows[ref]['end_to_end_fps']:.4f}x")
    print(f"DMA output bytes identical across {', '.join(names)}: {same}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"deploy": str(args.deploy), "rows": rows,
                                                       "backends": names,
                                                       "identical_bytes": same}, indent=1))


if __name__ == "__main__":
    main()
