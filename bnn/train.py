"""The trainer: seeded, resumable training with per-epoch metrics and atomic best/last checkpoints.

A checkpoint holds everything needed to continue exactly where a run stopped (model, optimizer, RNG states, epoch,
metric history) and to rebuild the model elsewhere (the topology spec and the input preprocessing spec).
"""
from __future__ import annotations

import json
import math
import os
import random
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from bnn.loader import ImageDataset, augment_batch, make_loader
from bnn.evaluate import evaluate
from diagnostics.errors import BnncError
from diagnostics.progress import active as progress_shown

CHECKPOINT_FORMAT = "bnnc-checkpoint"
CHECKPOINT_VERSION = 1
from bnn.train_choices import DEVICES, OPTIMIZERS, SCHEDULES  # noqa: E402,F401  (torch-free, for the CLI)


class TrainError(BnncError, RuntimeError):
    """Training cannot start or continue (bad config, incompatible checkpoint, diverged loss, ...)."""


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 256
    optimizer: str = "adam"          # adam | adamw | sgd (momentum below)
    lr: float = 1e-3
    schedule: str = "cosine"         # cosine (to 0 over `epochs`) | step (x gamma every step_size epochs) | none
    step_size: int | None = None     # default: epochs // 3
    gamma: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.0        # on conv/linear (float shadow) weights only, not BatchNorm/biases/scales
    seed: int = 0
    out_dir: str | None = None       # None: keep nothing on disk
    resume: str | None = None        # a last.pt to continue from
    num_workers: int = 0
    eval_batch_size: int = 512
    device: str = "cpu"
    progress: bool = True
    bn_recalibration_batches: int = 16   # after each epoch: BatchNorm statistics re-estimated on this many batches
    warmup_epochs: int = 0           # linear warm-up to lr over these epochs, then the schedule over the rest
    label_smoothing: float = 0.0     # cross-entropy against (1 - s) one-hot + s uniform
    augment_pad: int = 0             # random crop after zero padding by this many pixels (0: off)
    augment_flip: bool = False       # random horizontal flip (not for digits: see bnn.train_choices.augment_for)

    def __post_init__(self):
        for name in ("out_dir", "resume"):
            v = getattr(self, name)
            if v is not None:
                setattr(self, name, str(v))

    def validate(self) -> None:
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs must be >= 1 (got {self.epochs})")
        if self.batch_size < 2:
            problems.append(f"batch_size must be >= 2 for BatchNorm (got {self.batch_size})")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {OPTIMIZERS} (got {self.optimizer!r})")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {SCHEDULES} (got {self.schedule!r})")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            problems.append(f"lr must be a positive number (got {self.lr})")
        if self.weight_decay < 0:
            problems.append(f"weight_decay must be >= 0 (got {self.weight_decay})")
        if self.step_size is not None and self.step_size < 1:
            problems.append(f"step_size must be >= 1 (got {self.step_size})")
        if self.warmup_epochs < 0 or (self.warmup_epochs and self.warmup_epochs >= self.epochs):
            problems.append(f"warmup_epochs must be >= 0 and fewer than epochs ({self.epochs}), "
                            f"got {self.warmup_epochs}")
        if not 0.0 <= self.label_smoothing < 1.0:
            problems.append(f"label_smoothing must be in [0, 1) (got {self.label_smoothing})")
        if self.augment_pad < 0:
            problems.append(f"augment_pad must be >= 0 (got {self.augment_pad})")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            problems.append(f"device must be one of {DEVICES} (or cuda:N), got {self.device!r}")
        if self.bn_recalibration_batches < 0:
            problems.append(f"bn_recalibration_batches must be >= 0 (got {self.bn_recalibration_batches})")
        if problems:
            raise TrainError("bad training config: " + "; ".join(problems))
        check_device(self.device)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    model: nn.Module                 # trained in place; holds the last epoch's weights
    metrics: list[dict]              # one dict per epoch (also in metrics.json)
    best_epoch: int                  # 1-based epoch with the best test accuracy (train loss if no test set)
    out_dir: Path | None = None
    last_path: Path | None = None
    best_path: Path | None = None
    stopped_early: bool = False

    @property
    def final(self) -> dict:
        return self.metrics[-1]

    @property
    def best(self) -> dict:
        return self.metrics[self.best_epoch - 1]


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and random; call before building a model so its initial weights follow the seed too."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def check_device(device: str) -> None:
    """Refuse a CUDA device this machine does not have, before any work, with a message saying what to do."""
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TrainError(f"device {device!r} asked for, but torch sees no CUDA GPU here "
                             f"(torch {torch.__version__}, "
                             f"built {'with' if torch.version.cuda else 'without'} CUDA); use --device cpu")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise TrainError(f"device {device!r} asked for, but there are {torch.cuda.device_count()} CUDA GPUs")


def lr_factor(epoch: int, config: TrainConfig) -> float:
    """Multiplier of config.lr during 0-based `epoch`; a pure function, so resuming (even with more epochs) is exact.

    With `warmup_epochs` W, epoch e < W runs at (e + 1) / (W + 1) of lr and the schedule runs over the other
    epochs (cosine from lr towards 0 over epochs - W)."""
    warm = config.warmup_epochs
    if epoch < warm:
        return (epoch + 1) / (warm + 1)
    epoch, epochs = epoch - warm, config.epochs - warm
    if config.schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
    if config.schedule == "step":
        step = config.step_size or max(1, epochs // 3)
        return config.gamma ** (epoch // step)
    return 1.0


def decayed(name: str, p: torch.Tensor) -> bool:
    """Whether weight decay applies: the float shadow weights of conv/linear layers (2-D and up), not BatchNorm
    weights, biases, the head's per-class scale or quantizer scales (decaying those only shrinks the ranges)."""
    return p.ndim >= 2 and "scaling" not in name


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer `config` names over the model's trainable parameters (also bnn.compress's students'); weight
    decay on the shadow weights only (see `decayed`)."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise TrainError(f"{type(model).__name__} has no trainable parameters")
    params = [p for _, p in named]
    if config.weight_decay:
        params = [{"params": [p for n, p in named if decayed(n, p)], "weight_decay": config.weight_decay},
                  {"params": [p for n, p in named if not decayed(n, p)], "weight_decay": 0.0}]
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


# ----------------------------------------------------------------------------------------------------------------
# Checkpoints


def _rng_state(loader_gen: torch.Generator, augment_gen: torch.Generator) -> dict:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "loader": loader_gen.get_state(),
        "augment": augment_gen.get_state(),
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "python": random.getstate(),
    }


def _set_rng_state(state: dict, loader_gen: torch.Generator, augment_gen: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    loader_gen.set_state(state["loader"])
    if "augment" in state:      # checkpoints from before augmentation have none (and did not augment)
        augment_gen.set_state(state["augment"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write via a temporary file in the same directory and os.replace, so `path` is never half-written."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def checkpoint_header(config: TrainConfig | None, model_spec: dict | None, train_set, test_set=None) -> dict:
    """What every bnnc checkpoint records besides weights and metrics (the trainer's and bnn.compress's)."""
    preprocess = getattr(train_set, "preprocess", None)
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "config": config.to_dict() if config is not None else None,
        "model_spec": model_spec,
        "preprocess": preprocess.to_dict() if preprocess is not None else None,
        "dataset": {
            "name": getattr(getattr(train_set, "data", None), "name", None),
            "train_size": len(train_set),
            "test_size": len(test_set) if test_set is not None else 0,
            "sample_shape": list(getattr(train_set, "sample_shape", ()) or ()),
        },
        # bit-identical reruns need the same torch version and CPU thread count
        "env": {"torch": str(torch.__version__), "threads": torch.get_num_threads()},
    }


def save_checkpoint(path: str | os.PathLike, payload: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, lambda p: torch.save(payload, p))
    return path


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a bnnc checkpoint (tensors and plain data only: loaded with weights_only=True)."""
    path = Path(path)
    if not path.is_file():
        raise TrainError(f"{path}: no such checkpoint")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise TrainError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise TrainError(f"{path}: not a bnnc checkpoint (no format marker {CHECKPOINT_FORMAT!r})")
    if ckpt.get("version", 0) > CHECKPOINT_VERSION:
        raise TrainError(f"{path}: checkpoint version {ckpt['version']} is newer than this bnnc "
                         f"({CHECKPOINT_VERSION}); upgrade bnnc")
    return ckpt


def model_from_checkpoint(path: str | os.PathLike, model_code: str | None = None) -> nn.Module:
    """Rebuild the model stored in a checkpoint (its topology spec plus weights), in eval mode.

    A checkpoint is data: it never names code to import. A model from user code ('file.py:factory') is rebuilt
    only from `model_code`, which the caller takes from its own command line (e.g. `bnnc export --model-code`)."""
    from bnn.topologies import ModelSpec, from_spec

    ckpt = load_checkpoint(path)
    spec = ckpt.get("model_spec")
    if not spec:
        raise TrainError(f"{path}: the checkpoint has no model spec, so the model cannot be rebuilt from it; "
                         "build the model yourself and load ckpt['model_state']")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise TrainError(f"{path}: 'model_spec' must be a dict with a string 'name', got {spec!r}")
    if model_code is not None:
        if ":" not in model_code:
            raise TrainError(f"--model-code {model_code!r}: expected FILE.py:FACTORY")
        spec = {**spec, "name": model_code}
    elif ":" in spec["name"]:
        raise TrainError(f"{path}: the model was built by user code ({spec['name']!r}); a checkpoint is never "
                         "allowed to name code to import. If you trust that file, pass it yourself: "
                         f"--model-code {spec['name']}")
    try:
        model = from_spec(ModelSpec(**spec))
    except TypeError as e:
        raise TrainError(f"{path}: 'model_spec' has unexpected fields ({e})") from None
    try:
        model.load_state_dict(ckpt["model_state"])
    except (RuntimeError, KeyError) as e:
        raise TrainError(f"{path}: weights do not fit the model spec {spec}: {e}") from e
    return model.eval()


def _write_metrics(out_dir: Path, history: list[dict], best_epoch: int) -> None:
    text = json.dumps({"best_epoch": best_epoch, "epochs": history}, indent=1)
    _atomic_write(out_dir / "metrics.json", lambda p: p.write_text(text + "\n"))


# ----------------------------------------------------------------------------------------------------------------
# Training


def _score(m: dict) -> float:
    return m["test_acc"] if m.get("test_acc") is not None else -m["train_loss"]


def train(
    model: nn.Module,
    train_set: ImageDataset,
    test_set: ImageDataset | None,
    config: TrainConfig,
    model_spec: dict | None = None,
    on_epoch_end: Callable[[dict], bool | None] | None = None,
) -> TrainResult:
    """Train `model` in place with cross-entropy; returns the metric history and checkpoint paths.

    Deterministic on CPU for a given seed (also seed before building the model: see seed_everything). With
    `config.resume`, continues from that checkpoint and ends exactly where an uninterrupted run would. The
    `model_spec` (bnn.topologies.ModelSpec.to_dict()) and the datasets' preprocessing are stored in checkpoints.
    `on_epoch_end(metrics)` may return True to stop after that epoch.
    """
    config.validate()
    if len(train_set) < 2:
        raise TrainError(f"training set has {len(train_set)} samples; need at least 2")
    out_dir = Path(config.out_dir) if config.out_dir else None
    if out_dir is not None and config.resume is None and (out_dir / "last.pt").exists():
        raise TrainError(f"{out_dir} already holds a run (last.pt); resume it or choose another output directory")

    previous_det = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        return _train(model, train_set, test_set, config, out_dir, model_spec, on_epoch_end)
    finally:
        torch.use_deterministic_algorithms(previous_det, warn_only=previous_warn)


def _train(model, train_set, test_set, config, out_dir, model_spec, on_epoch_end) -> TrainResult:
    device = torch.device(config.device)
    model.to(device)
    optimizer = make_optimizer(model, config)
    loader_gen, augment_gen = torch.Generator(), torch.Generator()
    seed_everything(config.seed)
    loader_gen.manual_seed(config.seed)
    augment_gen.manual_seed(config.seed + 1)
    history: list[dict] = []
    start, best_epoch = 0, 0

    if config.resume:
        ckpt = load_checkpoint(config.resume)
        try:
            model.load_state_dict(ckpt["model_state"])
            optimizer.load_state_dict(ckpt["optimizer_state"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise TrainError(f"{config.resume}: checkpoint does not fit this model/optimizer: {e}") from e
        start, history, best_epoch = ckpt["epoch"], list(ckpt["metrics"]), ckpt["best_epoch"]
        _set_rng_state(ckpt["rng"], loader_gen, augment_gen)
        model_spec = model_spec or ckpt.get("model_spec")
        if start >= config.epochs:
            raise TrainError(f"{config.resume} already finished {start} epochs; ask for more than {start} epochs "
                             "to continue")

    base = checkpoint_header(config, model_spec, train_set, test_set)
    loader = make_loader(train_set, config.batch_size, shuffle=True, generator=loader_gen,
                         num_workers=config.num_workers)
    last_path = best_path = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"

    stopped = False
    for epoch in range(start, config.epochs):
        lr = config.lr * lr_factor(epoch, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        t0 = time.perf_counter()
        train_loss, train_acc = _train_epoch(model, loader, optimizer, device, epoch, config, augment_gen)
        recalibrate_batchnorm(model, train_set, config.bn_recalibration_batches, config.batch_size, device)
        train_seconds = time.perf_counter() - t0
        m = {"epoch": epoch + 1, "train_loss": train_loss, "train_acc": train_acc, "test_loss": None,
             "test_acc": None, "lr": lr}
        if test_set is not None:
            ev = evaluate(model, test_set, config.eval_batch_size, device)
            m["test_loss"], m["test_acc"] = ev.loss, ev.accuracy
        m["train_seconds"], m["seconds"] = train_seconds, time.perf_counter() - t0
        history.append(m)
        is_best = best_epoch == 0 or _score(m) > _score(history[best_epoch - 1])
        if is_best:
            best_epoch = epoch + 1
        if out_dir is not None:
            payload = dict(base, epoch=epoch + 1, best_epoch=best_epoch, metrics=history,
                           model_state=model.state_dict(), optimizer_state=optimizer.state_dict(),
                           scheduler_state={"schedule": config.schedule, "epoch": epoch + 1,
                                            "next_lr": config.lr * lr_factor(epoch + 1, config)},
                           rng=_rng_state(loader_gen, augment_gen))
            save_checkpoint(last_path, payload)
            if is_best:
                save_checkpoint(best_path, payload)
            _write_metrics(out_dir, history, best_epoch)
        if config.progress:
            tqdm.write(_summary(m, config.epochs))
        if on_epoch_end is not None and on_epoch_end(dict(m)) and epoch + 1 < config.epochs:
            stopped = True
            break

    _warn_unsettled_scales(model, history)
    return TrainResult(model=model, metrics=history, best_epoch=best_epoch, out_dir=out_dir,
                       last_path=last_path, best_path=best_path if best_epoch else None, stopped_early=stopped)


def _warn_unsettled_scales(model: nn.Module, history: list[dict]) -> None:
    """Warn when a k-bit activation's scale is still collecting statistics (Brevitas ParameterFromRuntimeStats:
    the first `collect_stats_steps` training steps use each batch's statistics, eval mode a running average): such a
    model scores far worse in eval mode than in training (measured: cnv28 W2A2 after 234 of 300 steps, 77 % train
    accuracy, 44 % in eval mode on the same images)."""
    short = [(n, int(m.counter), int(m.collect_stats_steps)) for n, m in model.named_modules()
             if hasattr(m, "collect_stats_steps") and hasattr(m, "counter")
             and int(m.counter) < int(m.collect_stats_steps)]
    if short:
        name, done, need = short[0]
        warnings.warn(f"{len(short)} activation quantizer scales (e.g. {name}) saw {done} of the {need} training "
                      f"steps they collect statistics over; the model evaluates poorly until then: train for more "
                      f"steps (more epochs or data, or a smaller batch)", stacklevel=3)


def _train_epoch(model, loader, optimizer, device, epoch, config, augment_gen) -> tuple[float, float]:
    model.train()
    total_loss, correct, n = 0.0, 0, 0
    # the bar: off with progress=False; forced on under `bnnc -v` (diagnostics.progress); else only on a terminal
    disable = True if not config.progress else (False if progress_shown() else None)
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", leave=False, disable=disable, unit="batch")
    augment = config.augment_pad > 0 or config.augment_flip
    for i, (x, y) in enumerate(bar):
        if augment:   # on the CPU batch, from the CPU generator: the same images whatever the device
            x = augment_batch(x, config.augment_pad, config.augment_flip, augment_gen)
        x, y = x.to(device), y.to(device)
        out = model(x)
        loss = nn.functional.cross_entropy(out, y, label_smoothing=config.label_smoothing)
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            raise TrainError(f"loss became {loss_value} at epoch {epoch + 1}, batch {i + 1}; "
                             f"try a lower learning rate than {config.lr}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss_value * len(y)
        correct += int((out.detach().argmax(dim=1) == y).sum())
        n += len(y)
        if i % 10 == 0:
            bar.set_postfix(loss=f"{total_loss / n:.4f}", acc=f"{correct / n:.3f}")
    return total_loss / n, correct / n


def recalibrate_batchnorm(model: nn.Module, data: ImageDataset, batches: int, batch_size: int,
                          device: torch.device | str = "cpu") -> None:
    """Re-estimate every BatchNorm's running mean/variance with the weights as they are now.

    The running statistics are a moving average over a whole epoch of changing (quantized) weights; in deep
    stacks ending in a global average pool their lag compounds until evaluation collapses while training
    progresses. Everything else stays in eval mode (quantizer scales are not touched); the first `batches`
    batches in data order are used, so no random state is consumed and resuming stays exact."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if batches < 1 or not bns:
        return
    was_training = model.training
    momenta = [m.momentum for m in bns]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None          # cumulative average over the recalibration batches
        m.train()
    try:
        with torch.no_grad():
            for i, (x, _) in enumerate(make_loader(data, batch_size)):
                if i >= batches:
                    break
                if len(x) > 1:         # BatchNorm1d cannot take a batch of one in train mode
                    model(x.to(device))
    finally:
        for m, momentum in zip(bns, momenta):
            m.momentum = momentum
        model.train(was_training)


def _summary(m: dict, epochs: int) -> str:
    s = f"epoch {m['epoch']}/{epochs}: train loss {m['train_loss']:.4f} acc {m['train_acc']:.4f}"
    if m["test_acc"] is not None:
        s += f" | test loss {m['test_loss']:.4f} acc {m['test_acc']:.4f}"
    return s + f" | lr {m['lr']:.2e} | {m['seconds']:.1f}s"
