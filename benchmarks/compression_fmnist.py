"""Compression that pays? Every method against the uniform width multiplier at equal budgets, on Fashion-MNIST,
with the hardware of every row compiled, simulated and synthesized.

For each family (MLP: SFC 3 x 256, W1A1, 8-bit input; CNN: CNV on 32x32-padded images, W1A1, 8-bit input) and
each LUT budget (default: the RTL-flow estimate of the uniform multiplier at x0.25, x0.5, x1 of the family's base),
on `--board` at `--target-fps`, every row trains `--epochs` epochs per seed (the same for every row):

- `uniform`: the width multiplier, the largest uniform widths within the budget (the baseline);
- `morphnet`: widths by MorphNet (`--cycles` shrink/expand cycles, L1 on BatchNorm scales weighted by the binding
  resource's RTL cost per channel, dead layers removed), retrained from scratch;
- `prune`: the base trained for half the epochs, magnitude-pruned to the budget, fine-tuned the other half (equal
  epochs to the baseline);
- `distill`: the uniform widths trained against a float teacher (`--kd` kind, T, alpha), same epochs;
- `search`: per-layer bits (1..4, weights and activations, first and last layers included) and widths by
  bnn.compress.search (MorphNet widths + HAWQ sensitivity + greedy knapsack, candidates picked by a short proxy
  training on a validation split held out of the training set), retrained from scratch;
- `bits`: per-layer bits only, on the uniform widths of a share of the budget (the bits half of `search`).

Searches (probe training, candidates, proxy) run once per (family, budget) with seed 0; the found spec is then
trained with every seed like the other rows. Columns: test accuracy mean and std over seeds, the RTL-flow LUT
estimate (whole design, and the accelerator alone), Yosys-synthesized LUT and BRAM18 of the compiled RTL (`bnnc
synth`: the accelerator without the DMA shell), cycles/frame measured by Verilator (`bnnc rtlsim`), each of the
seed-0 model compiled by `bnnc compile --rtl --verify` (bit-exact against QONNX on real test images).

Resumable: every finished training (OUT/rows/*.json), search (OUT/search/*.json) and hardware run
(OUT/hw/<row>/) is cached and reused; interrupt and rerun with the same --out. Outputs OUT/results.json and
OUT/results.md.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/compression_fmnist.py --threads 1 --seeds 0,1,2 \\
        --families mlp,cnn --out runs/compression_search
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bnn.compress.budget import ResourceBudget, uniform_to_budget  # noqa: E402
from bnn.compress.hwcost import estimate_spec  # noqa: E402
from bnn.compress.joint import DistillConfig, Student, train_students  # noqa: E402
from bnn.compress.prune import prune_to_budget  # noqa: E402
from bnn.compress.search import SearchConfig, search  # noqa: E402
from bnn.datasets import ImageData, load_dataset  # noqa: E402
from bnn.loader import ImageDataset  # noqa: E402
from bnn.preprocess import preprocess_for  # noqa: E402
from bnn.topologies import ModelSpec, from_spec, hidden_widths, layer_bits, make_spec  # noqa: E402
from bnn.train import TrainConfig, seed_everything  # noqa: E402

BNNC = str(Path(sys.executable).with_name("bnnc"))
FAMILIES = {"mlp": ("sfc", "lfc"), "cnn": ("cnv", "cnv")}     # student base, float teacher
METHODS = ("uniform", "morphnet", "prune", "distill", "bits", "search")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _split(data: ImageData, n_val: int) -> tuple[ImageData, ImageData]:
    """(train, validation): the last n_val images of the training split are held out for the search's proxy."""
    k = len(data) - n_val
    cut = lambda a, b: ImageData(data.images[a:b], data.labels[a:b], data.name, data.split, data.source,  # noqa: E731
                                 data.num_classes)
    return cut(0, k), cut(k, len(data))


def _load(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _save(path: Path, doc) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(path)


def _train(spec: ModelSpec, train_set, test_set, cfg: TrainConfig, seed: int, model=None, teacher=None,
           kd: DistillConfig | None = None):
    if model is None:
        seed_everything(1000 * seed + 7)
        model = from_spec(spec)
    c = TrainConfig(**{**cfg.to_dict(), "seed": seed})
    jr = train_students([Student("s", model, spec.to_dict())], train_set, test_set, c, kd, teacher)
    return jr.students[0], jr.seconds


def hardware(model, spec: ModelSpec, folder: Path, x: np.ndarray, board: str, fps: float, frames: int,
             synth: bool) -> dict:
    """bnnc compile --rtl --verify (real inputs), bnnc rtlsim, bnnc synth on the seed-0 model; cached in folder."""
    done = _load(folder / "hw.json")
    if done is not None:
        return done
    from bnn.export import export_qonnx

    folder.mkdir(parents=True, exist_ok=True)
    onnx, build = folder / "model.onnx", folder / "build"
    export_qonnx(model.eval(), onnx, tuple(x.shape[1:]), dynamo=False)
    np.save(folder / "verify_inputs.npy", x)
    out: dict = {}

    def run(args: list[str], what: str) -> str:
        res = subprocess.run([BNNC, *args], capture_output=True, text=True)
        if res.returncode:
            raise RuntimeError(f"{what} failed for {folder}:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
        return res.stdout

    text = run(["compile", str(onnx), "--rtl", "--verify", "--verify-inputs", str(folder / "verify_inputs.npy"),
                "--board", board, "--target-fps", str(fps), "-o", str(build), "--force"], "bnnc compile")
    line = next((ln for ln in text.splitlines() if ln.startswith("verified:")), "")
    out["verify"] = line
    if "0 output mismatches" not in line:
        raise RuntimeError(f"{folder}: not bit-exact: {line}")
    rep = json.loads((build / "report.json").read_text())
    out["report_total"] = rep.get("total")
    run(["rtlsim", str(build), "--frames", str(frames)], "bnnc rtlsim")
    rs = json.loads((build / "rtlsim.json").read_text())
    out["rtlsim_cycles_per_frame"] = rs.get("cycles_per_frame")
    out["rtlsim_mismatches"] = rs.get("mismatches", rs.get("mismatched_elements"))
    if synth:
        run(["synth", str(build)], "bnnc synth")
        sy = json.loads((build / "synth.json").read_text())
        out["synth"] = sy["total"]
        out["synth_estimated"] = sy.get("estimated_total")
    _save(folder / "hw.json", out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/compression_search")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--limit", type=int, default=None, help="first N training images (reduced runs); test set full")
    ap.add_argument("--test-limit", type=int, default=None)
    ap.add_argument("--val", type=int, default=5000, help="training images held out for the search's proxy")
    ap.add_argument("--families", default="mlp,cnn")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--budget-widths", default="0.25,0.5,1.0",
                    help="LUT budgets = RTL estimates of the uniform multiplier at these widths of the base")
    ap.add_argument("--budgets", default=None, help="explicit LUT budgets (comma-separated), overrides --budget-widths")
    ap.add_argument("--dsp-limit", type=float, default=None, help="also limit DSP slices (e.g. 0: LUT-only logic)")
    ap.add_argument("--bram-limit", type=float, default=None, help="also limit BRAM18")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--target-fps", type=float, default=100000)
    ap.add_argument("--granularity", type=int, default=8)
    ap.add_argument("--cycles", type=int, default=2, help="MorphNet shrink/expand cycles")
    ap.add_argument("--probe-epochs", type=int, default=3)
    ap.add_argument("--proxy-epochs", type=int, default=1)
    ap.add_argument("--strength", type=float, default=0.5)
    ap.add_argument("--sensitivity", default="fisher", choices=("fisher", "hutchinson"))
    ap.add_argument("--kd", default="response", choices=("response", "feature", "both"))
    ap.add_argument("--temperature", type=float, default=4.0)
    ap.add_argument("--alpha", type=float, default=0.9)
    ap.add_argument("--teacher-epochs", type=int, default=10)
    ap.add_argument("--frames", type=int, default=16, help="rtlsim frames")
    ap.add_argument("--no-hw", action="store_true", help="skip compile/rtlsim/synth")
    ap.add_argument("--no-synth", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = [m for m in args.methods.split(",") if m]
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise SystemExit(f"unknown methods {bad}; choose from {METHODS}")
    cfg = TrainConfig(epochs=args.epochs, batch_size=256, lr=1e-3, seed=0, progress=False)
    prev = _load(out / "results.json")
    res = {"args": vars(args), "torch": torch.__version__, "families": {}}
    t_all = time.perf_counter()
    full_train = load_dataset("fashion-mnist", args.data_root, "train").subset(
        None if args.limit is None else args.limit + args.val)
    tr_data, val_data = _split(full_train, args.val)
    te_data = load_dataset("fashion-mnist", args.data_root, "test").subset(args.test_limit)

    for fam in args.families.split(","):
        student, teacher_name = FAMILIES[fam]
        pre = preprocess_for(student, tr_data.shape)
        train_set, val_set, test_set = (ImageDataset(d, pre) for d in (tr_data, val_data, te_data))
        x_verify = test_set[list(range(64))][0].numpy()
        c, h = train_set.sample_shape[0], train_set.sample_shape[1]
        base = make_spec(student, 1, 1, in_channels=c, in_size=h, input_bits=8)
        log(f"{fam}: {student} {hidden_widths(base)}, Fashion-MNIST {len(train_set)} train / {len(val_set)} val / "
            f"{len(test_set)} test; {args.epochs} epochs, seeds {seeds}")
        if args.budgets:
            budgets = [float(b) for b in args.budgets.split(",")]
        else:
            budgets = [estimate_spec(replace(base, width=float(w)), args.board, args.target_fps, flow="rtl").lut
                       for w in args.budget_widths.split(",")]
        # rows of earlier invocations with the same --out are kept (a later run may add methods or KD settings)
        old = (prev or {}).get("families", {}).get(fam, {})
        fres = res["families"][fam] = {"base": base.to_dict(), "rows": list(old.get("rows", [])),
                                       "budgets": sorted(set(old.get("budgets", [])) | set(budgets))}
        teacher = None
        if "distill" in methods:
            teacher = get_teacher(out, f"{fam}_n{args.limit or 'all'}_e{args.teacher_epochs}", teacher_name, c, h,
                                  train_set, test_set, args)
            fres["teacher_acc"] = teacher[1]
            teacher = teacher[0]
        for budget in budgets:
            rb = ResourceBudget(args.board, args.target_fps, lut=budget, dsp=args.dsp_limit, bram18=args.bram_limit,
                                flow="rtl")
            # cache keys carry what changes a row's result (data sizes, epochs, search knobs)
            tag = (f"{fam}_{budget:.0f}_n{args.limit or 'all'}_v{args.val}_t{args.test_limit or 'all'}_e{args.epochs}"
                   f"_p{args.probe_epochs}c{args.cycles}x{args.proxy_epochs}_{args.sensitivity}_g{args.granularity}"
                   + (f"_dsp{args.dsp_limit:g}" if args.dsp_limit is not None else "")
                   + (f"_bram{args.bram_limit:g}" if args.bram_limit is not None else ""))
            for method in methods:
                # a distilled row's cache key names its loss, so other KD settings are other rows
                rkey = (f"{method}-{args.kd}-T{args.temperature:g}-a{args.alpha:g}-te{args.teacher_epochs}"
                        if method == "distill" else f"{method}-{args.sensitivity}"
                        if method in ("bits", "search") and args.sensitivity != "fisher" else method)
                if args.dsp_limit is not None or args.bram_limit is not None:
                    rkey += (f"-dsp{args.dsp_limit:g}" if args.dsp_limit is not None else "") + \
                        (f"-bram{args.bram_limit:g}" if args.bram_limit is not None else "")
                spec = row_spec(method, base, rb, tag, out, train_set, val_set, cfg, args)
                accs, secs, model0, extra, spec0 = [], [], None, {}, None
                for seed in seeds:
                    key = out / "rows" / f"{tag}_{rkey}_s{seed}.json"
                    row = _load(key)
                    need_model = seed == seeds[0] and not args.no_hw and _load(out / "hw" / f"{tag}_{rkey}" /
                                                                               "hw.json") is None
                    if row is None or need_model:
                        model, s_spec, secs_ = train_row(method, spec, base, rb, train_set, test_set, cfg, seed, args,
                                                         teacher)
                        row = {"test_acc": evaluate_acc(model, test_set), "seconds": secs_, "spec": s_spec.to_dict()}
                        _save(key, row)
                        if seed == seeds[0]:
                            model0 = model
                    accs.append(row["test_acc"])
                    secs.append(row["seconds"])
                    if spec0 is None:
                        spec0 = ModelSpec(**row["spec"])     # seed 0's (prune: widths differ per seed)
                final_spec = spec0
                est = estimate_spec(final_spec, args.board, args.target_fps, flow="rtl")
                if not args.no_hw:
                    if model0 is None and _load(out / "hw" / f"{tag}_{rkey}" / "hw.json") is None:
                        raise RuntimeError("internal: no model for the hardware run")
                    extra = hardware(model0, final_spec, out / "hw" / f"{tag}_{rkey}", x_verify, args.board,
                                     args.target_fps, args.frames, not args.no_synth)
                wb, ab = layer_bits(final_spec)
                r = {"budget": budget, "method": rkey, "widths": hidden_widths(final_spec), "weight_bits": wb,
                     "act_bits": ab, "acc": accs, "acc_mean": float(np.mean(accs)), "acc_std": float(np.std(accs)),
                     "train_seconds": secs, "est_lut": est.lut, "est_accel_lut": est.accel_lut,
                     "est_bram18": est.bram18, "est_dsp": est.dsp, "est_fps": est.fps, "within_budget": rb.ok(est),
                     **({"hw": extra} if extra else {})}
                fres["rows"] = [o for o in fres["rows"] if (o["budget"], o["method"]) != (budget, rkey)] + [r]
                log(f"{tag} {method}: widths {r['widths']} w{wb} a{ab}: acc {r['acc_mean']:.4f} +- {r['acc_std']:.4f}, "
                    f"est {est.lut:,.0f} LUT" + (f", synth {extra['synth']['LUT']} LUT {extra['synth']['BRAM18']} "
                                                f"BRAM18, rtlsim {extra['rtlsim_cycles_per_frame']} cycles/frame"
                                                if extra.get("synth") else ""))
                _save(out / "results.json", res)
    res["total_seconds"] = time.perf_counter() - t_all
    _save(out / "results.json", res)
    (out / "results.md").write_text(markdown(res))
    print(markdown(res))
    log(f"done in {res['total_seconds'] / 60:.1f} min -> {out}")


def evaluate_acc(model, test_set) -> float:
    from bnn.evaluate import evaluate

    return float(evaluate(model, test_set).accuracy)


def get_teacher(out: Path, fam: str, name: str, c: int, h: int, train_set, test_set, args):
    """A float teacher of the family (cached as OUT/teacher_<fam>.pt)."""
    path = out / f"teacher_{fam}.pt"
    spec = make_spec(name, None, None, in_channels=c, in_size=h)
    seed_everything(0)
    model = from_spec(spec)
    if path.is_file():
        doc = torch.load(path, weights_only=False)
        model.load_state_dict(doc["state"])
        acc = doc["acc"]
    else:
        cfg = TrainConfig(epochs=args.teacher_epochs, batch_size=256, lr=1e-3, seed=0, progress=False)
        r, _ = _train(spec, train_set, test_set, cfg, 0, model=model)
        acc = evaluate_acc(model, test_set)
        torch.save({"state": model.state_dict(), "acc": acc}, path)
    log(f"teacher float {name}: test acc {acc:.4f}")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, acc


def row_spec(method: str, base: ModelSpec, rb: ResourceBudget, tag: str, out: Path, train_set, val_set, cfg, args
             ) -> ModelSpec | None:
    """The spec a row trains (None for prune: its widths come from the trained base of each seed)."""
    if method in ("uniform", "distill"):
        return uniform_to_budget(base, rb.lut, rb.board, rb.target_fps, granularity=args.granularity, flow="rtl").spec
    if method == "prune":
        return None
    dims = {"morphnet": ("width",), "bits": ("bits",), "search": ("bits", "width")}[method]
    path = out / "search" / f"{tag}_{method}.json"
    doc = _load(path)
    if doc is None:
        sc = SearchConfig(search=dims, sensitivity=args.sensitivity, probe_epochs=args.probe_epochs,
                          cycles=args.cycles, strength=args.strength, granularity=args.granularity,
                          proxy_epochs=args.proxy_epochs)
        t0 = time.perf_counter()
        r = search(base, rb, train_set, val_set, cfg, sc, log=lambda m: log(f"{tag} {method}: {m}"))
        doc = r.as_dict()
        doc["wall_seconds"] = time.perf_counter() - t0
        _save(path, doc)
    return ModelSpec(**doc["spec"])


def train_row(method, spec, base, rb, train_set, test_set, cfg, seed, args, teacher):
    """(trained model, its spec, training seconds) of one row and seed, same total epochs for every method."""
    if method == "prune":
        half = TrainConfig(**{**cfg.to_dict(), "epochs": max(1, cfg.epochs // 2)})
        r, s1 = _train(base, train_set, None, half, seed)
        _, p_spec, p_model = prune_to_budget(r.model, base, rb.lut, rb.board, rb.target_fps,
                                             granularity=args.granularity, flow="rtl")
        if cfg.epochs - half.epochs < 1:          # a 1-epoch run: pruned, not fine-tuned
            return p_model.eval(), p_spec, s1
        rest = TrainConfig(**{**cfg.to_dict(), "epochs": cfg.epochs - half.epochs, "lr": cfg.lr * 0.5})
        r2, s2 = _train(p_spec, train_set, None, rest, seed, model=p_model)
        return r2.model, p_spec, s1 + s2
    kd = DistillConfig(args.kd, args.temperature, args.alpha) if method == "distill" else None
    r, s = _train(spec, train_set, None, cfg, seed, teacher=teacher if method == "distill" else None, kd=kd)
    return r.model, spec, s


def markdown(res: dict) -> str:
    a = res["args"]
    lines = []
    for fam, f in res["families"].items():
        lines += [f"### {fam} ({f['base']['name']}), {a['board']} at {a['target_fps']:,.0f} FPS, {a['epochs']} epochs, "
                  f"seeds {a['seeds']}" + (f"; float teacher {f['teacher_acc']:.4f}" if "teacher_acc" in f else ""), "",
                  "| budget (est. LUT) | method | widths | weight bits | act bits | test acc mean ± std | est. LUT "
                  "(design / accel.) | est. DSP | synth LUT | synth BRAM18 | synth DSP | rtlsim cycles/frame | "
                  "vs uniform |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for budget in f["budgets"]:
            rows = [r for r in f["rows"] if r["budget"] == budget]
            uni = next((r for r in rows if r["method"] == "uniform"), None)
            for r in rows:
                hw = r.get("hw", {})
                sy = hw.get("synth") or {}
                d = "" if uni is None or r is uni else f"{100 * (r['acc_mean'] - uni['acc_mean']):+.2f} pt"
                if uni is not None and r is not uni and sy and (uni.get("hw") or {}).get("synth"):
                    d += f", {100 * (sy['LUT'] / uni['hw']['synth']['LUT'] - 1):+.1f}% synth LUT"
                lines.append(
                    f"| {budget:,.0f} | {r['method']} | {r['widths']} | {r['weight_bits']} | {r['act_bits']} | "
                    f"{r['acc_mean']:.4f} ± {r['acc_std']:.4f} | {r['est_lut']:,.0f} / {r['est_accel_lut']:,.0f} | "
                    f"{r.get('est_dsp', 0):g} | {sy.get('LUT', '-')} | {sy.get('BRAM18', '-')} | "
                    f"{sy.get('DSP', '-')} | "
                    f"{hw.get('rtlsim_cycles_per_frame', '-')} | {d} |")
        lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
