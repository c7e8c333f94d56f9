"""Training items of a compression run as scaleout tasks: each reloads its data and teacher from the run's
config, so it runs the same in this process, in a pool worker or in a Ray worker (bnn.compress.workflow.train_item,
bnn.compress.search's candidates)."""
from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Callable

from bnn.compress.plan import CompressConfig, CompressError, Context


def load_data(cfg: CompressConfig):
    """Train/test ImageDatasets (checked: file, keys, shapes, dtypes, labels) and the raw test split."""
    from bnn.datasets import DatasetError, load_any
    from bnn.loader import ImageDataset
    from bnn.preprocess import preprocess_for

    try:
        tr = load_any(cfg.dataset, cfg.data_root, "train").subset(cfg.limit)
        te = load_any(cfg.dataset, cfg.data_root, "test").subset(cfg.limit)
    except (DatasetError, ValueError) as e:
        raise CompressError(str(e)) from None
    if cfg.student in ("cnv", "mobilenet") and max(tr.shape[1:]) > 32:
        raise CompressError(f"{cfg.dataset}: {tr.shape[1]}x{tr.shape[2]} images are larger than {cfg.student}'s 32x32")
    pre = preprocess_for(cfg.student, tr.shape)
    return ImageDataset(tr, pre), ImageDataset(te, pre), te


@contextlib.contextmanager
def torch_threads(n: int | None):
    """torch's CPU threads set to `n` for the block (None: unchanged). CPU results depend on the thread count, so an
    item runs with the same count wherever it runs."""
    import torch

    if not n:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def train_config(cfg: CompressConfig, device: str | None = None):
    """The bnn.train.TrainConfig every student of `cfg` trains with."""
    from bnn.train import TrainConfig

    return TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed, progress=cfg.progress,
                       device=device or cfg.device)


def _uses_executor_in_process(ex) -> bool:
    from scaleout import LocalExecutor

    return ex is None or (isinstance(ex, LocalExecutor) and ex.workers == 1)


def item_settings(ctx: Context) -> dict:
    """What every training item's job carries besides its own fields: the config (the item reloads data and teacher
    from it), the output folder, its torch threads (--threads; 1 per item on a pool or a cluster, where Ray gives a
    task OMP threads for its num_cpus) and its device (on Ray 'cuda': the task sees only the GPU Ray gave it)."""
    cfg, ex = ctx.config, ctx.executor
    threads = cfg.threads or (None if _uses_executor_in_process(ex) else 1)
    device = "cuda" if getattr(ex, "name", "") == "ray" and cfg.device.startswith("cuda") else cfg.device
    return {"config": cfg.to_dict(), "out_dir": str(ctx.out_dir), "threads": threads, "device": device}


def item_task(key: str, fn: Callable[[dict], dict], job: dict):
    """A scaleout Task of `fn(job)` declaring its resources: num_cpus its threads, one GPU when it trains on CUDA."""
    from scaleout import Task

    return Task(key, fn, (job,), num_cpus=float(job.get("threads") or 1),
                num_gpus=1.0 if str(job.get("device", "cpu")).startswith("cuda") else 0.0)


def run_items(ctx: Context, tasks: list, desc: str, store: Path | None = None) -> dict:
    """Run `tasks` through the run's executor: {key: value}. With `store`, each finished item is also written there
    as it completes and a rerun skips it. CompressError naming every failed item (after the others finished)."""
    from scaleout import ExecutorError

    try:
        done = ctx.executor.run(tasks, out_dir=store, desc=desc)
    except ExecutorError as e:
        raise CompressError(str(e)) from None
    failed = [f"{k}: {r.error}" for k, r in done.items() if not r.ok]
    if failed:
        raise CompressError(f"{desc}: {len(failed)} of {len(done)} items failed: " + "; ".join(failed))
    return {k: r.value for k, r in done.items()}


_DATA: dict = {}


def _data_key(cfg: CompressConfig) -> str:
    src = Path(cfg.dataset)
    return json.dumps([cfg.dataset, cfg.data_root, cfg.limit, cfg.student,
                       src.stat().st_mtime_ns if src.is_file() else None])


def remember_data(cfg: CompressConfig, train_set, test_set) -> None:
    """Make the datasets the driver loaded the ones in-process training items of `cfg` use (no second load)."""
    _DATA.clear()
    _DATA[_data_key(cfg)] = (train_set, test_set)


def item_data(job: dict) -> tuple[CompressConfig, object, object]:
    """The config of a training item's job (device as the job says) and its train/test ImageDatasets, loaded once per
    process (a Ray or pool worker runs several items)."""
    cfg = replace(CompressConfig(**job["config"]), device=job["device"])
    key = _data_key(cfg)
    if key not in _DATA:
        _DATA.clear()
        _DATA[key] = load_data(cfg)[:2]
    return (cfg, *_DATA[key])
