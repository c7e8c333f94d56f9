"""The board runtime's off-board backends on one deployment, same frames, same run: device-side throughput of
the NumPy simulator ('sim') and of the g++ C simulation of the HLS code ('csim'), the host's share of the
end-to-end time (preprocessing + bit packing, the part that also runs on the board's ARM cores), and a check
that both backends return identical DMA bytes.

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
    ap.add_argument("--out", type=Path, default=Path("runs/runtime_backends"))
    args = ap.parse_args()

    accs = {b: Accelerator(args.deploy, backend=b, batch_size=args.batch_size) for b in ("sim", "csim")}
    images, labels = accs["sim"].deployment.samples()
    reps = -(-args.frames // len(images))
    x, y = np.concatenate([images] * reps)[: args.frames], np.concatenate([labels] * reps)[: args.frames]
    rows, raw = {}, {}
    for name, acc in accs.items():
        acc.run(x[: acc.batch_size])                                  # warm-up (csim binary already built)
        r = acc.run(x)
        raw[name] = acc.raw(x[:256])[1]
        rows[name] = {"frames": r.frames, "device_fps": r.fps, "end_to_end_fps": r.host_fps,
                      "host_share": 1 - r.device_seconds / r.wall_seconds,
                      "accuracy_on_repeated_samples": float((r.labels == y).mean())}
    same = bool(np.array_equal(raw["sim"], raw["csim"]))
    print(f"deployment {args.deploy} ({accs['sim'].deployment.meta.get('graph')}), {args.frames} frames, "
          f"batch {accs['sim'].batch_size}")
    print(f"{'backend':8} {'device fps':>12} {'end-to-end fps':>15} {'host share':>11}")
    for name, r in rows.items():
        print(f"{name:8} {r['device_fps']:>12,.0f} {r['end_to_end_fps']:>15,.0f} {100 * r['host_share']:>10.1f}%")
    print(f"csim / sim device throughput: {rows['csim']['device_fps'] / rows['sim']['device_fps']:.3f}x; "
          f"DMA output bytes identical: {same}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"deploy": str(args.deploy), "rows": rows,
                                                       "identical_bytes": same}, indent=1))


if __name__ == "__main__":
    main()
