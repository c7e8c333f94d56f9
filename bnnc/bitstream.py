"""`bnnc bitstream`: HLS project -> IP (Vitis HLS) -> bitstream + hwh (Vivado), for a board."""
from __future__ import annotations

from pathlib import Path

import click

from bnnc.hls import tool_errors
from bnnc.options import board_option, clock_option


@click.command("bitstream")
@click.argument("build_dir", type=click.Path(file_okay=False, path_type=Path))
@board_option
@clock_option
def bitstream_cmd(build_dir: Path, board: str | None, clock_mhz: float | None) -> None:
    """Build BUILD_DIR/hls/output/NAME.bit and .hwh; stops with a clear message when a tool is missing."""
    from compiler.codegen import project_for_build
    from compiler.codegen.tools import bitstream_files, ip_dir, run_hls, run_vivado

    try:
        _, proj = project_for_build(build_dir, board, clock_mhz)
        click.echo(f"HLS project {proj.path} for {proj.board.name} ({proj.board.part})")
        bit, hwh = bitstream_files(proj.path)
        if bit.is_file() and hwh.is_file():
            click.echo(f"up to date: {bit}, {hwh}")
            return
        if not ip_dir(proj.path).is_dir():
            click.echo(f"HLS IP: {run_hls(proj.path)}")
        bit, hwh = run_vivado(proj.path)
    except tool_errors() as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"bitstream: {bit}\nhwh: {hwh}")
