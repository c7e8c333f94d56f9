"""`bnnc hls`: generate the HLS project of a compiled model (and synthesise it when Vitis HLS is installed)."""
from __future__ import annotations

from pathlib import Path

import click

from bnnc.options import BOARD_HELP, board_option, clock_option  # noqa: F401  (BOARD_HELP: old import path)


def tool_errors():
    """Errors the HLS commands turn into clean CLI messages."""
    from diagnostics.errors import BnncError

    return (BnncError,)


@click.command("hls")
@click.argument("build_dir", type=click.Path(file_okay=False, path_type=Path))
@board_option
@clock_option
@click.option("--synth/--no-synth", default=True, show_default=True, help="run vitis_hls when it is on PATH")
@click.option("--require-tools", is_flag=True, help="fail (exit 1) when vitis_hls is not on PATH")
def hls_cmd(build_dir: Path, board: str | None, clock_mhz: float | None, synth: bool, require_tools: bool) -> None:
    """Write BUILD_DIR/hls: HLS C++ (weights, top function, testbench) + Vitis HLS and Vivado Tcl."""
    from compiler.workflow.builds import project_for_build
    from compiler.backends.tools import ToolMissing, run_hls

    try:
        graph, proj = project_for_build(build_dir, board, clock_mhz)
    except tool_errors() as e:
        raise click.ClickException(str(e)) from None
    i, o = proj.plan.input, proj.plan.output
    click.echo(f"generated {proj.path}: {len(graph.layers)} layers in {len(proj.plan.stages)} stages for "
               f"{proj.board.name} ({proj.board.part}) at {proj.clock_mhz:g} MHz")
    click.echo(f"  input  {i.words_per_frame} words x {i.word_bytes} B ({i.elems_per_word} x {i.dtype}) per frame")
    click.echo(f"  output {o.words_per_frame} words x {o.word_bytes} B ({o.elems_per_word} x {o.dtype}) per frame")
    if not synth:
        return
    try:
        ip = run_hls(proj.path)
    except ToolMissing as e:
        if require_tools:
            raise click.ClickException(str(e)) from None
        click.echo(f"note: {e}")
        return
    except tool_errors() as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"HLS IP: {ip}")
