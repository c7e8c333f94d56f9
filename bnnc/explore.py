"""`bnnc explore`: a design-space sweep of one model over boards x target FPS (compiler.workflow.explore), each point
compiled and estimated, optionally simulated (Verilator) and synthesized (Yosys), locally or on a Ray cluster."""
from __future__ import annotations

from pathlib import Path

import click

from bnnc.options import cluster_options, executor_for


@click.command("explore")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--boards", required=True, help="comma-separated boards (see `bnnc boards`), e.g. Pynq-Z2,ZCU104")
@click.option("--target-fps", "target_fps", required=True,
              help="comma-separated frames/s targets, or 'max', e.g. 10000,100000,max")
@click.option("--rtl", is_flag=True, default=False,
              help="size each point by the RTL library's cost and simulate its RTL in Verilator (bit-exact check, "
                   "measured cycles/frame)")
@click.option("--synth", is_flag=True, default=False,
              help="synthesize each point's RTL with Yosys for its board's family (sizes by the RTL library too)")
@click.option("--frames", type=click.IntRange(min=1), default=20, show_default=True, help="rtlsim frames per point")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="sweep folder: explore.json, explore.png, builds/<point>/, items/<point>.json; "
                   "run again to resume")
@cluster_options
def explore_cmd(model: Path, boards: str, target_fps: str, rtl: bool, synth: bool, frames: int, out_dir: Path,
                cluster: str | None, workers: int | None) -> None:
    """Compile MODEL for every board x target FPS and write OUT/explore.json and the Pareto plot OUT/explore.png."""
    from diagnostics.errors import BnncError
    from compiler.workflow.explore import explore, format_points, parse_boards, parse_fps_list

    try:
        board_list, fps_list = parse_boards(boards), parse_fps_list(target_fps)
        if not model.is_file():
            raise click.ClickException(f"model {model}: no such file")
    except BnncError as e:
        raise click.ClickException(str(e)) from None
    ex = executor_for(cluster, workers)
    try:
        with ex:
            fps_text = ", ".join(f if isinstance(f, str) else f"{f:g}" for f in fps_list)
            n = len(board_list) * len(fps_list)
            click.echo(f"explore: {n} point{'s' if n > 1 else ''} ({', '.join(board_list)} x {fps_text} "
                       f"FPS) on the {ex.describe()}", err=True)
            doc = explore(model, board_list, fps_list, out_dir, rtl=rtl, synth=synth, frames=frames, executor=ex)
    except BnncError as e:
        raise click.ClickException(str(e)) from None
    click.echo(format_points(doc))
    click.echo(f"explore: {out_dir / 'explore.json'}, {out_dir / 'explore.png'}")
    if doc["failed"]:
        raise click.ClickException(f"{len(doc['failed'])} of {len(doc['failed']) + len(doc['points'])} points "
                                   f"failed: {', '.join(f['key'] for f in doc['failed'])} (errors above and in "
                                   f"{out_dir / 'items'})")
