"""`bnnc run`: classify images with a deployed accelerator (board, simulator or C simulation); accuracy and speed."""
from __future__ import annotations

import zipfile
from pathlib import Path

import click
import numpy as np


def _load_inputs(input_path: Path | None, labels_path: Path | None, dataset: str | None, data_root: str | None,
                 limit: int | None) -> tuple[np.ndarray, np.ndarray | None, str]:
    if (input_path is None) == (dataset is None):
        raise click.UsageError("give exactly one of --input FILE and --dataset NAME")
    labels = None
    if dataset is not None:
        from bnn.datasets import DatasetError, load_dataset

        try:
            data = load_dataset(dataset, root=data_root, split="test")
        except (DatasetError, ValueError) as e:
            raise click.ClickException(str(e)) from None
        images, labels, what = data.images, data.labels, f"{dataset} test set"
    else:
        try:
            loaded = np.load(input_path, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:   # EOFError: empty file (click: "Aborted!")
            raise click.ClickException(f"{input_path}: cannot read as .npy/.npz ({type(e).__name__}: "
                                       f"{e or 'empty file'})") from None
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                if "images" not in loaded.files:
                    raise click.ClickException(f"{input_path}: an .npz input needs an 'images' array "
                                               f"(has {', '.join(loaded.files) or 'nothing'})")
                try:
                    images = loaded["images"]
                    labels = loaded["labels"] if "labels" in loaded.files else None
                except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
                    raise click.ClickException(f"{input_path}: damaged .npz ({type(e).__name__}: {e})") from None
        else:
            images = loaded
        what = str(input_path)
    if labels_path is not None:
        try:
            labels = np.load(labels_path, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise click.ClickException(f"{labels_path}: cannot read labels ({type(e).__name__}: "
                                       f"{e or 'empty file'})") from None
    if limit is not None:
        images = images[:limit]
        labels = None if labels is None else labels[:limit]
    if labels is not None and len(labels) != len(images):
        raise click.ClickException(f"{len(labels)} labels for {len(images)} images")
    return images, labels, what


@click.command("run")
@click.argument("deploy_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--input", "input_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=".npy of images (raw uint8 N,C,H,W or float model inputs), or .npz with 'images' [+ 'labels']")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=".npy of integer labels for --input")
@click.option("--dataset", default=None, help="a dataset's test split instead of --input (e.g. fashion-mnist)")
@click.option("--data-root", default=None, help="dataset folder, if not the default location")
@click.option("--backend", type=click.Choice(["pynq", "sim", "csim", "rtlsim"]), default="sim", show_default=True)
@click.option("--batch-size", default=256, show_default=True, help="frames per accelerator call (DMA transfer)")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="use only the first N images")
@click.option("--timeout", "timeout_s", default=5.0, show_default=True, help="seconds a DMA wait may take (pynq)")
def run_cmd(deploy_dir: Path, input_path, labels_path, dataset, data_root, backend, batch_size, limit, timeout_s) -> None:
    """Classify images on DEPLOY_DIR's accelerator; report accuracy (with labels) and throughput."""
    from boards.runtime import Accelerator, AcceleratorError

    if not (deploy_dir / "deploy.json").is_file():     # before loading a dataset or building a C simulation
        raise click.ClickException(f"{deploy_dir}: not a deployment folder (no deploy.json); create one with "
                                   "`bnnc deploy BUILD_DIR -o DIR`")
    images, labels, what = _load_inputs(input_path, labels_path, dataset, data_root, limit)
    try:
        with Accelerator(deploy_dir, backend=backend, batch_size=batch_size, timeout_s=timeout_s) as acc:
            res = acc.run(images)
    except AcceleratorError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{res.frames} images from {what} on {deploy_dir} ({backend} backend, {res.batches} call(s) of <= "
               f"{acc.batch_size} frames)")
    if labels is not None:
        acc_pct = 100.0 * float((res.labels == np.asarray(labels).reshape(-1)).mean())
        click.echo(f"accuracy  {acc_pct:.2f}%")
    from bnnc.figures import estimate_line, speed_line

    click.echo(f"speed     {speed_line(backend, res.fps)}; latency {res.latency_ms:.3f} ms per call")
    click.echo(f"          {res.host_fps:,.0f} frames/s end to end (host pre/post-processing and packing included)")
    if backend != "pynq":
        meta = acc.deployment.meta
        est = estimate_line(acc.deployment.graph, meta.get("board"), meta.get("clock_mhz"))
        if est:
            click.echo(f"          {est}")
