"""Compression that pays? Every method against the uniform width multiplier at equal budgets, on Fashion-MNIST,
with the hardware of every row compiled, simulated and synthesized.

For each family (MLP: SFC 3 x 256, W1A1, 8-bit input; CNN: CNV on 32x32-padded images, W1A1, 8-bit input; cnn28:
CNV for 28x28; `--base-width` narrows every family's base) and
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

Parallel: the rows' trainings (method x budget x seed, each seed 0 with its hardware run) are scaleout tasks
(benchmarks/_compression_rows.row_task): `--workers N` runs N at once in a local process pool, `--cluster ADDRESS`
(or RAY_ADDRESS) as Ray tasks (the nodes need this repository at the same path: Ray puts the script's folder on
its workers' sys.path). Default: in this process, as before. Before the rows, the searches (one per family, budget
and searched method: _compression_rows.search_task) run through the same executor; the teacher runs in this
process first. Each row and search seeds itself, so it is the same in-process, in the pool and on Ray.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/compression_fmnist.py --threads 1 --seeds 0,1,2 \\
        --families mlp,cnn --out runs/compression_search
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bnn.compress.budget import ResourceBudget, uniform_within  # noqa: E402
from bnn.compress.hwcost import estimate_spec  # noqa: E402
from bnn.topologies import ModelSpec, hidden_widths, layer_bits, make_spec  # noqa: E402
from bnn.train import TrainConfig  # noqa: E402
from scaleout import Task  # noqa: E402

# the rows' work lives in a module scaleout's workers can import (this folder is on sys.path for the script)
from _compression_rows import (FAMILIES, SEARCH_DIMS, family_data, get_teacher, load_json, log, row_task,  # noqa: E402
                               save_json, search_task)
from _sweep_options import add_executor_options, executor_for_args  # noqa: E402

METHODS = ("uniform", "morphnet", "prune", "distill", "bits", "search")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/compression_search")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--limit", type=int, default=None, help="first N training images (reduced runs); test set full")
    ap.add_argument("--test-limit", type=int, default=None)
    ap.add_argument("--val", type=int, default=5000, help="training images held out for the search's proxy")
    ap.add_argument("--families", default="mlp,cnn", help="mlp, cnn, cnn28 (comma-separated)")
    ap.add_argument("--base-width", type=float, default=1.0,
                    help="width multiplier of every family's base (the widest student); budgets are shares of it")
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
    ap.add_argument("--table-only", action="store_true",
                    help="train, search and build nothing: the table of what is finished under --out (a run still "
                         "going or stopped); a row with fewer seeds than --seeds says how many, one not started is "
                         "left out")
    add_executor_options(ap)
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
    prev = load_json(out / "results.json")
    res = {"args": vars(args), "torch": torch.__version__, "families": {}}
    t_all = time.perf_counter()
    ex = executor_for_args(args)
    log(f"rows run on the {ex.describe()}")

    for fam in args.families.split(","):
        student, teacher_name = FAMILIES[fam]
        train_set, val_set, test_set, _ = family_data(fam, args.data_root, args.limit, args.val, args.test_limit)
        c, h = train_set.sample_shape[0], train_set.sample_shape[1]
        base = make_spec(student, 1, 1, in_channels=c, in_size=h, input_bits=8, width=args.base_width)
        log(f"{fam}: {student} {hidden_widths(base)}, Fashion-MNIST {len(train_set)} train / {len(val_set)} val / "
            f"{len(test_set)} test; {args.epochs} epochs, seeds {seeds}")
        if args.budgets:
            budgets = [float(b) for b in args.budgets.split(",")]
        else:
            budgets = [estimate_spec(replace(base, width=float(w) * args.base_width), args.board, args.target_fps,
                                     flow="rtl").lut
                       for w in args.budget_widths.split(",")]
        # rows of earlier invocations with the same --out are kept (a later run may add methods or KD settings)
        old = (prev or {}).get("families", {}).get(fam, {})
        fres = res["families"][fam] = {"base": base.to_dict(), "rows": list(old.get("rows", [])),
                                       "budgets": sorted(set(old.get("budgets", [])) | set(budgets))}
        teacher_tag = None
        # trained (or loaded) here once; the distill rows load it from OUT
        if "distill" in methods and not args.table_only:
            teacher_tag = f"{fam}_n{args.limit or 'all'}_e{args.teacher_epochs}"
            fres["teacher_acc"] = get_teacher(out, teacher_tag, teacher_name, c, h, train_set, test_set, args)[1]
        # 1. the searches not cached yet (seed 0), one task per budget and searched method, through the executor
        searches = []
        for budget in budgets:
            for method in (m for m in methods if m in SEARCH_DIMS):
                name = f"{budget_tag(fam, budget, args)}_{method}"
                if load_json(out / "search" / f"{name}.json") is None and not args.table_only:
                    searches.append(Task(name, search_task, (fam, method, base, resource_budget(budget, args), cfg,
                                                             vars(args), str(out / "search" / f"{name}.json")),
                                         num_cpus=args.threads))
        found = ex.run(searches, desc=f"{fam} searches") if searches else {}
        failed = {k: r.error for k, r in found.items() if not r.ok}
        if failed:
            raise SystemExit(f"{len(failed)} searches failed (the finished ones are kept in {out}; rerun to resume):\n"
                             + "\n".join(f"  {k}: {e}" for k, e in failed.items()))
        # 2. the spec of every (budget, method) (searches from their cache), and a task for every row and seed not
        # cached yet (seed 0's also when its hardware run is missing: it needs the trained model)
        plan, tasks = [], []
        for budget in budgets:
            rb = resource_budget(budget, args)
            tag = budget_tag(fam, budget, args)
            for method in methods:
                # a distilled row's cache key names its loss, so other KD settings are other rows
                rkey = (f"{method}-{args.kd}-T{args.temperature:g}-a{args.alpha:g}-te{args.teacher_epochs}"
                        if method == "distill" else f"{method}-{args.sensitivity}"
                        if method in ("bits", "search") and args.sensitivity != "fisher" else method)
                if args.dsp_limit is not None or args.bram_limit is not None:
                    rkey += (f"-dsp{args.dsp_limit:g}" if args.dsp_limit is not None else "") + \
                        (f"-bram{args.bram_limit:g}" if args.bram_limit is not None else "")
                hw_dir = out / "hw" / f"{tag}_{rkey}"
                plan.append((budget, method, rkey, tag, rb, hw_dir))
                if args.table_only:
                    continue
                spec = row_spec(method, base, rb, tag, out, train_set, val_set, cfg, args)
                for seed in seeds:
                    key = out / "rows" / f"{tag}_{rkey}_s{seed}.json"
                    need_hw = seed == seeds[0] and not args.no_hw and load_json(hw_dir / "hw.json") is None
                    if load_json(key) is None or need_hw:
                        tasks.append(Task(f"{tag}_{rkey}_s{seed}", row_task,
                                          (fam, method, spec, base, rb, cfg, seed, vars(args), str(key),
                                           str(hw_dir) if need_hw else None,
                                           teacher_tag if method == "distill" else None),
                                          num_cpus=args.threads))
        # 3. the rows' trainings (and seed 0's hardware) through the executor; each writes its row as it finishes
        results = ex.run(tasks, desc=f"{fam} rows") if tasks else {}
        failed = {k: r.error for k, r in results.items() if not r.ok}
        if failed:
            raise SystemExit(f"{len(failed)} rows failed (the finished ones are kept in {out}; rerun to resume):\n"
                             + "\n".join(f"  {k}: {e}" for k, e in failed.items()))
        # 4. the table, in the order of budgets and methods
        for budget, method, rkey, tag, rb, hw_dir in plan:
            rows = [load_json(out / "rows" / f"{tag}_{rkey}_s{seed}.json") for seed in seeds]
            done = [seed for seed, row in zip(seeds, rows) if row is not None]
            if args.table_only:        # what is finished: the seeds with a row, the hardware run if there is one
                rows = [row for row in rows if row is not None]
                if not rows:
                    continue
            accs, secs = [r["test_acc"] for r in rows], [r["seconds"] for r in rows]
            final_spec = ModelSpec(**rows[0]["spec"])     # seed 0's (prune: widths differ per seed)
            est = estimate_spec(final_spec, args.board, args.target_fps, flow="rtl")
            extra = {} if args.no_hw else load_json(hw_dir / "hw.json")
            if extra is None and args.table_only:
                extra = {}
            if extra is None:
                raise RuntimeError(f"internal: no hardware run in {hw_dir}")
            wb, ab = layer_bits(final_spec)
            r = {"budget": budget, "method": rkey, "widths": hidden_widths(final_spec), "weight_bits": wb,
                 "act_bits": ab, "acc": accs, "seeds": done, "acc_mean": float(np.mean(accs)),
                 "acc_std": float(np.std(accs)),
                 "train_seconds": secs, "est_lut": est.lut, "est_accel_lut": est.accel_lut,
                 "est_bram18": est.bram18, "est_dsp": est.dsp, "est_fps": est.fps, "within_budget": rb.ok(est),
                 **({"hw": extra} if extra else {})}
            fres["rows"] = [o for o in fres["rows"] if (o["budget"], o["method"]) != (budget, rkey)] + [r]
            log(f"{tag} {method}: widths {r['widths']} w{wb} a{ab}: acc {r['acc_mean']:.4f} +- {r['acc_std']:.4f} "
                f"({len(done)} seeds), "
                f"est {est.lut:,.0f} LUT" + (f", synth {extra['synth']['LUT']} LUT {extra['synth']['BRAM18']} "
                                            f"BRAM18, rtlsim {extra['rtlsim_cycles_per_frame']} cycles/frame"
                                            if extra.get("synth") else ""))
        save_json(out / "results.json", res)
    ex.close()
    res["total_seconds"] = time.perf_counter() - t_all
    save_json(out / "results.json", res)
    (out / "results.md").write_text(markdown(res))
    print(markdown(res))
    log(f"done in {res['total_seconds'] / 60:.1f} min -> {out}")


def resource_budget(budget: float, args) -> ResourceBudget:
    return ResourceBudget(args.board, args.target_fps, lut=budget, dsp=args.dsp_limit, bram18=args.bram_limit,
                          flow="rtl")


def budget_tag(fam: str, budget: float, args) -> str:
    """The cache key of a (family, budget): what changes a row's result (data sizes, epochs, search knobs)."""
    return (f"{fam}_{budget:.0f}_n{args.limit or 'all'}_v{args.val}_t{args.test_limit or 'all'}_e{args.epochs}"
            f"_p{args.probe_epochs}c{args.cycles}x{args.proxy_epochs}_{args.sensitivity}_g{args.granularity}"
            + (f"_dsp{args.dsp_limit:g}" if args.dsp_limit is not None else "")
            + (f"_bram{args.bram_limit:g}" if args.bram_limit is not None else "")
            + (f"_base{args.base_width:g}" if args.base_width != 1.0 else ""))


def row_spec(method: str, base: ModelSpec, rb: ResourceBudget, tag: str, out: Path, train_set, val_set, cfg, args
             ) -> ModelSpec | None:
    """The spec a row trains (None for prune: its widths come from the trained base of each seed; a searched
    method's from its search, run before as a task and cached)."""
    if method in ("uniform", "distill"):
        return uniform_within(base, rb, granularity=args.granularity).spec
    if method == "prune":
        return None
    doc = load_json(out / "search" / f"{tag}_{method}.json")
    if doc is None:
        raise RuntimeError(f"internal: no search result {out / 'search' / f'{tag}_{method}.json'}")
    return ModelSpec(**doc["spec"])

def markdown(res: dict) -> str:
    a = res["args"]
    lines = []
    n_seeds = len(str(a["seeds"]).split(","))
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
                    f"{r['acc_mean']:.4f} ± {r['acc_std']:.4f}"
                    + (f" (seeds {r['seeds']} only)" if len(r.get("seeds", r["acc"])) < n_seeds else "")
                    + f" | {r['est_lut']:,.0f} / {r['est_accel_lut']:,.0f} | "
                    f"{r.get('est_dsp', 0):g} | {sy.get('LUT', '-')} | {sy.get('BRAM18', '-')} | "
                    f"{sy.get('DSP', '-')} | "
                    f"{hw.get('rtlsim_cycles_per_frame', '-')} | {d} |")
        lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
