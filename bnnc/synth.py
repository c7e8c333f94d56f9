"""`bnnc synth`: Yosys synthesis of a compiled model's RTL for its board's FPGA family, beside the estimates."""
from __future__ import annotations

from pathlib import Path

import click

from bnnc.hls import tool_errors


@click.command("synth")
@click.argument("build_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--board", default=None,
              help="board whose FPGA family to target (default: the build's, else its HLS project's, else Pynq-Z2)")
def synth_cmd(build_dir: Path, board: str | None) -> None:
    """Generate BUILD_DIR/rtl, synthesise it with Yosys (synth_xilinx) and write BUILD_DIR/synth.json."""
    from compiler.backends.rtl.reports import RESOURCE_KEYS
    from compiler.workflow.rtl_runs import synth_build
    from compiler.backends.rtl.yosys import YOSYS, family_for_part, tool_version
    from compiler.workflow.report import refresh_report
    from compiler.workflow.target import resolve_target

    try:
        tool_version(YOSYS)
        b = resolve_target(build_dir, board).board
        click.echo(f"synthesising {Path(build_dir) / 'rtl'} with Yosys synth_xilinx -family {family_for_part(b.part)} "
                   f"({b.name}, {b.part}) ...")
        doc = synth_build(Path(build_dir), b.name)
    except tool_errors() as e:
        raise click.ClickException(str(e)) from None
    out = Path(build_dir) / "synth.json"
    click.echo(f"{'layer':24} " + " ".join(f"{k:>15}" for k in RESOURCE_KEYS) + "   (synth / estimate)")
    for l in doc["layers"]:
        click.echo(f"{l['name'][:24]:24} " + " ".join(f"{str(l['synth'][k]) + '/' + str(l['estimated'][k]):>15}"
                                                      for k in RESOURCE_KEYS))
    click.echo(f"{'total':24} " + " ".join(f"{str(doc['total'][k]) + '/' + str(doc['estimated_total'][k]):>15}"
                                          for k in RESOURCE_KEYS))
    click.echo(f"{doc['tool']}, {doc['seconds']} s; report: {out} (post-synthesis, no place and route)")
    rep = refresh_report(build_dir)
    if rep is not None and rep.get("synth"):
        click.echo(f"folding report: {Path(build_dir) / 'report.txt'} (synthesized beside estimated)")
