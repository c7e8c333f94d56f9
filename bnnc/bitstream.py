"""`bnnc bitstream`: HLS project -> IP (Vitis HLS) -> bitstream + hwh (Vivado), for a board; with --rtl the
generated Verilog (BUILD/rtl) goes straight into Vivado, no Vitis HLS."""
from __future__ import annotations

from pathlib import Path

import click

from bnnc.hls import tool_errors
from bnnc.options import board_option, clock_option


@click.command("bitstream")
@click.argument("build_dir", type=click.Path(file_okay=False, path_type=Path))
@board_option
@clock_option
@click.option("--rtl", is_flag=True, help="from the RTL backend's Verilog (BUILD_DIR/rtl; Vivado only, no Vitis HLS)")
def bitstream_cmd(build_dir: Path, board: str | None, clock_mhz: float | None, rtl: bool) -> None:
    """Build BUILD_DIR/hls/output/NAME.bit and .hwh (--rtl: BUILD_DIR/rtl/output/); stops with a clear message
    when a tool is missing."""
    if rtl:
        return _rtl_bitstream(build_dir, board, clock_mhz)
    from compiler.workflow.builds import project_for_build
    from compiler.backends.tools import bitstream_files, ip_dir, run_hls, run_vivado

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


def _rtl_bitstream(build_dir: Path, board: str | None, clock_mhz: float | None) -> None:
    from compiler.backends.rtl.project import generate_rtl
    from compiler.backends.rtl.vivado import bitstream_stem, built_bitstream, run_vivado, write_scripts
    from compiler.workflow.builds import load_build
    from compiler.workflow.target import resolve_target

    try:
        graph = load_build(build_dir)
        target = resolve_target(build_dir, board, clock_mhz)
        b, clock = target.board, target.clock_mhz
        stem = bitstream_stem(graph.name)
        project = generate_rtl(graph, Path(build_dir) / "rtl")
        script = write_scripts(project, stem, b, clock)
        click.echo(f"RTL project {project.path} for {b.name} ({b.part}) at {clock:g} MHz; Vivado script {script}")
        built = built_bitstream(project, stem, b, clock)
        if built is not None:
            click.echo(f"up to date: {built[0]}, {built[1]}")
            return
        bit, hwh = run_vivado(project, stem, b, clock)
    except tool_errors() as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"bitstream: {bit}\nhwh: {hwh}")
