"""`bnnc deploy`: collect what the board runtime needs (bitstream, hwh, IR, stream metadata) into one folder."""
from __future__ import annotations

from pathlib import Path

import click

from bnnc.hls import tool_errors
from bnnc.options import board_option, clock_option


@click.command("deploy")
@click.argument("build_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="deployment folder (default: deploy/<build folder name>)")
@board_option
@clock_option
@click.option("--samples", default=16, show_default=True,
              help="test images of the training dataset to include (samples.npz) for on-board demos")
@click.option("--force", is_flag=True, default=False,
              help="replace the -o folder even if it is not a bnnc deploy folder (its files are deleted)")
@click.option("--rtl", is_flag=True, default=False,
              help="ship the RTL backend's bitstream (`bnnc bitstream --rtl`) and its control layout instead of the HLS one")
def deploy_cmd(build_dir: Path, out_dir: Path | None, board: str | None, samples: int,
               clock_mhz: float | None = None, force: bool = False, rtl: bool = False) -> None:
    """Write deploy/NAME: NAME.bit + NAME.hwh (when built), graph.json + arrays.npz, deploy.json, HLS sources,
    samples.npz. Run it with `bnnc run deploy/NAME` (or boards.runtime.Accelerator)."""
    run_deploy(build_dir, out_dir, board, samples, clock_mhz, force, rtl)


def run_deploy(build_dir: Path, out_dir: Path | None = None, board: str | None = None, samples: int = 16,
               clock_mhz: float | None = None, force: bool = False, rtl: bool = False) -> None:
    """What `bnnc deploy` does, callable from `bnnc demo` without going through click."""
    from bnn.datasets import deploy_samples
    from compiler.workflow.deploy import assemble_deploy

    out_dir = out_dir or Path("deploy") / build_dir.resolve().name
    kept: list[str] = []
    try:
        meta = assemble_deploy(build_dir, out_dir, board, clock_mhz, samples=samples, load_samples=deploy_samples,
                               force=force, folder_notes=kept, rtl=rtl)
    except tool_errors() as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"deploy folder {out_dir} for {meta['board']} ({meta['hardware'].upper()} bitstream layout): IR, deploy.json"
               + (f", {meta['bitfile']}, {meta['hwh']}" if meta["bitfile"] else "")
               + (f", {meta['weights']['file']} ({meta['weights']['bytes']:,} bytes of URAM weights, loaded when the "
                  "runtime opens the device)" if meta.get("weights") else ""))
    for note in meta.get("notes", []) + kept:
        click.echo(f"note: {note}")
