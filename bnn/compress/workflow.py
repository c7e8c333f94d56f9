"""`bnn.compress.run`: a trained teacher and a dataset in, a jointly trained and verified family of students out.

The steps, each resumable from `out_dir`:
1. check everything that can be checked before training (board, target, bits, dataset file, teacher outputs);
2. choose the students' specs (`choose_students`: nested widths here; the hardware-aware search replaces it);
3. train them together as one weight-shared supernet (bnn.compress.supernet; a checkpoint per epoch), cut each
   out as an ordinary bnnc model and re-estimate its BatchNorm statistics; optional MorphNet/prune/low-rank
   students derived from the widest one;
4. build every student (bnn.compress.student_build: exact export, compile with verification, optional rtlsim and
   Yosys);
5. family.json, family.png, a table, and a deploy folder for the recommended student.
Every training item (the supernet, each separate or derived student, each search candidate) and every build is a
scaleout task (`train_item`, `build_student`): in this process by default, on a local process pool (--workers N) or
on a Ray cluster (--cluster ADDR), with the same results given the same --threads.
`bnnc compress` only parses options into a CompressConfig and calls `run`.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import signal
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

import numpy as np

from bnn.compress.items import (item_data, item_settings, item_task, load_data, remember_data, run_items,
                                torch_threads, train_config)
from bnn.compress.plan import (JOINT_MODES, METHODS, SEARCH_DIMS, CompressConfig, CompressError,
                               Context, StudentPlan)
from bnn.compress.family import Family, StudentEntry, plot_family, recommend, table
from bnn.compress.student_build import build_student, finished, write_json_atomic
from diagnostics.errors import BnncError

# ----------------------------------------------------------------------------------------------------------------


def _log_default(msg: str) -> None:
    from tqdm import tqdm

    tqdm.write(msg)


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM stops the run like Ctrl-C: the atomic checkpoints written so far are what a rerun continues from."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:            # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def check_config(cfg: CompressConfig) -> tuple[int | None, int | None]:
    """Everything checkable without data: returns the student's (weight, act) bits."""
    from boards.catalog import BoardError, get_board
    from bnn.quant import parse_bits
    from compiler.estimate.folding import FoldingError, parse_target

    try:
        get_board(cfg.board)
        parse_target(cfg.target_fps)
        wb, ab = parse_bits(cfg.bits)
    except (BoardError, FoldingError, ValueError) as e:
        raise CompressError(str(e)) from None
    bad = set(cfg.methods) - set(METHODS)
    if bad:
        raise CompressError(f"unknown method(s) {sorted(bad)}: choose from {', '.join(METHODS)}")
    if cfg.joint not in JOINT_MODES:
        raise CompressError(f"joint mode must be one of {', '.join(JOINT_MODES)}, got {cfg.joint!r}")
    if not cfg.widths or any(w <= 0 for w in cfg.widths):
        raise CompressError(f"widths must be positive, got {cfg.widths}")
    bad = set(cfg.search) - set(SEARCH_DIMS)
    if bad:
        raise CompressError(f"--search takes {','.join(SEARCH_DIMS)}; unknown {sorted(bad)}")
    if cfg.search and _search_module() is None:
        raise CompressError(f"--search {','.join(cfg.search)} is not available in this bnnc: the hardware-aware "
                            "search (bnn.compress.search) is not installed; leave --search out to train the "
                            "nested-width family")
    if cfg.search:
        _search_module().check_search_config(cfg)
    elif cfg.dsp_budget is not None or cfg.bram_budget is not None:
        raise CompressError("--dsp-budget and --bram-budget limit the searched student and its uniform baseline: "
                            "they need --search bits,width (the other students are sized by --widths and "
                            "--lut-budget)")
    if cfg.teacher is None:
        raise CompressError("a teacher is required (--teacher: an .onnx file, a bnnc checkpoint, a state dict with "
                            "--model-code, or a topology name to train one here)")
    if cfg.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise CompressError(f"--device {cfg.device}: this torch has no CUDA device ({torch.__version__})")
    return wb, ab


def _search_module():
    try:
        from bnn.compress import search   # provided by the hardware-aware search (issue 29)
    except ImportError:
        return None
    return search if hasattr(search, "choose_students") else None


def _teacher(cfg: CompressConfig, train_set, test_set, out_dir: Path, log) -> tuple[object, dict]:
    """The frozen teacher and its test accuracy (cached in out_dir/teacher.json)."""
    from bnn.compress.teacher import TeacherError, check_teacher, load_teacher
    from bnn.evaluate import evaluate
    from bnn.topologies import TOPOLOGIES, from_spec, make_spec
    from bnn.train import TrainConfig, TrainError, seed_everything, train

    c, h, _ = train_set.sample_shape
    k = train_set.data.num_classes
    try:
        if cfg.model_code is None and cfg.teacher.lower() in TOPOLOGIES:
            t_dir = out_dir / "teacher"
            t_spec = make_spec(cfg.teacher, None, None, in_channels=c, in_size=h, num_classes=k)
            seed_everything(cfg.seed)
            model = from_spec(t_spec)
            done = t_dir / "last.pt"
            if done.exists():
                from bnn.train import load_checkpoint

                ck = load_checkpoint(done)
                if ck["epoch"] >= cfg.teacher_epochs:
                    model.load_state_dict(ck["model_state"])
                    done = None
            if done is not None:
                log(f"training the float teacher {cfg.teacher} for {cfg.teacher_epochs} epochs (no trained model given)")
                train(model, train_set, test_set,
                      TrainConfig(epochs=cfg.teacher_epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed,
                                  progress=cfg.progress, device=cfg.device, out_dir=str(t_dir),
                                  resume=str(done) if done.exists() else None), model_spec=t_spec.to_dict())
            teacher = load_teacher(model.cpu())
            kind = f"float {cfg.teacher} trained here"
        else:
            teacher = load_teacher(cfg.teacher, cfg.model_code, cfg.teacher_input, device=cfg.device)
            kind = ("ONNX (onnxruntime)" if str(cfg.teacher).lower().endswith(".onnx")
                    else f"state dict + {cfg.model_code}" if cfg.model_code else "bnnc checkpoint")
        check_teacher(teacher, train_set[list(range(min(8, len(train_set))))][0], k, str(cfg.teacher))
    except (TeacherError, TrainError, ValueError) as e:
        raise CompressError(f"teacher: {e}") from None
    cache = out_dir / "teacher.json"
    info = None
    if cache.is_file():
        info = json.loads(cache.read_text())
        if info.get("source") != str(cfg.teacher):
            info = None
    if info is None:
        acc = evaluate(teacher, test_set).accuracy
        info = {"source": str(cfg.teacher), "kind": kind, "accuracy": acc,
                "accuracy_source": f"{kind} on the {len(test_set)}-sample test set"}
        write_json_atomic(cache, info)
    return teacher, info


def choose_students(ctx: Context) -> list[StudentPlan]:
    """The students' specs: nested width multipliers of one topology, or what the hardware-aware search picks.

    This is the one step the search (bnn.compress.search.choose_students(ctx)) replaces."""
    cfg = ctx.config
    if cfg.search:
        return list(_search_module().choose_students(ctx))
    return [StudentPlan(f"{cfg.student}-x{w:g}", ctx.make_spec(width=w)) for w in cfg.widths]


def layer_bits(spec) -> dict:
    """Per-layer bits of a spec: weights of every layer (hidden layers, then the classifier), activations of every
    hidden layer, and the input quantizer; per-layer lists when the spec carries them (layer_weight_bits /
    layer_act_bits), else the uniform bits repeated."""
    from bnn.topologies import hidden_widths

    n = len(hidden_widths(spec))
    wb = getattr(spec, "layer_weight_bits", None) or [spec.weight_bits] * (n + 1)
    ab = getattr(spec, "layer_act_bits", None) or [spec.act_bits] * n
    default_in = spec.act_bits if spec.name not in ("cnv", "mobilenet") else 8
    return {"weight": list(wb), "act": list(ab), "input": spec.input_bits or default_in}


# ----------------------------------------------------------------------------------------------------------------


def _ckpt_path(out_dir: Path, name: str) -> Path:
    return out_dir / "students" / name / "student.pt"


def _save(out_dir, name, model, spec_dict, train_set, metrics, tcfg, method, fit: dict | None = None) -> None:
    """The trained student's checkpoint, then trained.json (both atomic; `_trained` wants both)."""
    from bnn.compress.joint import save_student

    save_student(_ckpt_path(out_dir, name), model.cpu(), spec_dict, train_set, metrics, tcfg)
    doc = {"name": name, "method": method, "spec": spec_dict, "metrics": metrics}
    if fit is not None:
        doc["fit"] = fit
    write_json_atomic(out_dir / "students" / name / "trained.json", doc)


def _trained(out_dir: Path, name: str) -> dict | None:
    f = out_dir / "students" / name / "trained.json"
    try:
        return json.loads(f.read_text()) if _ckpt_path(out_dir, name).is_file() else None
    except (OSError, ValueError):
        return None


def train_item(job: dict) -> dict:
    """A scaleout task: one training item of the family, saved atomically as students/NAME/student.pt and
    trained.json (a rerun finds it there). Kinds: 'supernet' (every weight-shared student: one item by nature, its
    students share every weight and its epochs follow each other; resumable per epoch from supernet/last.pt),
    'separate' (one student alone), 'morphnet', 'prune', 'lowrank' (derived from the widest student)."""
    from bnn.compress.joint import DistillConfig
    from bnn.train import seed_everything

    with torch_threads(job["threads"]):
        cfg, train_set, test_set = item_data(job)
        out = Path(job["out_dir"])
        distill = DistillConfig(cfg.distill, cfg.temperature, cfg.alpha)
        teacher = _teacher(cfg, train_set, test_set, out, lambda m: None)[0] if distill.uses_teacher else None
        seed_everything(cfg.seed)      # a defined RNG state, whatever ran in this process before (in-process items)
        kind = {"supernet": _train_supernet_item, "separate": _train_separate_item, "morphnet": _train_morphnet_item,
                "prune": _train_prune_item, "lowrank": _train_lowrank_item}[job["kind"]]
        return kind(job, cfg, train_set, test_set, out, train_config(cfg), distill, teacher)


def _train_supernet_item(job, cfg, train_set, test_set, out, tcfg, distill, teacher) -> dict:
    from bnn.compress.joint import train_supernet
    from bnn.compress.supernet import Supernet
    from bnn.train import seed_everything

    seed_everything(cfg.seed)
    net = Supernet(job["specs"])
    r = train_supernet(net, train_set, test_set, tcfg, distill, teacher, mode=job["mode"],
                       checkpoint=out / "supernet" / "last.pt", names=job["names"])
    for name, s in zip(job["names"], r.students):
        _save(out, name, s.model, s.spec, train_set, s.metrics, tcfg, f"supernet-{job['mode']}")
    return {"seconds": r.seconds, "teacher_seconds": r.teacher_seconds, "resumed_epochs": r.resumed_from}


def _train_alone(name, spec, model, train_set, test_set, out, tcfg, distill, teacher, method, fit=None) -> dict:
    from bnn.compress.joint import Student, train_students

    res = train_students([Student(name, model, spec.to_dict())], train_set, test_set, tcfg, distill, teacher)
    s = res.students[0]
    _save(out, name, s.model, s.spec, train_set, s.metrics, tcfg, method, fit)
    return {"name": name, "seconds": res.seconds, "test_acc": s.test_acc}


def _train_separate_item(job, cfg, train_set, test_set, out, tcfg, distill, teacher) -> dict:
    from bnn.topologies import from_spec
    from bnn.train import seed_everything

    seed_everything(cfg.seed + job["index"])           # the student's place in the plan: the same on every rerun
    return _train_alone(job["name"], job["spec"], from_spec(job["spec"]), train_set, test_set, out, tcfg, distill,
                        teacher, "separate")


def _fit_doc(f, flow: str) -> dict:
    return {"widths": f.widths, "cost": f.cost, "met": f.met, "message": f.message, "flow": flow}


def _priced_for(trained: dict | None, flow: str) -> bool:
    """A derived student fitted to its budget with `flow`'s prices (students saved before the flow was recorded:
    the HLS templates'); --rtl changed on a rerun refits it."""
    return trained is not None and (trained.get("fit") or {}).get("flow", "hls") == flow


def _train_morphnet_item(job, cfg, train_set, test_set, out, tcfg, distill, teacher) -> dict:
    from bnn.compress.hwcost import channel_costs
    from bnn.compress.joint import Student, train_students
    from bnn.compress.morphnet import CostWeightedL1, shrink
    from bnn.topologies import from_spec
    from bnn.train import seed_everything

    base = job["base"]
    cc = channel_costs(base, cfg.board, cfg.target_fps, cfg.cost_metric, margin=cfg.margin, flow=cfg.flow)
    reg = CostWeightedL1(cc, cfg.strength)
    seed_everything(cfg.seed + 99)
    m = from_spec(base)
    train_students([Student("morph-reg", m, base.to_dict(), after_step=reg.prox)], train_set, None, tcfg, distill,
                   teacher)
    fit, final = shrink(m, base, job["budget"], cfg.board, cfg.target_fps, margin=cfg.margin, expand=cfg.expand,
                        granularity=cfg.granularity, flow=cfg.flow)
    seed_everything(cfg.seed + 7)
    r = _train_alone(job["name"], final.spec, from_spec(final.spec), train_set, test_set, out, tcfg, distill, teacher,
                     "morphnet", _fit_doc(final, cfg.flow))
    return {**r, "message": f"morphnet: {fit.message}; final widths {final.widths}"}


def _train_prune_item(job, cfg, train_set, test_set, out, tcfg, distill, teacher) -> dict:
    from bnn.compress.prune import prune_to_budget
    from bnn.train import model_from_checkpoint

    base = model_from_checkpoint(_ckpt_path(out, job["base_name"]))
    pfit, p_spec, p_model = prune_to_budget(base, job["base"], job["budget"], cfg.board, cfg.target_fps,
                                            margin=cfg.margin, granularity=cfg.granularity, flow=cfg.flow)
    r = _train_alone(job["name"], p_spec, p_model, train_set, test_set, out, tcfg, distill, teacher, "prune",
                     _fit_doc(pfit, cfg.flow))
    return {**r, "message": f"prune: {pfit.message}; widths {pfit.widths}"}


def _train_lowrank_item(job, cfg, train_set, test_set, out, tcfg, distill, teacher) -> dict:
    from bnn.compress.lowrank import factorize_fc
    from bnn.train import model_from_checkpoint

    base = model_from_checkpoint(_ckpt_path(out, job["base_name"]))
    l_spec, l_model = factorize_fc(base, job["base"], cfg.lowrank_layer, cfg.rank)
    return _train_alone(job["name"], l_spec, l_model, train_set, test_set, out, tcfg, distill, teacher, "lowrank")


def train_family(plans: list[StudentPlan], ctx: Context) -> dict:
    """Train the planned students (weight-shared when they nest, else each alone) as training items (train_item)
    through the run's executor; each is saved as it finishes. The supernet is one item; separate students are one
    item each, in parallel on a pool or a cluster. Returns {'seconds', 'mode', 'resumed_epochs', ...}; students
    already saved are not retrained."""
    from bnn.compress.supernet import Supernet

    cfg, out = ctx.config, ctx.out_dir
    todo = [p for p in plans if _trained(out, p.name) is None]
    info = {"mode": cfg.joint, "seconds": 0.0, "resumed_epochs": 0, "students": [p.name for p in plans]}
    if not todo:
        prev = out / "training.json"
        return json.loads(prev.read_text()) if prev.is_file() else info
    mode = cfg.joint
    if mode != "separate":
        try:
            Supernet([p.spec for p in plans])
        except ValueError as e:
            ctx.log(f"students cannot share one supernet ({e}); training each alone")
            mode = "separate"
    settings = item_settings(ctx)
    if mode != "separate":
        ctx.log(f"training {len(plans)} weight-shared students ({mode} batches) for {cfg.epochs} epochs on "
                f"{cfg.device}, one item; checkpoint {out / 'supernet' / 'last.pt'} after every epoch")
        job = {**settings, "kind": "supernet", "mode": mode, "specs": [p.spec for p in plans],
               "names": [p.name for p in plans]}
        r = run_items(ctx, [item_task("supernet", train_item, job)], "training students")["supernet"]
        info.update(seconds=r["seconds"], teacher_seconds=r["teacher_seconds"], resumed_epochs=r["resumed_epochs"],
                    mode=mode)
    else:
        index = {p.name: i for i, p in enumerate(plans)}
        ctx.log(f"training {len(todo)} students alone for {cfg.epochs} epochs on {cfg.device}, one item each")
        tasks = [item_task(p.name, train_item, {**settings, "kind": "separate", "name": p.name, "spec": p.spec,
                                                "index": index[p.name]}) for p in todo]
        done = run_items(ctx, tasks, "training students")
        for v in done.values():
            ctx.log(f"trained {v['name']} alone: test accuracy {v['test_acc']:.4f} ({v['seconds']:.1f}s)")
        info.update(seconds=sum(v["seconds"] for v in done.values()), mode="separate")
    write_json_atomic(out / "training.json", info)
    return info


DERIVED = ("morphnet", "prune", "lowrank")


def derived_students(ctx: Context, base: StudentPlan) -> dict:
    """MorphNet / prune / low-rank students from the widest one (as before the family existed): one training item
    each, in parallel on a pool or a cluster; each saved with its budget fit, so a rerun skips it."""
    from bnn.compress.hwcost import estimate_spec
    from bnn.topologies import ModelSpec

    cfg, out = ctx.config, ctx.out_dir
    base_spec = base.spec
    budget = cfg.lut_budget or estimate_spec(replace(base_spec, width=base_spec.width / 2), cfg.board,
                                             cfg.target_fps, cfg.margin, cfg.flow).lut
    names = {"morphnet": "morphnet", "prune": "prune", "lowrank": f"lowrank-r{cfg.rank}"}
    methods = [m for m in DERIVED if m in cfg.methods]
    settings = item_settings(ctx)
    tasks = [item_task(names[m], train_item, {**settings, "kind": m, "name": names[m], "base": base_spec,
                                              "base_name": base.name, "budget": budget})
             for m in methods if not _priced_for(_trained(out, names[m]), cfg.flow)]
    if tasks:
        for v in run_items(ctx, tasks, "training derived students").values():
            ctx.log(v.get("message") or f"trained {v['name']}: test accuracy {v['test_acc']:.4f}")
    plans, fits = [], {}
    for m in methods:
        tr = _trained(out, names[m])
        plans.append(StudentPlan(names[m], ModelSpec(**tr["spec"]), m))
        if tr.get("fit"):
            fits[m] = tr["fit"]
    return {"plans": plans, "budget": budget, "fits": fits}


def _build_all(jobs: list[dict], ctx: Context) -> dict[str, dict | str]:
    """Build every student through the run's executor (the output folder must be on a filesystem the workers
    share). A failed student is reported with its error; the others still build. Resume is build_student's own (a
    finished build.json)."""
    from scaleout import ExecutorError, Task

    tasks = [Task(j["name"], build_student, args=(j,), num_cpus=float(j.get("threads") or 1)) for j in jobs]
    try:
        done = ctx.executor.run(tasks, desc="building students")
    except ExecutorError as e:
        raise CompressError(str(e)) from None
    results: dict[str, dict | str] = {}
    for key, r in done.items():
        results[key] = r.value if r.ok else (r.error or "failed")
        ctx.log(f"built {key}: verified in {r.seconds:.1f}s" if r.ok else f"building {key} failed: {r.error}")
    return results


def open_executor(cfg: CompressConfig):
    """The run's scaleout executor: in this process by default, a local pool for --workers N, a Ray cluster for
    --cluster / RAY_ADDRESS (every item in flight at once unless --workers caps it). CompressError within seconds
    when the cluster cannot be reached."""
    from scaleout import ExecutorError, sweep_executor

    try:
        return sweep_executor(cfg.cluster, cfg.workers or None)
    except ExecutorError as e:
        raise CompressError(str(e)) from None


def _config_guard(cfg: CompressConfig, out_dir: Path) -> None:
    """A rerun with the same out_dir continues only if the students it trained would be the same (before anything
    was trained, e.g. after a wrong teacher path, the new settings simply replace the old)."""
    f = out_dir / "compress.json"
    key = cfg.training_key()
    if f.is_file():
        old = json.loads(f.read_text()).get("training_key")
        trained = (out_dir / "supernet" / "last.pt").exists() or any((out_dir / "students").glob("*/student.pt"))
        # an option a run predates reads as None there, the default of every option added since
        diff = sorted(k for k in set(old) | set(key) if old.get(k) != key.get(k)) if old is not None else []
        if diff and trained:
            raise CompressError(f"{out_dir} holds a compression run with other settings ({', '.join(diff)}); rerun "
                                "with the same options to continue it, or choose another -o")
    write_json_atomic(f, {"training_key": key, "config": cfg.to_dict()})


def run(cfg: CompressConfig, out_dir: str | Path, log: Callable[[str], None] | None = None) -> Family:
    """The whole workflow; rerun with the same `out_dir` to continue after an interruption. Raises CompressError
    (after writing family.json) when no student meets the target."""
    import torch

    from bnn.compress.joint import DistillConfig
    from bnn.topologies import hidden_widths, make_spec

    log = log or _log_default
    out_dir = Path(out_dir)
    wb, ab = check_config(cfg)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    train_set, test_set, te_raw = load_data(cfg)
    remember_data(cfg, train_set, test_set)      # what in-process training items load
    out_dir.mkdir(parents=True, exist_ok=True)
    _config_guard(cfg, out_dir)
    c, h, _ = train_set.sample_shape
    k = train_set.data.num_classes
    try:
        distill = DistillConfig(cfg.distill, cfg.temperature, cfg.alpha)
    except ValueError as e:
        raise CompressError(str(e)) from None

    def spec_of(**kw):
        return make_spec(cfg.student, wb, ab, in_channels=c, in_size=h, num_classes=k, input_bits=cfg.input_bits, **kw)

    executor = open_executor(cfg)
    with executor, _sigterm_as_interrupt():
        teacher, t_info = _teacher(cfg, train_set, test_set, out_dir, log)
        log(f"teacher ({t_info['kind']}): test accuracy {t_info['accuracy']:.4f}")
        ctx = Context(cfg, train_set, test_set, teacher, (c, h, h), k, out_dir, log, spec_of, executor)
        plans = choose_students(ctx)
        training = train_family(plans, ctx)
        derived = {"plans": [], "budget": cfg.lut_budget, "fits": {}}
        if set(cfg.methods) & set(DERIVED):
            widest = max(plans, key=lambda p: sum(hidden_widths(p.spec)))
            derived = derived_students(ctx, widest)
        all_plans = plans + derived["plans"]

        # build every student (exact export, compile --verify, rtlsim, synth)
        n_ver = len(test_set) if cfg.verify_samples in (0, None) else min(cfg.verify_samples, len(test_set))
        x_ver = test_set[list(range(n_ver))][0].numpy()
        ver_file = out_dir / "verify_inputs.npy"
        if not ver_file.is_file() or np.load(ver_file).shape != x_ver.shape:
            tmp = out_dir / ".verify_inputs.tmp.npy"
            np.save(tmp, x_ver)
            tmp.replace(ver_file)
        jobs = []
        for p in all_plans:
            folder = out_dir / "students" / p.name
            prev = finished(folder)
            if prev is not None and _stale(prev, cfg, n_ver):
                (folder / "build.json").unlink()
            jobs.append({"name": p.name, "checkpoint": str(_ckpt_path(out_dir, p.name)), "folder": str(folder),
                         "verify_inputs": str(ver_file), "board": cfg.board, "target_fps": cfg.target_fps,
                         "margin": cfg.margin, "rtl": cfg.rtl, "synth": cfg.synth, "rtl_frames": cfg.rtl_frames,
                         "threads": cfg.threads or 1})
        built = _build_all(jobs, ctx)

        entries = []
        for p in all_plans:
            tr = _trained(out_dir, p.name)
            acc = tr["metrics"][-1]["test_acc"]
            b = built.get(p.name)
            e = StudentEntry(p.name, tr["method"], hidden_widths(p.spec), layer_bits(p.spec),
                             {"value": acc, "n": len(test_set),
                              "source": f"PyTorch, the cut-out student after BatchNorm recalibration, on the "
                                        f"{len(test_set)}-sample test set of {cfg.dataset}"},
                             str(_ckpt_path(out_dir, p.name)))
            if isinstance(b, dict):
                for key in ("build", "onnx", "estimate", "rtlsim", "synth", "verify", "export_check"):
                    setattr(e, key, b.get(key))
            else:
                e.error = str(b)
            entries.append(e)
        fam = Family(entries, str(out_dir), t_info, cfg.board, cfg.target_fps,
                     training={**training, "epochs": cfg.epochs, "batch_size": cfg.batch_size,
                               "distill": asdict(distill)},
                     dataset={"name": cfg.dataset, "train_size": len(train_set), "test_size": len(test_set),
                              "num_classes": k, "sample_shape": [c, h, h], "verify_inputs": n_ver},
                     config=json.loads(json.dumps(cfg.to_dict())))
        best = recommend(entries)
        fam.recommended = best.name if best else None
        plot_family(fam, out_dir / "family.png")
        if best is not None and cfg.deploy:
            fam.deploy = _deploy(best, te_raw, out_dir, cfg, log)
        fam.save()
        _legacy_summary(fam, derived, out_dir, cfg)
    log(table(fam))
    if best is None:
        raise CompressError(f"no student meets {cfg.target_fps} FPS on {cfg.board}; see {out_dir / 'family.json'}")
    return fam


def _stale(prev: dict, cfg: CompressConfig, n_ver: int) -> bool:
    """A finished build made for other hardware settings is redone."""
    est = prev.get("estimate") or {}
    return (prev.get("verify", {}).get("dataset_inputs") != n_ver or (cfg.rtl and not prev.get("rtlsim"))
            or (cfg.synth and not prev.get("synth")) or est.get("flow") != cfg.flow
            or prev.get("board") != cfg.board or prev.get("target_fps") != cfg.target_fps
            or prev.get("margin") != cfg.margin)


def _deploy(best: StudentEntry, te_raw, out_dir: Path, cfg: CompressConfig, log) -> str | None:
    from compiler.workflow.deploy import assemble_deploy

    dest = out_dir / "deploy" / best.name
    try:
        assemble_deploy(best.build, dest, cfg.board, samples=16,
                        load_samples=lambda _name, n: (te_raw.images[:n], te_raw.labels[:n]), force=False)
    except BnncError as e:
        log(f"no deploy folder for {best.name}: {e}")
        return None
    for old in (out_dir / "deploy").iterdir():
        if old.is_dir() and old.name != best.name:
            shutil.rmtree(old, ignore_errors=True)
    log(f"deploy folder for the recommended student {best.name}: {dest} (run it with `bnnc run {dest}`)")
    return str(dest)


def _legacy_summary(fam: Family, derived: dict, out_dir: Path, cfg: CompressConfig) -> None:
    """summary.json and pareto.png in the layout `bnnc compress` wrote before family.json (scripts read them)."""
    from bnn.compress.pareto import pareto_front, plot_pareto

    rows = []
    for s in fam.students:
        est = s.estimate or {}
        rows.append({"name": s.name, "method": s.method, "widths": s.widths, "accuracy": s.accuracy["value"],
                     "lut": est.get("lut") or 0.0, "bram18": est.get("bram18"), "fps": est.get("fps") or 0.0,
                     "met": s.met, "checkpoint": s.checkpoint, "build": s.build, "error": s.error})
    best = fam.by_name().get(fam.recommended) if fam.recommended else None
    summary = {"teacher": fam.teacher, "board": fam.board, "target_fps": fam.target_fps,
               "lut_budget": derived.get("budget"), "distill": fam.training.get("distill"), "students": rows,
               "budget_fits": derived.get("fits", {}), "pareto": [r["name"] for r in pareto_front(rows)],
               "chosen": fam.recommended, "chosen_onnx": best.onnx if best else None,
               "chosen_build": best.build if best else None, "family": str(out_dir / "family.json")}
    plot_pareto(rows, out_dir / "pareto.png", f"{cfg.student} {cfg.bits} on {cfg.board} @ {cfg.target_fps} FPS",
                budget=derived.get("budget"))
    write_json_atomic(out_dir / "summary.json", summary)
