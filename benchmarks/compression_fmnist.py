"""Compression on real Fashion-MNIST: what issue 7 asks to be shown, measured in one run.

1. teacher (float LFC-size MLP) vs binarized students (SFC family, W1A1, 8-bit input) of several widths;
2. each student distilled from the teacher vs the same student trained without it (same init, batches, epochs);
3. width search at a LUT budget: MorphNet (cost-weighted L1 on BN scales, shrink, expand, retrain from scratch)
   vs the uniform width multiplier at the same estimated LUTs (also retrained from scratch, same recipe), plus
   magnitude pruning of the trained full-width student (fine-tuned, same epochs);
4. low-rank factorisation of the first FC layer of the distilled full-width student (SVD init, fine-tune).

LUT/FPS are the compiler's estimates (export -> lower -> fold for --board at --target-fps -> compiler.cost).
Outputs: OUT/results.json, OUT/results.md, OUT/pareto.png.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/compression_fmnist.py --threads 1 --out runs/compression
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from bnn.compress.budget import uniform_to_budget  # noqa: E402
from bnn.compress.hwcost import channel_costs, estimate_model, estimate_spec  # noqa: E402
from bnn.compress.joint import DistillConfig, Student, train_students  # noqa: E402
from bnn.compress.lowrank import factorize_fc  # noqa: E402
from bnn.compress.morphnet import CostWeightedL1, shrink  # noqa: E402
from bnn.compress.pareto import pareto_front, plot_pareto  # noqa: E402
from bnn.compress.prune import prune_to_budget  # noqa: E402
from bnn.compress.surgery import bn_scales  # noqa: E402
from bnn.datasets import load_dataset  # noqa: E402
from bnn.evaluate import evaluate  # noqa: E402
from bnn.loader import ImageDataset  # noqa: E402
from bnn.preprocess import Preprocess  # noqa: E402
from bnn.topologies import from_spec, hidden_widths, make_spec  # noqa: E402
from bnn.train import TrainConfig, seed_everything, train  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def built(spec, seed: int):
    seed_everything(seed)
    return from_spec(spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/compression")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--limit", type=int, default=None, help="first N images of each split (quick check)")
    ap.add_argument("--teacher", default="lfc", help="float teacher topology")
    ap.add_argument("--teacher-epochs", type=int, default=10)
    ap.add_argument("--student", default="sfc")
    ap.add_argument("--bits", default="w1a1")
    ap.add_argument("--input-bits", type=int, default=8)
    ap.add_argument("--widths", default="0.25,0.5,1.0")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--temperature", type=float, default=4.0)
    ap.add_argument("--alpha", type=float, default=0.9)
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--target-fps", type=float, default=100000)
    ap.add_argument("--budget-width", type=float, default=0.5,
                    help="the LUT budget of the width search = estimated LUTs of the uniform student at this width")
    ap.add_argument("--strength", type=float, default=0.5, help="MorphNet L1 strength (proximal, per unit lr)")
    ap.add_argument("--granularity", type=int, default=8)
    ap.add_argument("--rank", type=int, default=32)
    ap.add_argument("--lowrank-epochs", type=int, default=3)
    ap.add_argument("--parts", default="distill,width,lowrank",
                    help="which parts to run after the teacher (comma-separated subset of distill,width,lowrank; "
                         "width and lowrank use the distill part's students)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from bnn.quant import parse_bits

    wb, ab = parse_bits(args.bits)
    widths = [float(w) for w in args.widths.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    pre = Preprocess()
    train_set = ImageDataset(load_dataset("fashion-mnist", args.data_root, "train").subset(args.limit), pre)
    test_set = ImageDataset(load_dataset("fashion-mnist", args.data_root, "test").subset(args.limit), pre)
    log(f"Fashion-MNIST {len(train_set)} train / {len(test_set)} test; torch threads {torch.get_num_threads()}")
    cfg = TrainConfig(epochs=args.epochs, batch_size=256, lr=1e-3, seed=0, progress=False)
    res: dict = {"args": vars(args), "torch": torch.__version__}
    t_all = time.perf_counter()

    # 1. the teacher
    t_spec = make_spec(args.teacher, None, None)
    teacher = built(t_spec, 0)
    t0 = time.perf_counter()
    tr = train(teacher, train_set, test_set, TrainConfig(epochs=args.teacher_epochs, batch_size=256, seed=0,
                                                           progress=False), model_spec=t_spec.to_dict())
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    res["teacher"] = {"spec": t_spec.to_dict(), "test_acc": tr.final["test_acc"],
                      "train_seconds": time.perf_counter() - t0}
    log(f"teacher {args.teacher} float: test acc {tr.final['test_acc']:.4f}")

    # 2. students distilled vs not (same init per seed, same batches, same epochs)
    specs = {f"{args.student}-x{w:g}": make_spec(args.student, wb, ab, width=w, input_bits=args.input_bits)
             for w in widths}
    hw = {n: estimate_spec(s, args.board, args.target_fps).as_dict() for n, s in specs.items()}
    res["students"] = {n: {"spec": s.to_dict(), "widths": hidden_widths(s), "hw": hw[n], "distilled": [],
                           "plain": []} for n, s in specs.items()}
    full_name = f"{args.student}-x{max(widths):g}"
    keep_models: dict = {}
    for seed in seeds:
        c = TrainConfig(**{**cfg.to_dict(), "seed": seed})
        for kind in ("response", "none"):
            studs = [Student(n, built(s, 1000 * seed + i), s.to_dict()) for i, (n, s) in enumerate(specs.items())]
            jr = train_students(studs, train_set, test_set, c,
                                DistillConfig(kind, args.temperature, args.alpha), teacher if kind != "none" else None)
            for r in jr.students:
                res["students"][r.name]["distilled" if kind != "none" else "plain"].append(r.test_acc)
                keep_models[(seed, kind, r.name)] = r.model
            res.setdefault("joint_timing", []).append({"seed": seed, "kind": kind, "students": len(studs),
                                                       "seconds": jr.seconds, "teacher_seconds": jr.teacher_seconds})
            log(f"seed {seed} {kind}: " + ", ".join(f"{r.name} {r.test_acc:.4f}" for r in jr.students)
                + f" ({jr.seconds:.0f}s, teacher {jr.teacher_seconds:.0f}s)")
        json.dump(res, open(out / "results.json", "w"), indent=1)

    parts = set(args.parts.split(","))
    base_spec = specs[full_name]
    if "width" not in parts and "lowrank" not in parts:
        finish(res, args, out, t_all, None, None)
        return

    # 3. width search at a LUT budget
    budget = None
    if "width" in parts:
        budget = estimate_spec(make_spec(args.student, wb, ab, width=args.budget_width, input_bits=args.input_bits),
                               args.board, args.target_fps).lut
        cc = channel_costs(base_spec, args.board, args.target_fps, "lut")
        res["width_search"] = {"budget_lut": budget, "channel_costs": {"widths": cc.widths, "per_channel": cc.per_channel,
                                                                       "steps": cc.steps, "base": cc.base}, "runs": []}
        log(f"width search: budget {budget:,.0f} LUT; per-channel LUT costs {[round(x, 2) for x in cc.per_channel]}")
        for seed in seeds:
            c = TrainConfig(**{**cfg.to_dict(), "seed": seed})
            reg = CostWeightedL1(cc, args.strength)
            m = built(base_spec, 1000 * seed + 99)
            train_students([Student("morph-reg", m, base_spec.to_dict(), after_step=reg.prox)], train_set, test_set, c)
            gam = torch.cat(bn_scales(m))
            fit, final = shrink(m, base_spec, budget, args.board, args.target_fps, granularity=args.granularity)
            uni = uniform_to_budget(base_spec, budget, args.board, args.target_fps, granularity=args.granularity)
            pfit, p_spec, p_model = prune_to_budget(keep_models[(seed, "none", full_name)], base_spec, budget, args.board,
                                                    args.target_fps, granularity=args.granularity)
            log(f"seed {seed}: gammas < 1e-3: {int((gam < 1e-3).sum())}/{len(gam)}; morph shrunk {fit.widths} "
                f"({fit.message}); expanded {final.widths}; uniform {uni.widths}; pruned {pfit.widths}")
            cands = {"morphnet": final.spec, "morphnet-shrink-only": fit.spec, "uniform": uni.spec}
            studs = [Student(n, built(s, 1000 * seed + 7), s.to_dict()) for n, s in cands.items()]
            studs.append(Student("prune+finetune", p_model, p_spec.to_dict()))
            jr = train_students(studs, train_set, test_set, c)
            for r in jr.students:
                spec_r = cands.get(r.name, p_spec)
                e = estimate_spec(spec_r, args.board, args.target_fps)
                res["width_search"]["runs"].append({"seed": seed, "method": r.name, "widths": hidden_widths(spec_r),
                                                    "test_acc": r.test_acc, "lut": e.lut, "fps": e.fps, "met": e.met})
            log(f"seed {seed}: " + ", ".join(f"{r.name} {r.test_acc:.4f}" for r in jr.students))
            json.dump(res, open(out / "results.json", "w"), indent=1)

    if "lowrank" not in parts:
        finish(res, args, out, t_all, budget, None)
        return

    # 4. low-rank factorisation of the first FC layer of the distilled full-width student
    src = keep_models[(seeds[0], "response", full_name)]
    lr_spec, lr_model = factorize_fc(src, base_spec, 0, args.rank)
    acc_init = evaluate(lr_model, test_set).accuracy
    c = TrainConfig(**{**cfg.to_dict(), "epochs": args.lowrank_epochs, "lr": 3e-4})
    jr = train_students([Student("lowrank", lr_model, lr_spec.to_dict())], train_set, test_set, c,
                        DistillConfig("response", args.temperature, args.alpha), teacher)
    e_old = estimate_model(src, tuple(train_set.sample_shape), args.board, args.target_fps)
    e_new = estimate_model(lr_model, tuple(train_set.sample_shape), args.board, args.target_fps)
    res["lowrank"] = {"layer": 0, "rank": args.rank, "widths": hidden_widths(lr_spec),
                      "acc_original": res["students"][full_name]["distilled"][0], "acc_svd_init": acc_init,
                      "acc_finetuned": jr.students[0].test_acc, "hw_original": e_old.as_dict(), "hw_lowrank": e_new.as_dict()}
    log(f"low-rank rank {args.rank}: acc {acc_init:.4f} after SVD init -> {jr.students[0].test_acc:.4f}; "
        f"LUT {e_old.lut:,.0f} -> {e_new.lut:,.0f}, BRAM18 {e_old.bram18:g} -> {e_new.bram18:g}")

    finish(res, args, out, t_all, budget, (e_new.lut, jr.students[0].test_acc))


def finish(res: dict, args, out: Path, t_all: float, budget: float | None, lowrank: tuple | None) -> None:
    """Pareto front + plot of every trained student, results.json/results.md."""
    pts = []
    for n, d in res["students"].items():
        for kind in ("distilled", "plain"):
            acc = sum(d[kind]) / len(d[kind])
            pts.append({"name": n, "method": f"uniform ({'distilled' if kind == 'distilled' else 'no teacher'})",
                        "lut": d["hw"]["lut"], "accuracy": acc})
    for r in res.get("width_search", {}).get("runs", []):
        pts.append({"name": f"{r['method']} s{r['seed']}", "method": r["method"], "lut": r["lut"], "accuracy": r["test_acc"]})
    if lowrank:
        pts.append({"name": f"rank {args.rank}", "method": "lowrank (distilled)", "lut": lowrank[0],
                    "accuracy": lowrank[1]})
    res["pareto"] = pareto_front(pts)
    plot_pareto(pts, out / "pareto.png", f"Fashion-MNIST, {args.student} {args.bits}, {args.board} @ "
                f"{args.target_fps:,.0f} FPS", budget=budget)
    res["total_seconds"] = time.perf_counter() - t_all
    json.dump(res, open(out / "results.json", "w"), indent=1)
    (out / "results.md").write_text(markdown(res))
    print(markdown(res))
    log(f"done in {res['total_seconds'] / 60:.1f} min -> {out}")


def _mean(v: list[float]) -> str:
    return f"{sum(v) / len(v):.4f}" + (f" ({', '.join(f'{x:.4f}' for x in v)})" if len(v) > 1 else "")


def markdown(res: dict) -> str:
    a = res["args"]
    lines = [f"Teacher: float {a['teacher']}, test accuracy {res['teacher']['test_acc']:.4f}.", "",
             "| student | widths | est. LUT | est. FPS | distilled acc | no-teacher acc |", "|---|---|---|---|---|---|"]
    for n, d in res["students"].items():
        lines.append(f"| {n} {a['bits']} | {d['widths']} | {d['hw']['lut']:,.0f} | {d['hw']['fps']:,.0f} | "
                     f"{_mean(d['distilled'])} | {_mean(d['plain'])} |")
    ws = res.get("width_search")
    if ws:
        lines += ["", f"Width search at a budget of {ws['budget_lut']:,.0f} LUT (per-channel LUT costs per hidden layer: "
                      f"{[round(x, 2) for x in ws['channel_costs']['per_channel']]}):", "",
                  "| method | seed | widths | est. LUT | est. FPS | test acc |", "|---|---|---|---|---|---|"]
        for r in ws["runs"]:
            lines.append(f"| {r['method']} | {r['seed']} | {r['widths']} | {r['lut']:,.0f} | {r['fps']:,.0f} | "
                         f"{r['test_acc']:.4f} |")
    lr = res.get("lowrank")
    if lr:
        lines += ["", f"Low-rank (layer {lr['layer']}, rank {lr['rank']}, widths {lr['widths']}): accuracy "
                      f"{lr['acc_original']:.4f} (original) -> {lr['acc_svd_init']:.4f} (SVD init) -> "
                      f"{lr['acc_finetuned']:.4f} (fine-tuned); LUT {lr['hw_original']['lut']:,.0f} -> "
                      f"{lr['hw_lowrank']['lut']:,.0f}, BRAM18 {lr['hw_original']['bram18']:g} -> "
                      f"{lr['hw_lowrank']['bram18']:g}, FPS {lr['hw_original']['fps']:,.0f} -> {lr['hw_lowrank']['fps']:,.0f}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
