"""One row of benchmarks/compression_fmnist.py (a method x budget x seed training and evaluation, and the seed-0
hardware run), as a module-level task that scaleout's workers can import: a spawned pool worker gets the driver's
sys.path (this folder included), a Ray worker the driver script's folder. A worker loads the data itself (cached
per process) and seeds its own training, so a row is the same in-process, in a pool and on Ray."""
from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bnn.compress.budget import ResourceBudget  # noqa: E402
from bnn.compress.joint import DistillConfig, Student, train_students  # noqa: E402
from bnn.compress.prune import prune_to_budget  # noqa: E402
from bnn.datasets import ImageData, load_dataset  # noqa: E402
from bnn.loader import ImageDataset  # noqa: E402
from bnn.preprocess import preprocess_for  # noqa: E402
from bnn.topologies import ModelSpec, from_spec, make_spec  # noqa: E402
from bnn.train import TrainConfig, seed_everything  # noqa: E402

BNNC = str(Path(sys.executable).with_name("bnnc"))
# student base, float teacher; cnn: CNV on 32x32-padded images; cnn28: CNV for 28x28 (docs/accuracy.md), which
# with --base-width < 1 is a CNN family that trains here in minutes per epoch instead of hours
FAMILIES = {"mlp": ("sfc", "lfc"), "cnn": ("cnv", "cnv"), "cnn28": ("cnv28", "cnv28")}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

def _split(data: ImageData, n_val: int) -> tuple[ImageData, ImageData]:
    """(train, validation): the last n_val images of the training split are held out for the search's proxy."""
    k = len(data) - n_val
    cut = lambda a, b: ImageData(data.images[a:b], data.labels[a:b], data.name, data.split, data.source,  # noqa: E731
                                 data.num_classes)
    return cut(0, k), cut(k, len(data))

def load_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def save_json(path: Path, doc) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(path)

@functools.lru_cache(maxsize=2)
def family_data(fam: str, data_root: str | None, limit: int | None, n_val: int, test_limit: int | None):
    """(train, validation, test) ImageDatasets of a family and the 64 test images its hardware run verifies on; cached
    per process, so in-process rows reuse the driver's copy and a pool worker loads it once."""
    student = FAMILIES[fam][0]
    full_train = load_dataset("fashion-mnist", data_root, "train").subset(None if limit is None else limit + n_val)
    tr_data, val_data = _split(full_train, n_val)
    te_data = load_dataset("fashion-mnist", data_root, "test").subset(test_limit)
    pre = preprocess_for(student, tr_data.shape)
    train_set, val_set, test_set = (ImageDataset(d, pre) for d in (tr_data, val_data, te_data))
    return train_set, val_set, test_set, test_set[list(range(64))][0].numpy()


def row_task(fam: str, method: str, spec: ModelSpec | None, base: ModelSpec, rb: ResourceBudget, cfg: TrainConfig,
             seed: int, args: dict, row_path: str, hw_folder: str | None, teacher_tag: str | None) -> dict:
    """Train and evaluate one row for one seed, write it to row_path (the benchmark's cache), and with hw_folder run
    the hardware steps on this model (seed 0's). Returns the row."""
    a = argparse.Namespace(**args)
    torch.set_num_threads(a.threads)
    train_set, _, test_set, x_verify = family_data(fam, a.data_root, a.limit, a.val, a.test_limit)
    teacher = None
    if teacher_tag is not None:       # the driver trained and saved it: this loads OUT/teacher_<tag>.pt
        c, h = train_set.sample_shape[0], train_set.sample_shape[1]
        teacher = get_teacher(Path(a.out), teacher_tag, FAMILIES[fam][1], c, h, train_set, test_set, a)[0]
    model, s_spec, secs = train_row(method, spec, base, rb, train_set, test_set, cfg, seed, a, teacher)
    row = {"test_acc": evaluate_acc(model, test_set), "seconds": secs, "spec": s_spec.to_dict()}
    save_json(Path(row_path), row)
    if hw_folder is not None:
        hardware(model, s_spec, Path(hw_folder), x_verify, a.board, a.target_fps, a.frames, not a.no_synth)
    return row


#: the search dimensions of the benchmark's searched methods
SEARCH_DIMS = {"morphnet": ("width",), "bits": ("bits",), "search": ("bits", "width")}


def search_task(fam: str, method: str, base: ModelSpec, rb: ResourceBudget, cfg: TrainConfig, args: dict,
                path: str) -> dict:
    """One (family, budget, method) search (seed 0) as a scaleout task: data loaded here (cached per process), the
    search's document written to `path` (the benchmark's cache) when it finishes. Searches of other budgets and
    methods are independent of each other; the search seeds its own probe runs, candidates and sensitivity."""
    from bnn.compress.search import SearchConfig, search

    a = argparse.Namespace(**args)
    torch.set_num_threads(a.threads)
    train_set, val_set, _, _ = family_data(fam, a.data_root, a.limit, a.val, a.test_limit)
    sc = SearchConfig(search=SEARCH_DIMS[method], sensitivity=a.sensitivity, probe_epochs=a.probe_epochs,
                      cycles=a.cycles, strength=a.strength, granularity=a.granularity, proxy_epochs=a.proxy_epochs)
    tag = Path(path).stem
    t0 = time.perf_counter()
    r = search(base, rb, train_set, val_set, cfg, sc, log=lambda m: log(f"{tag}: {m}"))
    doc = r.as_dict()
    doc["wall_seconds"] = time.perf_counter() - t0
    save_json(Path(path), doc)
    return {"spec": doc["spec"], "wall_seconds": doc["wall_seconds"]}


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
    done = load_json(folder / "hw.json")
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
    save_json(folder / "hw.json", out)
    return out

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
