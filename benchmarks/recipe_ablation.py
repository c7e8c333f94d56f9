"""One recipe ingredient at a time against the current recipe, same seeds, on a proxy (a training subset, few epochs).

Each row trains the same model from the same seed with the baseline recipe plus (or minus) one ingredient and
reports final-epoch accuracy on the whole test set (no epoch is picked on the test set) and training time; with
several seeds, the mean and the spread. Rows are cached in --out/rows.json, so an interrupted sweep resumes where it
stopped; a row is keyed by model, bits, subset, epochs, seed and its TrainConfig changes.

    .venv/bin/python benchmarks/recipe_ablation.py --model lfc --bits w1a1 --input-bits 8 --limit 10000 \\
        --epochs 5 --seeds 0 1 --out runs/ablation_lfc
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads

import torch  # noqa: E402

from bnn.datasets import load_dataset, preprocess_for  # noqa: E402
from bnn.loader import ImageDataset  # noqa: E402
from bnn.evaluate import evaluate  # noqa: E402
from bnn.quant import parse_bits  # noqa: E402
from bnn.topologies import from_spec, make_spec  # noqa: E402
from bnn.train import TrainConfig, seed_everything, train  # noqa: E402
from bnn.train_choices import RECIPES, augment_for  # noqa: E402

# The recipe before issue 25 (the demo's): Adam, lr 2e-3, cosine, batch 256, BN recalibration, nothing else.
BASELINE = dict(optimizer="adam", lr=2e-3, schedule="cosine", batch_size=256)


def variants(dataset: str, size: int) -> dict[str, dict]:
    """Ingredient name -> the TrainConfig/ModelSpec changes it makes to the baseline ('spec.' keys go to the spec)."""
    aug = augment_for(dataset, size)
    return {
        "baseline": {},
        "+flip": {"augment_flip": True} if aug["augment_flip"] else None,
        "+crop": {"augment_pad": aug["augment_pad"]},
        "+crop1": {"augment_pad": 1},
        "+augment": aug,
        "+warmup1": {"warmup_epochs": 1},
        "+label_smoothing0.1": {"label_smoothing": 0.1},
        "+adamw_wd1e-4": {"optimizer": "adamw", "weight_decay": 1e-4},
        "+adamw_wd1e-2": {"optimizer": "adamw", "weight_decay": 1e-2},
        "+lr5e-3": {"lr": 5e-3},
        "+dropout0.1": {"spec.dropout": 0.1},
        "-bn_recalibration": {"bn_recalibration_batches": 0},
        "improved": {k: v for k, v in RECIPES["improved"].items() if BASELINE.get(k) != v},
    }


def run_row(args, name: str, change: dict, seed: int, train_set, test_set) -> dict:
    spec_kw = {k[5:]: v for k, v in change.items() if k.startswith("spec.")}
    cfg_kw = {k: v for k, v in change.items() if not k.startswith("spec.")}
    wb, ab = parse_bits(args.bits)
    seed_everything(seed)
    spec = make_spec(args.model, wb, ab, width=args.width, in_channels=train_set.sample_shape[0],
                     in_size=train_set.sample_shape[1], input_bits=args.input_bits, **spec_kw)
    model = from_spec(spec)
    cfg = TrainConfig(**{**BASELINE, "epochs": args.epochs, "seed": seed, "progress": False, **cfg_kw})
    t0 = time.perf_counter()
    train(model, train_set, None, cfg, model_spec=spec.to_dict())
    seconds = time.perf_counter() - t0
    acc = evaluate(model, test_set).accuracy
    return {"variant": name, "seed": seed, "test_acc": acc, "train_seconds": round(seconds, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="lfc")
    p.add_argument("--bits", default="w1a1")
    p.add_argument("--input-bits", type=int, default=8)
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--limit", type=int, default=10000, help="first N training images (the test set stays whole)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--only", nargs="+", default=None, help="run only these variants (names as in the table)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--table-only", action="store_true", help="train nothing: the table of the rows already cached")
    p.add_argument("--out", type=Path, default=Path("runs/recipe_ablation"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / "rows.json"
    rows = json.loads(cache.read_text()) if cache.exists() else {}

    tr = load_dataset(args.dataset, split="train").subset(args.limit)
    te = load_dataset(args.dataset, split="test")
    pre = preprocess_for(args.model, tr.shape)
    train_set, test_set = ImageDataset(tr, pre), ImageDataset(te, pre)
    table = {k: v for k, v in variants(args.dataset, train_set.sample_shape[1]).items() if v is not None}
    if args.only:
        unknown = set(args.only) - set(table)
        if unknown:
            p.error(f"unknown variants {sorted(unknown)}; choose from {sorted(table)}")
        table = {k: table[k] for k in ["baseline", *args.only] if k in table}
    prefix = f"{args.model}-{args.bits}-in{args.input_bits}-x{args.width:g}-{args.dataset}-{len(tr)}-e{args.epochs}"
    for seed in args.seeds:
        for name, change in table.items():
            key = f"{prefix}|{seed}|{json.dumps(change, sort_keys=True)}"
            if key not in rows and not args.table_only:
                rows[key] = run_row(args, name, change, seed, train_set, test_set)
                cache.write_text(json.dumps(rows, indent=1))
                r = rows[key]
                print(f"{name} seed {seed}: {100 * r['test_acc']:.2f}% in {r['train_seconds']:.0f} s", flush=True)

    def done(change: dict) -> list[dict]:
        got = (rows.get(f"{prefix}|{s}|{json.dumps(change, sort_keys=True)}") for s in args.seeds)
        return [r for r in got if r is not None]

    base = [r["test_acc"] for r in done({})]
    lines = [f"{args.model}-{args.bits} (input {args.input_bits} bits, width {args.width:g}) on {args.dataset}: "
             f"{len(tr)} training images, {args.epochs} epochs, seeds {args.seeds}; accuracy on all {len(te)} test "
             f"images after the last epoch; baseline = {BASELINE} + BN recalibration", "",
             "| variant | test acc (mean) | per seed | vs baseline | train time (mean) |", "|---|---|---|---|---|"]
    for name, change in table.items():
        got = done(change)
        if not got or not base:
            lines.append(f"| {name} | not run | | | |")
            continue
        accs = [r["test_acc"] for r in got]
        mean = statistics.mean(accs)
        per_seed = " / ".join(f"{100 * r['test_acc']:.2f} (seed {r['seed']})" for r in got)
        lines.append(f"| {name} | {100 * mean:.2f}% | {per_seed} | "
                     f"{100 * (mean - statistics.mean(base)):+.2f} pts | "
                     f"{statistics.mean(r['train_seconds'] for r in got):.0f} s |")
    text = "\n".join(lines)
    print(text)
    (args.out / f"{prefix}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
