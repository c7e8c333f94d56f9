"""Train one or several students in one run against a frozen teacher whose forward pass runs once per batch.

Learn2Compress trains students of several sizes jointly so that the expensive part -- the teacher's forward
pass -- is shared. Every student here sees the same batches in the same order and has its own optimizer; with
`teacher=None` (or kind 'none') the same loop is plain cross-entropy training, which is what makes "distilled
vs not distilled" a same-recipe comparison.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from bnn.compress.hooks import FeatureTap, last_module, last_weighted
from bnn.compress.losses import KINDS, FeatureHint, response_loss
from bnn.evaluate import evaluate
from bnn.loader import ImageDataset, make_loader
from bnn.train import (TrainConfig, TrainError, checkpoint_header, lr_factor, make_optimizer, save_checkpoint,
                       seed_everything)


@dataclass
class DistillConfig:
    """Which distillation loss: 'none' (labels only), 'response' (soft targets), 'feature' (hint), 'both'."""

    kind: str = "response"
    temperature: float = 4.0
    alpha: float = 0.9           # weight of the soft-target term (the rest goes to hard-label CE)
    hint_weight: float = 1.0     # weight of the feature hint (kinds 'feature' and 'both')
    teacher_layer: str | None = None   # teacher module whose INPUT is the hint target (default: its last linear/conv)
    student_layer: str | None = None   # student module whose OUTPUT is hinted (default: its last BatchNorm)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"distillation kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def uses_teacher(self) -> bool:
        return self.kind != "none"


@dataclass
class Student:
    name: str
    model: nn.Module
    spec: dict | None = None                                        # ModelSpec.to_dict(), kept with the result
    extra_loss: Callable[[nn.Module], torch.Tensor] | None = None   # added to the loss
    after_step: Callable[[nn.Module, float], None] | None = None    # (model, lr) after each step: MorphNet's prox


@dataclass
class StudentResult:
    name: str
    model: nn.Module
    spec: dict | None
    metrics: list[dict] = field(default_factory=list)   # per epoch: train_loss, test_acc, ...

    @property
    def test_acc(self) -> float | None:
        return self.metrics[-1]["test_acc"] if self.metrics else None


@dataclass
class JointResult:
    students: list[StudentResult]
    seconds: float                 # wall time of the whole training loop (no evaluation)
    teacher_seconds: float         # of which the teacher's forward passes
    teacher_calls: int
    cpu_seconds: float = 0.0       # process CPU time of the training loop (robust to other load on the machine)

    def by_name(self) -> dict[str, StudentResult]:
        return {s.name: s for s in self.students}


def train_students(students: list[Student], train_set: ImageDataset, test_set: ImageDataset | None,
                   config: TrainConfig, distill: DistillConfig | None = None,
                   teacher: nn.Module | None = None) -> JointResult:
    """Train `students` in place, each on every batch, computing the teacher's outputs once per batch."""
    config.validate()
    distill = distill or DistillConfig(kind="none")
    if not students:
        raise TrainError("no students to train")
    if len({s.name for s in students}) != len(students):
        raise TrainError("student names must be unique")
    use_teacher = distill.uses_teacher and teacher is not None
    if distill.uses_teacher and teacher is None:
        raise TrainError(f"distillation kind {distill.kind!r} needs a teacher")
    hinted = use_teacher and distill.kind in ("feature", "both")
    in_shape = tuple(train_set.sample_shape)
    device = torch.device(config.device)
    for s in students:
        s.model.to(device)
    if use_teacher and any(True for _ in teacher.parameters()):
        teacher.to(device)

    t_tap = None
    if use_teacher:
        teacher.eval()
        if hinted:
            t_tap = FeatureTap(teacher, distill.teacher_layer or last_weighted(teacher), side="in")
    taps: dict[str, FeatureTap] = {}
    hints: dict[str, FeatureHint] = {}
    opts: dict[str, torch.optim.Optimizer] = {}
    for s in students:
        opts[s.name] = make_optimizer(s.model, config)
        if hinted:
            taps[s.name] = FeatureTap(s.model, distill.student_layer or last_module(s.model, nn.modules.batchnorm._BatchNorm))

    def make_hints(t_dim: int) -> None:
        """Adapters are created at the first batch, once the teacher's feature width is known (no extra teacher
        call), and join each student's optimizer."""
        for s in students:
            hints[s.name] = FeatureHint(taps[s.name].dim(s.model, in_shape), t_dim).to(device)
            opts[s.name].add_param_group({"params": list(hints[s.name].parameters())})

    gen = torch.Generator()
    seed_everything(config.seed)
    gen.manual_seed(config.seed)
    loader = make_loader(train_set, config.batch_size, shuffle=True, generator=gen, num_workers=config.num_workers)
    results = {s.name: StudentResult(s.name, s.model, s.spec) for s in students}
    seconds = teacher_seconds = cpu_seconds = 0.0
    calls = 0
    try:
        for epoch in range(config.epochs):
            lr = config.lr * lr_factor(epoch, config)
            for opt in opts.values():
                for g in opt.param_groups:
                    g["lr"] = lr
            for s in students:
                s.model.train()
            sums = {s.name: [0.0, 0, 0] for s in students}   # loss * n, correct, n
            t_epoch, c_epoch = time.perf_counter(), time.process_time()
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                t_logits = t_feat = None
                if use_teacher:
                    t0 = time.perf_counter()
                    with torch.no_grad():
                        t_logits = teacher(x).to(device)
                    calls += 1
                    t_feat = t_tap.value if t_tap is not None else None
                    if hinted and not hints:
                        make_hints(int(t_feat.shape[1]))
                    teacher_seconds += time.perf_counter() - t0
                for s in students:
                    out = s.model(x)
                    loss = (response_loss(out, t_logits, y, distill.temperature, distill.alpha)
                            if use_teacher and distill.kind in ("response", "both")
                            else nn.functional.cross_entropy(out, y))
                    if hinted:
                        loss = loss + distill.hint_weight * hints[s.name](taps[s.name].value, t_feat)
                    if s.extra_loss is not None:
                        loss = loss + s.extra_loss(s.model)
                    value = float(loss.detach())
                    if not math.isfinite(value):
                        raise TrainError(f"student {s.name}: loss became {value} at epoch {epoch + 1}")
                    opt = opts[s.name]
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    if s.after_step is not None:
                        s.after_step(s.model, lr)
                    acc = sums[s.name]
                    acc[0] += value * len(y)
                    acc[1] += int((out.detach().argmax(1) == y).sum())
                    acc[2] += len(y)
            seconds += time.perf_counter() - t_epoch
            cpu_seconds += time.process_time() - c_epoch
            for s in students:
                loss_sum, correct, n = sums[s.name]
                m = {"epoch": epoch + 1, "train_loss": loss_sum / n, "train_acc": correct / n, "lr": lr,
                     "test_loss": None, "test_acc": None}
                if test_set is not None:
                    ev = evaluate(s.model, test_set, config.eval_batch_size, device)
                    m["test_loss"], m["test_acc"] = ev.loss, ev.accuracy
                results[s.name].metrics.append(m)
                if config.progress:
                    print(f"[{s.name}] epoch {epoch + 1}/{config.epochs}: loss {m['train_loss']:.4f} "
                          f"train acc {m['train_acc']:.4f} test acc {m['test_acc']}", flush=True)
    finally:
        for tap in list(taps.values()) + ([t_tap] if t_tap is not None else []):
            tap.remove()
    for s in students:
        s.model.eval()
    return JointResult([results[s.name] for s in students], seconds, teacher_seconds, calls, cpu_seconds)


def save_student(path, model: nn.Module, spec: dict | None, train_set: ImageDataset, metrics: list[dict],
                 config: TrainConfig | None = None) -> None:
    """A bnnc checkpoint (readable by bnn.train.model_from_checkpoint and `bnnc export`) for a trained student."""
    save_checkpoint(path, {**checkpoint_header(config, spec, train_set), "epoch": len(metrics),
                           "best_epoch": len(metrics), "metrics": metrics, "model_state": model.state_dict()})


# ----------------------------------------------------------------------------------------------------------------
# Weight-shared students (bnn.compress.supernet), resumable


@dataclass
class FamilyResult:
    students: list[StudentResult]     # each the cut-out, BN-recalibrated student (an ordinary bnnc model)
    seconds: float                    # wall time of the training loop, every epoch run in this process or before
    teacher_seconds: float
    resumed_from: int                 # epochs already done when this call started (0: a fresh run)
    cpu_seconds: float = 0.0          # process CPU time of the training loop


def _student_eval(net, i: int, train_set, test_set, config: TrainConfig, device) -> tuple[nn.Module, float | None]:
    from bnn.compress.supernet import cut
    from bnn.train import recalibrate_batchnorm

    model = cut(net, i).to(device)
    recalibrate_batchnorm(model, train_set, config.bn_recalibration_batches, config.batch_size, device)
    acc = evaluate(model, test_set, config.eval_batch_size, device).accuracy if test_set is not None else None
    return model.eval(), acc


def train_supernet(net, train_set: ImageDataset, test_set: ImageDataset | None, config: TrainConfig,
                   distill: DistillConfig | None = None, teacher: nn.Module | None = None, mode: str = "split",
                   checkpoint=None, names: list[str] | None = None, eval_every_epoch: bool = True,
                   split_weights: list[float] | None = None, on_epoch: Callable[[int, list[dict]], None] | None = None) -> FamilyResult:
    """Train the students of a `Supernet` together on `config.device`, one optimizer over the shared weights.

    'split' gives each student its share of every batch in one pass (shares proportional to `split_weights`,
    default equal); 'replicate' passes the whole batch through every student, 'anchor' through the widest and
    once more shared out among the others; in both the widest one's outputs are the soft targets of the others on
    the same samples when there is no teacher (inplace distillation). With `checkpoint` (a path), the state after
    every epoch is saved atomically and a rerun continues from the last finished epoch, ending exactly where an
    uninterrupted run would (same RNG streams).
    After training every student is cut out and its BatchNorm statistics re-estimated on the training data.
    """
    from pathlib import Path

    from bnn.compress.supernet import layout
    from bnn.train import load_checkpoint

    config.validate()
    distill = distill or DistillConfig(kind="none")
    if distill.kind in ("feature", "both"):
        raise TrainError("feature distillation is not available for weight-shared students; use --distill response "
                         "or train separate students (--joint separate)")
    use_teacher = distill.uses_teacher and teacher is not None
    if distill.uses_teacher and teacher is None:
        raise TrainError(f"distillation kind {distill.kind!r} needs a teacher")
    device = torch.device(config.device)
    net.to(device)
    if teacher is not None and any(True for _ in teacher.parameters()):
        teacher.to(device)
    n = len(net.specs)
    names = names or [f"student{i}" for i in range(n)]
    from bnn.topologies import hidden_widths

    widest = max(range(n), key=lambda i: sum(hidden_widths(net.specs[i])))
    opt = make_optimizer(net, config)
    gen = torch.Generator()
    seed_everything(config.seed)
    gen.manual_seed(config.seed)
    history: list[list[dict]] = [[] for _ in range(n)]
    start, seconds, t_seconds, cpu = 0, 0.0, 0.0, 0.0
    ckpt_path = Path(checkpoint) if checkpoint is not None else None
    if ckpt_path is not None and ckpt_path.is_file():
        ck = load_checkpoint(ckpt_path)
        try:
            net.load_state_dict(ck["model_state"])
            opt.load_state_dict(ck["optimizer_state"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise TrainError(f"{ckpt_path}: does not fit these students ({e}); use another output folder") from None
        start, history = int(ck["epoch"]), [list(h) for h in ck["metrics"]]
        seconds, t_seconds, cpu = float(ck["seconds"]), float(ck["teacher_seconds"]), float(ck.get("cpu_seconds", 0))
        torch.set_rng_state(ck["rng"]["torch"])
        gen.set_state(ck["rng"]["loader"])
    resumed = start
    loader = make_loader(train_set, config.batch_size, shuffle=True, generator=gen, num_workers=config.num_workers)
    from tqdm import tqdm

    from diagnostics.progress import active as progress_shown

    for epoch in range(start, config.epochs):
        lr = config.lr * lr_factor(epoch, config)
        for g in opt.param_groups:
            g["lr"] = lr
        net.train()
        sums = [[0.0, 0, 0] for _ in range(n)]
        t_epoch, c_epoch = time.perf_counter(), time.process_time()
        disable = True if not config.progress else (False if progress_shown() else None)
        bar = tqdm(loader, desc=f"students epoch {epoch + 1}/{config.epochs}", leave=False, disable=disable,
                   unit="batch")
        for x, y in bar:
            x, y = x.to(device), y.to(device)
            t_logits = None
            if use_teacher:
                t0 = time.perf_counter()
                with torch.no_grad():
                    t_logits = teacher(x).to(device)
                t_seconds += time.perf_counter() - t0
            b = layout(x, y, t_logits, n, mode, split_weights, widest)
            net.router.blocks = b.blocks
            out = net(b.x, b.replicas)
            outs, ys = out.split([k for _, k in b.blocks]), b.y.split([k for _, k in b.blocks])
            ts = b.t.split([k for _, k in b.blocks]) if b.t is not None else [None] * len(b.blocks)
            soft, at = None, 0       # the widest's outputs on the samples each block holds (inplace distillation)
            if mode in ("replicate", "anchor"):
                soft = outs[[i for i, _ in b.blocks].index(widest)].detach()
            loss = 0.0
            for (i, k), o, yy, tt in zip(b.blocks, outs, ys, ts):
                if use_teacher and distill.kind == "response":
                    li = response_loss(o, tt, yy, distill.temperature, distill.alpha)
                elif soft is not None and i != widest:
                    target = soft if mode == "replicate" else soft[at:at + k]
                    at += 0 if mode == "replicate" else k
                    li = response_loss(o, target, yy, 1.0, 0.5)
                else:
                    li = nn.functional.cross_entropy(o, yy)
                loss = loss + li
                s = sums[i]
                s[0] += float(li.detach()) * len(yy)
                s[1] += int((o.detach().argmax(1) == yy).sum())
                s[2] += len(yy)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise TrainError(f"weight-shared students: loss became {value} at epoch {epoch + 1}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        seconds += time.perf_counter() - t_epoch
        cpu += time.process_time() - c_epoch
        last = epoch + 1 == config.epochs
        for i in range(n):
            acc = None
            if (eval_every_epoch or last) and test_set is not None:
                _, acc = _student_eval(net, i, train_set, test_set, config, device)
            loss_sum, correct, k = sums[i]
            history[i].append({"epoch": epoch + 1, "train_loss": loss_sum / max(k, 1), "train_acc": correct / max(k, 1),
                               "lr": lr, "test_loss": None, "test_acc": acc})
        if ckpt_path is not None:
            save_checkpoint(ckpt_path, {**checkpoint_header(config, net.full_spec.to_dict(), train_set, test_set),
                                        "epoch": epoch + 1, "metrics": history, "model_state": net.state_dict(),
                                        "optimizer_state": opt.state_dict(), "seconds": seconds, "cpu_seconds": cpu,
                                        "teacher_seconds": t_seconds, "best_epoch": epoch + 1,
                                        "rng": {"torch": torch.get_rng_state(), "loader": gen.get_state()},
                                        "students": [s.to_dict() for s in net.specs], "mode": mode})
        if config.progress:
            tqdm.write(f"epoch {epoch + 1}/{config.epochs} ({time.perf_counter() - t_epoch:.1f}s): " + ", ".join(
                f"{names[i]} {history[i][-1]['test_acc']:.4f}" if history[i][-1]["test_acc"] is not None
                else f"{names[i]} train {history[i][-1]['train_acc']:.4f}" for i in range(n)))
        if on_epoch is not None:
            on_epoch(epoch + 1, [h[-1] for h in history])
    results = []
    for i in range(n):
        model, acc = _student_eval(net, i, train_set, test_set, config, device)
        if history[i] and test_set is not None:
            history[i][-1]["test_acc"] = acc
        results.append(StudentResult(names[i], model, net.specs[i].to_dict(), history[i]))
    net.eval()
    return FamilyResult(results, seconds, t_seconds, resumed, cpu)
