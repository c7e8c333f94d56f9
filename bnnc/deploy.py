"""`bnnc deploy`: collect what the board runtime needs (bitstream, hwh, IR, stream metadata) into one folder."""
from __future__ import annotations

from pathlib import Path

import click

from bnnc.hls import BOARD_HELP, tool_errors


@click.command("deploy")
@click.argument("build_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="deployment folder (default: deploy/<build folder name>)")
@click.option("--board", default=None, help=BOARD_HELP)
@click.option("--samples", default=16, show_default=True,
              help="test images of the training dataset to include (samples.npz) for on-board demos")
@click.option("--force", is_flag=True, default=False,
              help="replace the -o folder even if it is not a bnnc deploy folder (its files are deleted)")
def deploy_cmd(build_dir: Path, out_dir: Path | None, board: str | None, samples: int, force: bool) -> None:
    """Write deploy/NAME: NAME.bit + NAME.hwh (when built), graph.json + arrays.npz, deploy.json, HLS sources,
    samples.npz. Run it with `bnnc run deploy/NAME` (or boards.runtime.Accelerator)."""
    from compiler.deploy import assemble_deploy

    out_dir = out_dir or Path("deploy") / build_dir.resolve().name
    kept: list[str] = []
    try:
        meta = assemble_deploy(build_dir, out_dir, board, samples=samples, force=force, folder_notes=kept)
    except tool_errors() as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"deploy folder {out_dir} for {meta['board']}: IR, deploy.json"
               + (f", {meta['bitfile']}, {meta['hwh']}" if meta["bitfile"] else ""))
    for note in meta.get("notes", []) + kept:
        click.echo(f"note: {note}")
