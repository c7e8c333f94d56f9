"""`bnnc rtlsim`: co-simulation of a compiled model's RTL (Verilator, or Icarus Verilog as a second, four-state
simulator), bit for bit against the NumPy simulator."""
from __future__ import annotations

from pathlib import Path

import click

from bnnc.hls import tool_errors


@click.command("rtlsim")
@click.argument("build_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--frames", default=50, show_default=True, type=click.IntRange(min=1),
              help="random frames over the whole input datatype")
@click.option("--seed", default=0, show_default=True)
@click.option("--stall-seed", type=int, default=None,
              help="withhold input valid / output ready on random cycles (tests every handshake path)")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(min=1), help="parallel C++ compile jobs")
@click.option("--simulator", type=click.Choice(["verilator", "icarus"]), default="verilator", show_default=True,
              help="icarus: Icarus Verilog, event-driven and four-state (X on a handshake or output is an error); "
                   "much slower, for small designs and few frames")
def rtlsim_cmd(build_dir: Path, frames: int, seed: int, stall_seed: int | None, jobs: int, simulator: str) -> None:
    """Generate BUILD_DIR/rtl, simulate it (Verilator by default), write BUILD_DIR/rtlsim.json; exit 0 iff the
    outputs equal the simulator's."""
    run_rtlsim(build_dir, frames, seed, stall_seed, jobs, simulator)


def run_rtlsim(build_dir: Path, frames: int = 50, seed: int = 0, stall_seed: int | None = None, jobs: int = 1,
               simulator: str = "verilator") -> dict:
    """What `bnnc rtlsim` does, callable from `bnnc demo`: returns the rtlsim.json it wrote; ClickException on a
    mismatch, a deadlock or a missing tool."""
    from compiler.workflow.rtl_runs import rtlsim_build
    from compiler.backends.rtl.verilator import RtlsimDeadlock

    try:
        doc, rep, project = rtlsim_build(Path(build_dir), frames, seed, stall_seed, jobs, simulator)
    except RtlsimDeadlock as e:                     # before tool_errors(): a deadlock is a CompileError too
        raise click.ClickException(f"{e}\n  report: {e.report}") from None
    except tool_errors() as e:
        raise click.ClickException(str(e)) from None
    tool, out = doc["tool"], Path(build_dir) / "rtlsim.json"
    build = "reused (sources unchanged)" if rep.reused_build else f"{rep.build_seconds:.1f} s"
    click.echo(f"rtlsim {project.path} ({tool}): {rep.frames} frames, {rep.mismatches} mismatched output elements "
               f"in {rep.mismatched_frames} frames")
    click.echo(f"  cycles/frame {doc['cycles_per_frame']} (estimate {doc['estimated_cycles_per_frame']}), "
               f"latency {doc['latency_cycles']} cycles (estimate {doc['estimated_latency_cycles']})")
    click.echo("  FIFO high-water marks: " + ", ".join(
        f"{f['fifo']} {f['max_level']}/{f['depth']}"
        + (f" (compiler.estimate.fifo depth {f['computed_depth']})" if f.get("role") == "branch" else "") for f in doc["fifos"]))
    name = "Verilator build" if simulator == "verilator" else "Icarus compile"
    click.echo(f"  {name}: {build}; run {rep.run_seconds:.2f} s = {rep.frames_per_second:,.1f} simulated frames "
               f"per host second; report: {out}")
    if not rep.ok:
        raise click.ClickException(f"RTL simulation differs from the simulator: {rep.first_mismatch}")
    return doc
