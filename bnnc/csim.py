"""`bnnc csim`: C-simulate a compiled model's HLS code with g++ and compare it with the NumPy simulator."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from bnnc.hls import tool_errors
from bnnc.options import board_option, clock_option


@click.command("csim")
@click.argument("build_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--frames", default=16, show_default=True, type=click.IntRange(min=1),
              help="random frames over the whole input datatype")
@click.option("--inputs", "inputs_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help=".npy batch of real inputs (N, *model input shape), run through the host pre-processing too")
@click.option("--seed", default=0, show_default=True)
@click.option("--batch", default=64, show_default=True, type=click.IntRange(min=1), help="frames per bnnc_top call")
@board_option
@clock_option
def csim_cmd(build_dir: Path, frames: int, inputs_path: Path | None, seed: int, batch: int, board: str | None,
             clock_mhz: float | None = None) -> None:
    """Generate BUILD_DIR/hls, compile it with g++ and check it bit for bit against the simulator."""
    run_csim(build_dir, frames, inputs_path, seed, batch, board, clock_mhz)


def run_csim(build_dir: Path, frames: int = 16, inputs_path: Path | None = None, seed: int = 0, batch: int = 64,
             board: str | None = None, clock_mhz: float | None = None) -> None:
    """What `bnnc csim` does, callable from `bnnc demo` without going through click."""
    from compiler.workflow.builds import project_for_build
    from compiler.backends.hls.csim import check_csim
    from compiler.sim.ir_inputs import random_inputs
    from compiler.sim.hostops import run_pre

    try:
        graph, proj = project_for_build(build_dir, board, clock_mhz)
        x = random_inputs(graph, frames, seed)
        if inputs_path is not None:
            try:
                real = np.load(inputs_path, allow_pickle=False)
            except Exception as e:
                raise click.ClickException(f"{inputs_path}: cannot read as .npy ({e})") from None
            bad = ~np.isfinite(real) if real.dtype.kind == "f" else None
            if bad is not None and bad.any():           # the runtime (boards.runtime.host_io) refuses them too
                i = tuple(int(j) for j in np.argwhere(bad)[0])
                raise click.ClickException(f"{inputs_path}: image value {real[i]} at index {i} is not finite")
            ints = np.asarray(run_pre(graph.input, real)).reshape(len(real), *graph.layers[0].in_shape)
            x = np.concatenate([ints.astype(np.int64), x])
        rep = check_csim(graph, proj.path, x, batch=batch, warn=lambda m: click.echo(f"warning: {m}", err=True))
    except tool_errors() as e:
        raise click.ClickException(str(e)) from None
    comp = "reused (sources unchanged)" if rep.reused_binary else f"{rep.compile_seconds:.1f} s"
    click.echo(f"C-sim {proj.path}: {rep.frames} frames, {rep.mismatched_elements} mismatched output elements "
               f"in {rep.mismatched_frames} frames")
    from bnnc.figures import estimate_line, speed_line

    click.echo(f"  g++ compile: {comp}; run: {rep.run_seconds:.3f} s in bnnc_top "
               f"({1000 * rep.run_seconds / rep.frames:.2f} ms/frame), {rep.wall_seconds:.3f} s with file I/O")
    click.echo(f"  {speed_line('csim', rep.frames / rep.run_seconds if rep.run_seconds > 0 else float('inf'))}")
    est = estimate_line(graph, proj.board.name, proj.clock_mhz)
    if est:
        click.echo(f"  {est}")
    if not rep.ok:
        raise click.ClickException(f"C simulation differs from the simulator: {rep.first_mismatch}")
