"""Does a stronger float teacher make distillation pay? A binarized student trained alone against the same student
distilled from a float CNN teacher, same seed, same epochs, same recipe, on full Fashion-MNIST.

The teacher is a float cnv28 (`bnnc train --bits float`), far more accurate than the float MLPs the compression
benchmark distils from (docs/compression.md). Each student row is one `bnnc compress` run with `--joint separate`
and one width, `--distill none` (the baseline) or `--distill response`: the same command a user runs, so its
family.json (accuracy on the whole test set, the verified build) is the row. Everything is resumable: the teacher's
run and each compress folder are reused when finished (rerun the same command).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/distill_teacher.py --seeds 0 --out runs/distill_teacher
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

BNNC = str(Path(sys.executable).with_name("bnnc"))     # the console script beside this interpreter


def run(cmd: list[str]) -> None:
    print("+ bnnc " + " ".join(cmd), flush=True)
    subprocess.run([BNNC, *cmd], check=True)


def teacher(args) -> tuple[Path, float]:
    out = args.out / "teacher"
    metrics = out / "metrics.json"
    done = json.loads(metrics.read_text()) if metrics.is_file() else None
    if done is None or len(done["epochs"]) < args.teacher_epochs:
        run(["train", "--model", args.teacher, "--bits", "float", "--width", str(args.teacher_width), "--epochs",
             str(args.teacher_epochs), "--lr", "2e-3", "--threads", str(args.threads), "--seed", "0", "--no-progress",
             "--out", str(out)] + (["--resume"] if (out / "last.pt").is_file() else []))
        done = json.loads(metrics.read_text())
    return out / "last.pt", done["epochs"][-1]["test_acc"]


def student(args, ckpt: Path, distill: str, seed: int) -> dict:
    out = args.out / f"{args.student}-{distill}-s{seed}"
    if not (out / "family.json").is_file():
        run(["compress", "--teacher", str(ckpt), "--dataset", "fashion-mnist", "--board", args.board, "--target-fps",
             str(args.target_fps), "--student", args.student, "--bits", args.bits, "--input-bits", "8", "--widths",
             "1.0", "--joint", "separate", "--distill", distill, "--epochs", str(args.epochs), "--seed", str(seed),
             "--threads", str(args.threads), "--no-progress", "--no-deploy", "-o", str(out)])
    fam = json.loads((out / "family.json").read_text())
    s = fam["students"][0]
    return {"acc": s["accuracy"]["value"], "seconds": fam["training"]["seconds"],
            "mismatches": s["verify"]["output_mismatches"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/distill_teacher"))
    ap.add_argument("--teacher", default="cnv28")
    ap.add_argument("--teacher-width", type=float, default=0.5)
    ap.add_argument("--teacher-epochs", type=int, default=8)
    ap.add_argument("--student", default="lfc")
    ap.add_argument("--bits", default="w1a1")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--target-fps", default="100000")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    ckpt, t_acc = teacher(args)
    rows = {d: [student(args, ckpt, d, s) for s in args.seeds] for d in ("none", "response")}
    base = statistics.mean(r["acc"] for r in rows["none"])
    print(f"\n{args.student}-{args.bits} (input 8 bits) on full Fashion-MNIST, {args.epochs} epochs, "
          f"seeds {args.seeds}; float {args.teacher} x{args.teacher_width:g} teacher: {t_acc:.2%} "
          "(PyTorch, whole test set)\n")
    print("| student | test acc (mean) | per seed | vs alone | training time (mean) | verify mismatches |")
    print("|---|---|---|---|---|---|")
    for d, rs in rows.items():
        mean = statistics.mean(r["acc"] for r in rs)
        name = "alone (--distill none)" if d == "none" else f"distilled (--distill {d}, T=4, alpha=0.9)"
        print(f"| {name} | {mean:.2%} | {' / '.join(format(r['acc'], '.2%') for r in rs)} | "
              f"{(mean - base) * 100:+.2f} pts | {statistics.mean(r['seconds'] for r in rs):.0f} s | "
              f"{sum(r['mismatches'] for r in rs)} |")


if __name__ == "__main__":
    main()
