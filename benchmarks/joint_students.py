"""Weight-shared students vs students trained alone, timing and accuracy measured in one run.

The issue's goals (Learn2Compress: a family for ~10 % more than one model): a family of 4 nested-width students
trained together costs <= 1.3x the training time of the largest student alone, and every student is within 0.3
points of (or better than) the same student trained alone for the same epochs. Measured here with the same data,
batches, epochs, optimizer, seed and BatchNorm recalibration for both:

- alone: each student of `--widths` trained by itself (bnn.compress.joint.train_students, one student);
- family: the same students as one weight-shared supernet (bnn.compress.supernet), in each `--modes`: 'split'
  (every student its share of each batch, one pass), 'anchor' (every sample through the widest and one other
  student, 2 passes), 'replicate' (every sample through every student, inplace distillation from the widest).
Times are the training loops only (no evaluation), as wall time and as process CPU time (one torch thread: the CPU
time does not count other jobs on a shared machine); accuracies are on the test set after each student's
BatchNorm statistics are re-estimated on 16 training batches. Labels only (--distill none) unless asked.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/joint_students.py --threads 1 --epochs 5 \
        --modes "split;anchor;replicate" --out runs/js_full5c.json    (docs/compression.md)
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from bnn.compress.joint import DistillConfig, Student, train_students, train_supernet  # noqa: E402
from bnn.compress.supernet import Supernet  # noqa: E402
from bnn.compress.teacher import freeze  # noqa: E402
from bnn.datasets import DatasetError, load_dataset, synthetic  # noqa: E402
from bnn.evaluate import evaluate  # noqa: E402
from bnn.loader import ImageDataset  # noqa: E402
from bnn.quant import parse_bits  # noqa: E402
from bnn.topologies import from_spec, hidden_widths, make_spec  # noqa: E402
from bnn.train import TrainConfig, recalibrate_batchnorm, seed_everything, train  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--student", default="sfc")
    ap.add_argument("--bits", default="w1a1")
    ap.add_argument("--input-bits", type=int, default=8)
    ap.add_argument("--widths", default="0.25,0.5,0.75,1.0")
    ap.add_argument("--train-size", type=int, default=None, help="first N Fashion-MNIST training images (all: None)")
    ap.add_argument("--test-size", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--modes", default="split;anchor;replicate",
                    help="';'-separated family modes; split:W1,W2,.. gives the students unequal shares of a batch")
    ap.add_argument("--distill", default="none", choices=("none", "response"))
    ap.add_argument("--teacher-epochs", type=int, default=2, help="with --distill response: float LFC teacher")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="runs/compression/joint_students.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    try:
        tr = load_dataset("fashion-mnist", split="train").subset(args.train_size)
        te = load_dataset("fashion-mnist", split="test").subset(args.test_size)
    except DatasetError:
        tr, te = synthetic(args.train_size or 4096), synthetic(args.test_size or 1024, split="test")
    train_set, test_set = ImageDataset(tr), ImageDataset(te)
    wb, ab = parse_bits(args.bits)
    widths = [float(w) for w in args.widths.split(",")]
    specs = [make_spec(args.student, wb, ab, width=w, input_bits=args.input_bits) for w in widths]
    names = [f"{args.student}-x{w:g}" for w in widths]
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, progress=False)
    distill, teacher = DistillConfig(args.distill), None
    if args.distill != "none":
        seed_everything(args.seed)
        t_spec = make_spec("lfc", None, None)
        teacher = from_spec(t_spec)
        train(teacher, train_set, None, TrainConfig(epochs=args.teacher_epochs, seed=args.seed, progress=False))
        teacher = freeze(teacher)

    def finish(model) -> float:
        recalibrate_batchnorm(model, train_set, cfg.bn_recalibration_batches, cfg.batch_size)
        return evaluate(model, test_set).accuracy

    alone = {}
    for name, spec in zip(names, specs):
        seed_everything(args.seed)
        r = train_students([Student(name, from_spec(spec))], train_set, None, cfg, distill, teacher)
        alone[name] = {"seconds": r.seconds, "cpu_seconds": r.cpu_seconds, "accuracy": finish(r.students[0].model),
                       "widths": hidden_widths(spec)}
        print(f"alone {name}: {r.seconds:.1f}s ({r.cpu_seconds:.1f}s CPU), accuracy {alone[name]['accuracy']:.4f}",
              flush=True)
    big = names[widths.index(max(widths))]
    largest, largest_cpu = alone[big]["seconds"], alone[big]["cpu_seconds"]
    family = {}
    for mode in args.modes.split(";"):
        kind, _, weights = mode.partition(":")
        seed_everything(args.seed)
        net = Supernet(specs)
        r = train_supernet(net, train_set, test_set, cfg, distill, teacher, mode=kind, names=names,
                           eval_every_epoch=False,
                           split_weights=[float(w) for w in weights.split(",")] if weights else None)
        family[mode] = {"seconds": r.seconds, "ratio_vs_largest_alone": r.seconds / largest,
                        "cpu_seconds": r.cpu_seconds, "cpu_ratio_vs_largest_alone": r.cpu_seconds / largest_cpu,
                        "students": {s.name: {"accuracy": s.test_acc,
                                              "delta_points": 100 * (s.test_acc - alone[s.name]["accuracy"])}
                                     for s in r.students}}
        print(f"family ({mode}): {r.seconds:.1f}s = {r.seconds / largest:.2f}x the largest alone (CPU time "
              f"{r.cpu_seconds / largest_cpu:.2f}x); " + ", ".join(
            f"{n} {v['accuracy']:.4f} ({v['delta_points']:+.2f})" for n, v in family[mode]["students"].items()),
            flush=True)
    res = {"args": vars(args), "torch": torch.__version__, "threads": torch.get_num_threads(),
           "train_size": len(train_set), "test_size": len(test_set), "alone": alone,
           "sum_alone_seconds": sum(a["seconds"] for a in alone.values()), "largest_alone_seconds": largest,
           "largest_alone_cpu_seconds": largest_cpu, "sum_alone_cpu_seconds": sum(a["cpu_seconds"] for a in alone.values()),
           "family": family,
           "goals": {"time_ratio_max": 1.3, "accuracy_delta_min_points": -0.3}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    print(f"\n{args.student} {args.bits} (input {args.input_bits}-bit) x{widths}, {len(train_set)} train / "
          f"{len(test_set)} test images, {args.epochs} epochs, batch {args.batch_size}, {torch.get_num_threads()} "
          f"thread(s), distill {args.distill}")
    head = "| student | alone acc | " + " | ".join(f"{m} acc (delta)" for m in family) + " |"
    print(head)
    print("|" + "---|" * (2 + len(family)))
    for n in names:
        print(f"| {n} | {alone[n]['accuracy']:.4f} | " + " | ".join(
            f"{family[m]['students'][n]['accuracy']:.4f} ({family[m]['students'][n]['delta_points']:+.2f})"
            for m in family) + " |")
    print(f"| training wall time | largest alone {largest:.1f}s, all alone {res['sum_alone_seconds']:.1f}s | "
          + " | ".join(f"{family[m]['seconds']:.1f}s = {family[m]['ratio_vs_largest_alone']:.2f}x" for m in family)
          + " |")
    print(f"| training CPU time | largest alone {largest_cpu:.1f}s, all alone {res['sum_alone_cpu_seconds']:.1f}s | "
          + " | ".join(f"{family[m]['cpu_seconds']:.1f}s = {family[m]['cpu_ratio_vs_largest_alone']:.2f}x"
                       for m in family) + " |")


if __name__ == "__main__":
    main()
