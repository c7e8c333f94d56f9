"""`bnnc compile`: QONNX model -> dataflow IR build folder, optionally verified bit-exactly against QONNX."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np


@click.command("compile")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="build folder to write (e.g. build/tfc_w1a1); replaced only on success")
@click.option("--verify/--no-verify", default=False, help="compare the IR with QONNX execution (zero tolerance)")
@click.option("--verify-inputs", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help=".npy batch of real inputs (N, *input shape) for --verify")
@click.option("--num-random", default=32, show_default=True, help="random + structured inputs for --verify")
@click.option("--topk", type=int, default=None, help="append a LabelSelect layer returning the top-K class indices")
@click.option("--name", default=None, help="graph name (default: the build folder's name)")
def compile_cmd(model: Path, out_dir: Path, verify: bool, verify_inputs: Path | None, num_random: int,
                topk: int | None, name: str | None) -> None:
    """Compile a QONNX MODEL (from `bnnc export` or brevitas export_qonnx) into a dataflow graph."""
    from compiler.build import compile_model
    from compiler.errors import CompileError
    from compiler.ir import IRError

    x = None
    if verify_inputs is not None:
        try:
            x = np.load(verify_inputs, allow_pickle=False)
        except Exception as e:
            raise click.ClickException(f"{verify_inputs}: cannot read as .npy ({e})") from None
        verify = True
    try:
        g = compile_model(model, out_dir, name=name, topk=topk, verify=verify, verify_inputs=x, num_random=num_random)
    except (CompileError, IRError) as e:
        raise click.ClickException(str(e)) from None
    kinds = ", ".join(f"{l.kind}" for l in g.layers)
    click.echo(f"compiled {model} -> {out_dir}: {len(g.layers)} layers ({kinds})")
    for note in g.meta.get("notes", []):
        click.echo(f"note: {note}")
    if verify:
        v = g.meta["verify"]
        click.echo(f"verified: {v['n_inputs']} inputs, {v['output_mismatches']} output mismatches, "
                   f"{len(v['checked_layers'])} layers compared with QONNX tensors, all exact")
