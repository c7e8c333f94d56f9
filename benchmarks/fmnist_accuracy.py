"""Accuracy on full Fashion-MNIST through the hardware path: one row per model and bit widths.

For every row: train with a named recipe (bnn.train_choices.RECIPES), export to QONNX (checked against Brevitas),
compile with --verify and fold for Pynq-Z2 at the highest FPS that fits (HLS flow, and the RTL flow's own estimate),
then classify the whole test set with PyTorch and with the bit-accurate simulator (predictions must be identical).
Optional: Yosys synthesis of the RTL flow's design (--synth, slow), and the whole test set through the Verilog in
Verilator (--rtlsim ROW ..., slower), whose predictions must be identical to the simulator's.

Every figure says what produced it; accuracy is the final epoch's (no epoch is chosen on the test set). Finished
rows are cached in --out/rows.json and training resumes from its last.pt, so an interrupted run continues.

Parallel: every row (with the optional columns asked for) is a scaleout task (`row_task`): `--workers N` runs N at
once in a local process pool, `--cluster ADDRESS` (or RAY_ADDRESS) runs them as Ray tasks of --threads CPUs (one GPU
with --device cuda) on a cluster whose nodes share --out and this checkout. Default: in this process, as before.
Each finished row is written to --out/items/ as it completes (then merged into rows.json); a rerun skips it.

    .venv/bin/python benchmarks/fmnist_accuracy.py --rows lfc:w1a1 cnv28:w1a1:0.5 cnv28:w2a2:0.5 --epochs 10 \\
        --recipe improved --out runs/fmnist_accuracy --rtlsim lfc:w1a1

The old form (one --model, several --bits, the float twin as reference) still works:

    .venv/bin/python benchmarks/fmnist_accuracy.py --model lfc --bits w1a1 w1a1-in8 float --epochs 20
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bnn.datasets import load_dataset, preprocess_for  # noqa: E402
from bnn.loader import ImageDataset  # noqa: E402
from bnn.evaluate import predict  # noqa: E402
from bnn.quant import parse_bits  # noqa: E402
from bnn.topologies import CNV_INPUT_BITS, from_spec, make_spec  # noqa: E402
from bnn.train import TrainConfig, load_checkpoint, model_from_checkpoint, seed_everything, train  # noqa: E402
from bnn.train_choices import RECIPES, augment_for  # noqa: E402

from _sweep_options import add_executor_options, executor_for_args  # noqa: E402  (this folder is on sys.path)

BOARD = "pynq-z2"


@dataclass(frozen=True)
class Row:
    """MODEL:BITS[:WIDTH[:EPOCHS]], BITS like w1a1, w2a2, float, or w1a1-in8 (input quantizer width)."""

    model: str
    bits: str
    width: float
    epochs: int
    input_bits: int | None

    @classmethod
    def parse(cls, text: str, epochs: int) -> "Row":
        parts = text.split(":")
        if not 2 <= len(parts) <= 4:
            raise ValueError(f"row {text!r}: expected MODEL:BITS[:WIDTH[:EPOCHS]]")
        bits, _, inp = parts[1].partition("-in")
        parse_bits(bits)
        default_in = None if bits == "float" else (CNV_INPUT_BITS if parts[0].startswith("cnv") else 8)
        return cls(parts[0].lower(), bits, float(parts[2]) if len(parts) > 2 else 1.0,
                   int(parts[3]) if len(parts) > 3 else epochs, int(inp) if inp else default_in)

    @property
    def name(self) -> str:
        s = f"{self.model}-{self.bits}" + (f"-in{self.input_bits}" if self.input_bits else "")
        return s + ("" if self.width == 1.0 else f"-x{self.width:g}")


def train_row(row: Row, args, recipe: dict, train_set, run_dir: Path) -> tuple[Path, float, dict]:
    """Train (or resume, or reuse) the row's model; returns (last.pt, training seconds over all sessions, spec)."""
    wb, ab = parse_bits(row.bits)
    seed_everything(args.seed)
    spec = make_spec(row.model, wb, ab, width=row.width, in_channels=train_set.sample_shape[0],
                     in_size=train_set.sample_shape[1], input_bits=row.input_bits,
                     dropout=recipe.get("dropout", 0.0) if row.model in ("tfc", "sfc", "lfc") else 0.0)
    model = from_spec(spec)
    train_kw = {k: v for k, v in recipe.items() if k not in ("dropout", "augment")}
    if recipe.get("augment"):
        train_kw.update(augment_for(args.dataset, train_set.sample_shape[1]))
    train_kw["warmup_epochs"] = min(train_kw.get("warmup_epochs", 0), row.epochs - 1)
    last = run_dir / "last.pt"
    done = int(load_checkpoint(last)["epoch"]) if last.exists() else 0
    if done < row.epochs:
        cfg = TrainConfig(epochs=row.epochs, seed=args.seed, out_dir=str(run_dir), device=args.device,
                          resume=str(last) if done else None, **train_kw)
        # no per-epoch test evaluation: the test set is looked at once, after the last epoch
        train(model, train_set, None, cfg, model_spec=spec.to_dict())
    seconds = sum(m["seconds"] for m in load_checkpoint(last)["metrics"])
    return last, seconds, {**spec.to_dict(), "train": train_kw}


def hardware(onnx: Path, x_verify: np.ndarray, out: Path, flow: str):
    """Compile with --verify (real test images + random), folded for Pynq-Z2 at max FPS; returns the Build."""
    from compiler.workflow.config import BuildConfig
    from compiler.workflow.pipeline import build

    return build(onnx, BuildConfig(board=BOARD, verify=True, num_random=64, target_fps="max", flow=flow, name=out.name),
                 out, verify_inputs=x_verify, force=True)


def synth_lut(build_dir: Path) -> dict:
    """Yosys synth_xilinx of the RTL flow's Verilog for Pynq-Z2's family (post-synthesis, no place and route)."""
    from compiler.workflow.rtl_runs import synth_build

    doc = synth_build(build_dir, BOARD)
    return {"lut": doc["total"]["LUT"], "seconds": doc["seconds"], "tool": doc["tool"]}


def rtlsim_test_set(build_dir: Path, x: np.ndarray, labels: np.ndarray, sim_pred: np.ndarray, chunk: int) -> dict:
    """Every test image through the Verilog in Verilator (chunks of `chunk` frames); outputs compared element by
    element with the simulator's, and the RTL's own predictions scored."""
    from tqdm import tqdm

    from compiler.backends.rtl import verilator
    from compiler.backends.rtl.project import generate_rtl
    from compiler.workflow.builds import load_build
    from compiler.sim.hostops import run_post, run_pre

    graph = load_build(build_dir)
    project = generate_rtl(graph, build_dir / "rtl")
    _, build_s, _ = verilator.build(project, verilator.default_jobs())
    ints = run_pre(graph.input, x)
    preds, mismatches, cycles, t0 = [], 0, 0, time.perf_counter()
    for s in tqdm(range(0, len(ints), chunk), desc=f"rtlsim {build_dir.name}", unit="chunk"):
        part = ints[s : s + chunk]
        got, stats = verilator.run(project, part)
        rep = verilator.compare(graph, part, got, stats, build_s, True, 0.0)
        mismatches += rep.mismatches
        cycles += rep.total_cycles
        preds.append(run_post(graph.output, got).reshape(len(part), -1).argmax(axis=1))
    pred = np.concatenate(preds)
    return {"frames": len(pred), "mismatched_elements": int(mismatches), "acc": float((pred == labels).mean()),
            "pred_differs_from_sim": int((pred != sim_pred).sum()), "cycles": int(cycles),
            "build_s": round(build_s, 1), "run_s": round(time.perf_counter() - t0, 1)}


def run_row(row: Row, args, recipe: dict, train_set, test_set, test_data) -> dict:
    from bnnc.export import run_export
    from compiler.ir.graph import DataflowGraph
    from compiler.sim.simulate import simulate

    run_dir = args.out / f"{row.name}-e{row.epochs}"
    ckpt, train_s, spec = train_row(row, args, recipe, train_set, run_dir)
    model = model_from_checkpoint(ckpt)
    torch_pred = predict(model, test_set).argmax(dim=1).numpy()
    labels = test_data.labels
    r = {"row": row.name, "dir": str(run_dir), "model": row.model, "bits": row.bits, "input_bits": row.input_bits,
         "width": row.width,
         "epochs": row.epochs, "recipe": args.recipe, "spec": spec, "train_images": len(train_set),
         "train_s": round(train_s, 1), "torch_acc": float((torch_pred == labels).mean()), "test_images": len(labels)}
    if row.bits == "float":
        return r
    onnx = run_export(ckpt, run_dir / "model.onnx", check_n=256)
    x = test_set.preprocess.apply(test_data.images)
    for flow in ("hls", "rtl"):
        res = hardware(onnx, x[:1000], run_dir / f"dataflow-{flow}", flow)
        v = res.graph.meta["verify"]
        r[f"{flow}_verify_mismatches"] = v["output_mismatches"]
        r[f"{flow}_fps_est"], r[f"{flow}_lut_est"] = res.report["fps"], res.report["total"]["lut"]
        r[f"{flow}_fits"] = res.report["fits"]
    g = DataflowGraph.load(run_dir / "dataflow-hls")
    t0 = time.perf_counter()
    sim = simulate(g, x)
    r["sim_s"] = round(time.perf_counter() - t0, 1)
    sim_pred = sim.argmax(axis=1)
    r["sim_acc"] = float((sim_pred == labels).mean())
    r["pred_differ"] = int((sim_pred != torch_pred).sum())
    np.save(run_dir / "sim_pred.npy", sim_pred)
    return r


def extras(r: dict, args, test_set, test_data) -> None:
    """The slow, optional columns, added to a cached row when asked for and missing."""
    run_dir = Path(r.get("dir") or args.out / f"{r['row']}-e{r['epochs']}")
    if r["bits"] == "float":
        return
    if args.synth and "synth_lut" not in r:
        s = synth_lut(run_dir / "dataflow-rtl")
        r["synth_lut"], r["synth_s"] = s["lut"], s["seconds"]
    if r["row"] in args.rtlsim and "rtlsim" not in r:
        x = test_set.preprocess.apply(test_data.images)
        r["rtlsim"] = rtlsim_test_set(run_dir / "dataflow-rtl", x, test_data.labels,
                                      np.load(run_dir / "sim_pred.npy"), args.rtlsim_chunk)


def needs_extras(r: dict, args) -> bool:
    """Whether a cached row still lacks an optional column asked for."""
    return r["bits"] != "float" and ((args.synth and "synth_lut" not in r)
                                     or (r["row"] in args.rtlsim and "rtlsim" not in r))


@functools.lru_cache(maxsize=1)
def splits(dataset: str, limit: int | None):
    """(train, test) ImageData, loaded once per process (a pool or Ray worker runs several rows)."""
    return load_dataset(dataset, split="train").subset(limit), load_dataset(dataset, split="test")


def row_task(row: dict, args: dict, prev: dict | None) -> dict:
    """One row as a scaleout task: trained, exported, compiled and simulated (unless `prev`, the cached row, already
    has that), then the optional columns asked for. Data are loaded here and torch's threads set from --threads, so
    a row is the same in this process, in a pool worker and in a Ray worker."""
    a = argparse.Namespace(**args)
    torch.set_num_threads(a.threads)
    r_ = Row(**row)
    tr, te = splits(a.dataset, a.limit)
    pre = preprocess_for(r_.model, tr.shape)
    train_set, test_set = ImageDataset(tr, pre), ImageDataset(te, pre)
    if prev is None:
        print(f"== {r_.name}: {r_.epochs} epochs, recipe {a.recipe}", flush=True)
        r = run_row(r_, a, RECIPES[a.recipe], train_set, test_set, te)
    else:
        r = dict(prev)
    extras(r, a, test_set, te)
    return r


def pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def table(rows: list[dict], args) -> str:
    recipe = RECIPES[args.recipe]
    lines = [f"Fashion-MNIST ({rows[0]['train_images'] if rows else '?'} training images, all "
             f"{rows[0]['test_images'] if rows else '?'} test images), recipe '{args.recipe}' {recipe}, seed "
             f"{args.seed}, on this machine ({os.cpu_count()} cores, torch threads {torch.get_num_threads()}). "
             "Accuracy after the last epoch. FPS and LUT: estimates (bnnc cost model) for Pynq-Z2 at the fastest "
             "folding that fits; synth LUT: Yosys synth_xilinx of the RTL flow's Verilog (no place and route).", "",
             "| model | epochs | train time | PyTorch acc | simulator acc | predictions differ | "
             "est. FPS (HLS) | est. LUT (HLS) | est. FPS (RTL) | est. LUT (RTL) | synth LUT (RTL, Yosys) | "
             "rtlsim acc (Verilator, all test images) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        hw = r["bits"] != "float"
        rt = r.get("rtlsim")
        rts = "-" if rt is None else (f"{pct(rt['acc'])} ({rt['frames']} images, {rt['mismatched_elements']} "
                                      f"mismatched outputs, predictions differ from simulator on "
                                      f"{rt['pred_differs_from_sim']})")
        est = (f"{r['hls_fps_est']:,.0f} | {r['hls_lut_est']:,} | {r['rtl_fps_est']:,.0f} | {r['rtl_lut_est']:,}"
               if hw else "- | - | - | -")
        synth = f"{r['synth_lut']:,}" if r.get("synth_lut") is not None else "-"
        lines.append(f"| {r['row']} | {r['epochs']} | {r['train_s'] / 60:.1f} min | {pct(r['torch_acc'])} | "
                     f"{pct(r.get('sim_acc'))} | {r.get('pred_differ', '-')} | {est} | {synth} | {rts} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", nargs="+", default=None, help="MODEL:BITS[:WIDTH[:EPOCHS]], e.g. lfc:w1a1 cnv28:w2a2:0.5")
    p.add_argument("--model", default="lfc", help="(old form) the model of every --bits row")
    p.add_argument("--bits", nargs="+", default=None, help="(old form) wXaY, float, or wXaY-inB")
    p.add_argument("--recipe", default="improved", choices=sorted(RECIPES))
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="first N training images only (smoke runs)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--synth", action="store_true", help="Yosys synthesis of every row's RTL design (slow)")
    p.add_argument("--rtlsim", nargs="*", default=[], metavar="ROW",
                   help="rows (as named in the table, e.g. lfc-w1a1-in8) whose whole test set runs through Verilator")
    p.add_argument("--rtlsim-chunk", type=int, default=1000)
    p.add_argument("--out", type=Path, default=Path("runs/fmnist_accuracy"))
    add_executor_options(p)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    specs = args.rows or [f"{args.model}:{b}" for b in (args.bits or ["w1a1"])]
    try:
        rows = [Row.parse(s, args.epochs) for s in specs]
    except ValueError as e:
        p.error(str(e))
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / "rows.json"
    done = json.loads(cache.read_text()) if cache.exists() else {}

    # the rows' work by this module's name, not __main__'s: a pool or Ray worker imports it from this folder
    import fmnist_accuracy as this
    from scaleout import Task
    from scaleout.store import write_atomic

    tr, _ = this.splits(args.dataset, args.limit)
    keys = {row: f"{row.name}|{row.epochs}|{args.recipe}|{len(tr)}|{args.seed}" for row in rows}
    tasks = []
    for row in rows:
        prev = done.get(keys[row])
        if prev is None or needs_extras(prev, args):
            item = (f"{row.name}-e{row.epochs}-{args.recipe}-n{len(tr)}-s{args.seed}" + ("-synth" if args.synth else "")
                    + ("-rtlsim" if row.name in args.rtlsim else ""))
            tasks.append((row, Task(item, this.row_task, (asdict(row), vars(args), prev), num_cpus=float(args.threads),
                                    num_gpus=1.0 if args.device.startswith("cuda") else 0.0)))
    failed = {}
    if tasks:
        with executor_for_args(args) as ex:
            print(f"{len(tasks)} rows on the {ex.describe()}", flush=True)
            res = ex.run([t for _, t in tasks], out_dir=args.out / "items", desc="accuracy rows")
        for row, t in tasks:
            r = res[t.key]
            if r.ok:
                done[keys[row]] = r.value
            else:
                failed[row.name] = r.error
        write_atomic(cache, json.dumps(done, indent=1))
    results = [done[keys[row]] for row in rows if keys[row] in done]
    text = table(results, args)
    print(text)
    write_atomic(args.out / "results.md", text + "\n")
    if failed:
        raise SystemExit(f"{len(failed)} rows failed (finished rows kept in {args.out}; rerun to resume): "
                         + "; ".join(f"{k}: {e}" for k, e in failed.items()))


if __name__ == "__main__":
    main()
