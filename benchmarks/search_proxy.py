"""Does the search's proxy pick the candidate that trains best? For cached searches of
benchmarks/compression_fmnist.py (OUT/search/*.json), every candidate retrained as the proxy trains it
(bnn.compress.search.proxy_accuracies: from scratch, seeded by its index, the schedule over E epochs) for each E of
`--proxy-epochs`, and for `--final-epochs` (the rows' training length); validation accuracy (the split held out of the
training set, never the test set). Reports, per search, each E's pick against the pick of the final training.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/search_proxy.py runs/cs_reduced/search/*search.json \\
        --limit 20000 --val 5000 --proxy-epochs 1,2,3 --final-epochs 5 --out runs/search_proxy.json
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from _compression_rows import family_data, load_json, log, save_json  # noqa: E402
from bnn.compress.search import proxy_accuracies  # noqa: E402
from bnn.topologies import ModelSpec  # noqa: E402
from bnn.train import TrainConfig  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("searches", nargs="+", help="search documents (OUT/search/*.json) with several candidates")
    ap.add_argument("--family", default="mlp")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--limit", type=int, default=None, help="training images (as the searches' run used)")
    ap.add_argument("--val", type=int, default=5000)
    ap.add_argument("--proxy-epochs", default="1,2,3")
    ap.add_argument("--final-epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="runs/search_proxy.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    train_set, val_set, _, _ = family_data(args.family, args.data_root, args.limit, args.val, None)
    cfg = TrainConfig(epochs=1, batch_size=256, lr=1e-3, seed=0, progress=False)
    lengths = [int(e) for e in args.proxy_epochs.split(",")] + [args.final_epochs]
    out = Path(args.out)
    res = load_json(out) or {}
    for path in args.searches:
        doc = load_json(Path(path))
        cands = (doc or {}).get("candidates", [])
        if len(cands) < 2:
            continue
        specs = {c["name"]: _spec(doc, c) for c in cands}
        entry = res.setdefault(Path(path).stem, {"candidates": cands, "val_acc": {}})
        for e in lengths:
            if str(e) in entry["val_acc"]:
                continue
            t0 = time.perf_counter()
            entry["val_acc"][str(e)] = proxy_accuracies(specs, train_set, val_set, cfg, e, 0)
            log(f"{Path(path).stem} {e} epoch(s) ({time.perf_counter() - t0:.0f} s): {entry['val_acc'][str(e)]}")
            save_json(out, res)
    print(markdown(res, lengths))


def _spec(doc: dict, cand: dict) -> ModelSpec:
    """A candidate's spec: the chosen spec's fields with the candidate's widths and bits."""
    d = dict(doc["spec"])
    d.update(hidden=cand["widths"], layer_weight_bits=cand["weight_bits"], layer_act_bits=cand["act_bits"])
    return ModelSpec(**d)


def markdown(res: dict, lengths: list[int]) -> str:
    final = str(lengths[-1])
    lines = ["| search | candidate | widths | weight bits | act bits | "
             + " | ".join(f"val acc, {e} ep" for e in lengths) + " |", "|---" * (5 + len(lengths)) + "|"]
    picks = {str(e): 0 for e in lengths[:-1]}
    n = 0
    for name, entry in res.items():
        acc = entry["val_acc"]
        if final not in acc:
            continue
        n += 1
        best = {e: max(acc[e], key=acc[e].get) for e in acc}
        for e in picks:
            picks[e] += e in best and best[e] == best[final]
        for c in entry["candidates"]:
            cells = [f"{acc[str(e)][c['name']]:.4f}" + (" *" if best.get(str(e)) == c["name"] else "")
                     if str(e) in acc else "-" for e in lengths]
            lines.append(f"| {name} | {c['name']} | {c['widths']} | {c['weight_bits']} | {c['act_bits']} | "
                         + " | ".join(cells) + " |")
    lines += ["", "(* the pick at that length) picks agreeing with the " + final + "-epoch pick: "
              + ", ".join(f"{e} ep {k}/{n}" for e, k in picks.items())]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
