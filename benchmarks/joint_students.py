"""What joint training of several students costs, measured rather than quoted.

Learn2Compress reports ~+10% training time for 3 students trained jointly vs one. Here, in one run and with the
same batches: (a) teacher + each student alone, (b) teacher + the 3 students jointly (teacher forward once per
batch), (c) the 3 students trained separately = the sum of (a), each recomputing the teacher. Reported as ratios;
the teacher's share of the time decides how much sharing it can save. Accuracy is not the point (timing only,
weights as initialised).

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/joint_students.py --threads 1
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from bnn.compress.joint import DistillConfig, Student, train_students  # noqa: E402
from bnn.compress.teacher import freeze  # noqa: E402
from bnn.datasets import DatasetError, load_dataset, synthetic  # noqa: E402
from bnn.loader import ImageDataset  # noqa: E402
from bnn.quant import parse_bits  # noqa: E402
from bnn.topologies import from_spec, make_spec  # noqa: E402
from bnn.train import TrainConfig, seed_everything  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", default="lfc", help="float teacher topology")
    ap.add_argument("--student", default="sfc")
    ap.add_argument("--bits", default="w1a1")
    ap.add_argument("--widths", default="0.25,0.5,1.0")
    ap.add_argument("--train-size", type=int, default=10000, help="Fashion-MNIST images per epoch (synthetic if absent)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2, help="repeat every measurement; the minimum is reported")
    ap.add_argument("--distill", default="response", choices=("response", "feature", "both"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="runs/compression/joint_students.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    try:
        data = load_dataset("fashion-mnist", split="train").subset(args.train_size)
    except DatasetError:
        data = synthetic(args.train_size)
    train_set = ImageDataset(data)
    wb, ab = parse_bits(args.bits)
    widths = [float(w) for w in args.widths.split(",")]
    seed_everything(0)
    teacher = freeze(from_spec(make_spec(args.teacher, None, None)))
    cfg = TrainConfig(epochs=args.epochs, batch_size=256, progress=False)
    distill = DistillConfig(args.distill)

    def students(ws):
        out = []
        for w in ws:
            seed_everything(0)
            spec = make_spec(args.student, wb, ab, width=w, input_bits=8)
            out.append(Student(f"{args.student}-x{w:g}", from_spec(spec)))
        return out

    def timed(ws) -> dict:
        best = None
        for _ in range(args.repeats):
            r = train_students(students(ws), train_set, None, cfg, distill, teacher)
            if best is None or r.seconds < best["seconds"]:
                best = {"seconds": r.seconds, "teacher_seconds": r.teacher_seconds, "teacher_calls": r.teacher_calls}
        return best

    single = {w: timed([w]) for w in widths}
    joint = timed(widths)
    separate = sum(s["seconds"] for s in single.values())
    largest = single[max(widths)]["seconds"]
    res = {
        "args": vars(args), "torch": torch.__version__, "threads": torch.get_num_threads(),
        "single": {f"x{w:g}": s for w, s in single.items()}, "joint": joint,
        "separate_seconds": separate,
        "ratio_joint_vs_largest_single": joint["seconds"] / largest,
        "ratio_joint_vs_smallest_single": joint["seconds"] / single[min(widths)]["seconds"],
        "ratio_separate_vs_joint": separate / joint["seconds"],
        "teacher_share_of_joint": joint["teacher_seconds"] / joint["seconds"],
        "teacher_share_of_largest_single": single[max(widths)]["teacher_seconds"] / largest,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    print(f"teacher float {args.teacher}, students {args.student} {args.bits} x{widths}, {len(train_set)} images x "
          f"{args.epochs} epoch(s), {torch.get_num_threads()} thread(s), best of {args.repeats}")
    for w, s in single.items():
        print(f"  teacher + {args.student}-x{w:g} alone: {s['seconds']:.1f}s (teacher {s['teacher_seconds']:.1f}s)")
    print(f"  teacher + {len(widths)} students jointly: {joint['seconds']:.1f}s (teacher {joint['teacher_seconds']:.1f}s, "
          f"{joint['teacher_calls']} calls)")
    print(f"  {len(widths)} students separately (teacher recomputed): {separate:.1f}s")
    print(f"  joint / largest single = {res['ratio_joint_vs_largest_single']:.2f}; joint / smallest single = "
          f"{res['ratio_joint_vs_smallest_single']:.2f}; separate / joint = {res['ratio_separate_vs_joint']:.2f}; "
          f"teacher share of the joint run = {res['teacher_share_of_joint']:.0%}")


if __name__ == "__main__":
    main()
