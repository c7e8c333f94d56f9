"""`bnnc train`: train a standard topology on a local dataset, with checkpoints and per-epoch metrics."""
from __future__ import annotations

from pathlib import Path

import click

from bnn.datasets import DATASETS
from bnn.train_choices import DEVICES, OPTIMIZERS, SCHEDULES


@click.command("train")
@click.option("--model", "model_name", default="lfc", show_default=True,
              help="tfc, sfc, lfc, cnv, cnv28 (CNV for 28x28 inputs), mobilenet, or path/to/file.py:factory for "
                   "your own model.")
@click.option("--bits", default="w1a1", show_default=True, help="w1a1, w1a2, w2a2, ... or 'float' (the float twin).")
@click.option("--dataset", default="fashion-mnist", show_default=True, type=click.Choice(DATASETS))
@click.option("--data-root", type=click.Path(path_type=Path), default=None,
              help="Dataset directory (fashion-mnist default: /usr/share/datasets/fashion-mnist).")
@click.option("--epochs", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(min=2))
@click.option("--lr", default=1e-3, show_default=True, type=float)
@click.option("--schedule", default="cosine", show_default=True, type=click.Choice(SCHEDULES))
@click.option("--optimizer", default="adam", show_default=True, type=click.Choice(OPTIMIZERS))
@click.option("--weight-decay", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="On the conv/linear (float shadow) weights only; with --optimizer adamw it is decoupled.")
@click.option("--warmup-epochs", default=0, show_default=True, type=click.IntRange(min=0),
              help="Linear learning-rate warm-up over these epochs, then --schedule over the rest.")
@click.option("--label-smoothing", default=0.0, show_default=True, type=click.FloatRange(0, 1, max_open=True))
@click.option("--augment", is_flag=True,
              help="Random crop after zero padding (1/8 of the side) and, except for digits, horizontal flip.")
@click.option("--device", default="cpu", show_default=True,
              help="cpu, cuda or cuda:N (refused with a clear message when torch sees no GPU).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--dropout", default=0.0, show_default=True, type=float,
              help="Dropout on the input and hidden activations of TFC/SFC/LFC.")
@click.option("--input-bits", default=None, type=click.IntRange(1, 8),
              help="Input quantizer width (default: the activation width for the MLPs, as in FINN; 8 for CNV).")
@click.option("--width", default=1.0, show_default=True, type=float, help="Width multiplier for every layer.")
@click.option("--channels", default=None, type=click.IntRange(min=1),
              help="Replicate 1-channel images to this many channels.")
@click.option("--limit", default=None, type=click.IntRange(min=2),
              help="Use only the first N samples of each split (quick runs).")
@click.option("--workers", default=0, show_default=True, type=click.IntRange(min=0), help="DataLoader workers.")
@click.option("--threads", default=None, type=click.IntRange(min=1),
              help="torch CPU threads (default: torch's choice; 1 is often faster on a busy machine).")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Run directory.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last.pt.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def train_cmd(**options) -> None:
    """Train a (quantised) model; writes last.pt, best.pt and metrics.json into --out."""
    run_train(**options)


def run_train(model_name: str = "lfc", bits: str = "w1a1", dataset: str = "fashion-mnist", data_root=None,
              epochs: int = 10, batch_size: int = 256, lr: float = 1e-3, schedule: str = "cosine",
              optimizer: str = "adam", weight_decay: float = 0.0, warmup_epochs: int = 0,
              label_smoothing: float = 0.0, augment: bool = False, device: str = "cpu", seed: int = 0,
              dropout: float = 0.0,
              input_bits: int | None = None, width: float = 1.0, channels: int | None = None, limit: int | None = None,
              workers: int = 0, threads: int | None = None, out_dir: Path = Path("run"), resume: bool = False,
              progress: bool = True) -> None:
    """What `bnnc train` does, callable from other commands (`bnnc demo`) without going through click."""
    from bnn.datasets import DatasetError, load_dataset
    from bnn.loader import ImageDataset
    from bnn.preprocess import preprocess_for
    from bnn.quant import parse_bits
    from bnn.train import TrainConfig, TrainError, check_device, load_checkpoint, seed_everything, train
    from bnn.train_choices import augment_for
    from bnn.topologies import from_spec, make_spec

    if device not in DEVICES and not device.startswith("cuda:"):
        raise click.BadParameter(f"{device!r}: choose cpu, cuda or cuda:N", param_hint="--device")
    try:                      # before loading data and building the model
        check_device(device)
    except TrainError as e:
        raise click.ClickException(str(e)) from None

    if threads is not None:
        import torch

        torch.set_num_threads(threads)

    try:
        weight_bits, act_bits = parse_bits(bits)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--bits") from None
    try:
        train_data = load_dataset(dataset, data_root, "train").subset(limit)
        test_data = load_dataset(dataset, data_root, "test").subset(limit)
    except DatasetError as e:
        raise click.ClickException(str(e)) from None
    try:
        pre = preprocess_for(model_name, train_data.shape, channels)
        c, h, w = pre.out_shape(train_data.shape)
        if h != w:
            raise ValueError(f"{dataset} images are {h}x{w}; the topologies need square images")
        spec = make_spec(model_name, weight_bits, act_bits, width, in_channels=c, in_size=h,
                         num_classes=train_data.num_classes, dropout=dropout,
                         input_bits=input_bits)
        seed_everything(seed)
        model = from_spec(spec)
    except ValueError as e:
        raise click.ClickException(str(e)) from None

    resume_path = None
    if resume:
        resume_path = out_dir / "last.pt"
        try:
            _check_resumable(load_checkpoint(resume_path), spec.to_dict(), pre.to_dict(), resume_path)
        except TrainError as e:
            raise click.ClickException(str(e)) from None

    aug = augment_for(dataset, h) if augment else {}
    config = TrainConfig(epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, schedule=schedule,
                         weight_decay=weight_decay, seed=seed, out_dir=str(out_dir), resume=resume_path,
                         num_workers=workers, progress=progress, warmup_epochs=warmup_epochs,
                         label_smoothing=label_smoothing, device=device, **aug)
    try:
        config.validate()
    except TrainError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"training {spec.name} ({bits}, width {width}) on {dataset}: {len(train_data)} train / "
               f"{len(test_data)} test images of {c}x{h}x{w}, {epochs} epochs on {device}"
               + (f", augmented (crop pad {aug['augment_pad']}{', flip' if aug['augment_flip'] else ''})"
                  if aug else "")
               + f" -> {out_dir}", err=True)
    try:
        result = train(model, ImageDataset(train_data, pre), ImageDataset(test_data, pre), config,
                       model_spec=spec.to_dict())
    except TrainError as e:
        raise click.ClickException(str(e)) from None
    best, final = result.best, result.final
    click.echo(f"done: final test acc {final['test_acc']:.4f}, best {best['test_acc']:.4f} at epoch "
               f"{result.best_epoch}; checkpoints {result.last_path}, {result.best_path}; metrics "
               f"{out_dir / 'metrics.json'}")


def _check_resumable(ckpt: dict, spec: dict, pre: dict, path: Path) -> None:
    """Refuse to resume a checkpoint with a different model or input preprocessing than asked for now."""
    for what, old, new in (("model", ckpt.get("model_spec"), spec), ("preprocessing", ckpt.get("preprocess"), pre)):
        if old is not None and old != new:
            diff = {k: (old.get(k), new.get(k)) for k in set(old) | set(new) if old.get(k) != new.get(k)}
            from bnn.train import TrainError

            raise TrainError(f"{path}: the checkpoint's {what} differs from the options given now "
                             f"(checkpoint vs now: {diff}); pass the same options to resume")
