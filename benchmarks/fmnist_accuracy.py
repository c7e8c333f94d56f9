"""LFC binarized vs its float twin on full Fashion-MNIST, same recipe, in one run.

Reports final-epoch test accuracy (not the best epoch: choosing the epoch on the test set would flatter both),
wall time, and the gap; writes results JSON, a markdown table and an accuracy-per-epoch plot.

    .venv/bin/python benchmarks/fmnist_accuracy.py --epochs 20 --out runs/fmnist_accuracy
"""
from __future__ import annotations

import argparse
import os
import json
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bnn.datasets import ImageDataset, load_dataset, preprocess_for  # noqa: E402
from bnn.quant import parse_bits  # noqa: E402
from bnn.topologies import from_spec, make_spec  # noqa: E402
from bnn.train import TrainConfig, seed_everything, train  # noqa: E402


def run(model: str, config: str, args, train_set, test_set) -> dict:
    """config: 'w1a1', 'float', or e.g. 'w1a1-in8' (8-bit input quantizer instead of the activation width)."""
    bits, _, inp = config.partition("-in")
    wb, ab = parse_bits(bits)
    seed_everything(args.seed)
    spec = make_spec(model, wb, ab, width=args.width, in_channels=train_set.sample_shape[0],
                     in_size=train_set.sample_shape[1], dropout=args.dropout, input_bits=int(inp) if inp else None)
    net = from_spec(spec)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, schedule="cosine",
                      seed=args.seed, out_dir=str(args.out / f"{model}-{config}"))
    t0 = time.perf_counter()
    res = train(net, train_set, test_set, cfg, model_spec=spec.to_dict())
    wall = time.perf_counter() - t0
    return {"model": model, "bits": config, "epochs": args.epochs, "wall_s": round(wall, 1),
            "final_test_acc": res.final["test_acc"], "best_test_acc": res.best["test_acc"],
            "curve": [m["test_acc"] for m in res.metrics], "checkpoint": str(res.last_path)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="lfc")
    p.add_argument("--bits", nargs="+", default=["w1a1", "w1a1-in8", "float"],
                   help="configs: wXaY, float, or wXaY-inB (B-bit input quantizer)")
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="use only the first N training images (smoke runs)")
    p.add_argument("--out", type=Path, default=Path("runs/fmnist_accuracy"))
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    tr, te = load_dataset(args.dataset, split="train"), load_dataset(args.dataset, split="test")
    if args.limit:
        tr = tr.subset(args.limit)
    pre = preprocess_for(args.model, tr.shape)
    train_set, test_set = ImageDataset(tr, pre), ImageDataset(te, pre)
    results = [run(args.model, b, args, train_set, test_set) for b in args.bits]

    ref = next((r for r in results if r["bits"] == "float"), results[-1])
    lines = [f"{args.model.upper()} on {args.dataset} ({len(tr)} train / {len(te)} test images), "
             f"Adam lr {args.lr} cosine, batch {args.batch_size}, dropout {args.dropout}, seed {args.seed}",
             "", "| model | epochs | final test acc | best-epoch test acc | gap to float (final) | wall time |",
             "|---|---|---|---|---|---|"]
    for r in results:
        gap = 100 * (ref["final_test_acc"] - r["final_test_acc"])
        lines.append(f"| {r['model']}-{r['bits']} | {r['epochs']} | {100 * r['final_test_acc']:.2f}% | "
                     f"{100 * r['best_test_acc']:.2f}% | {gap:+.2f} pts | {r['wall_s']:.0f} s |")
    table = "\n".join(lines)
    print(table)
    (args.out / "results.md").write_text(table + "\n")
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in results:
        ax.plot(range(1, len(r["curve"]) + 1), [100 * a for a in r["curve"]], marker="o", label=f"{r['model']}-{r['bits']}")
    ax.set_xlabel("epoch"), ax.set_ylabel("test accuracy (%)"), ax.grid(alpha=0.3), ax.legend()
    ax.set_title(f"{args.model.upper()} on {args.dataset}")
    fig.tight_layout()
    fig.savefig(args.out / "accuracy.png", dpi=120)


if __name__ == "__main__":
    main()
