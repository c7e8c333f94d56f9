"""`bnnc boards`: the boards bnnc can size designs for, with their FPGA part and fabric budget."""
from __future__ import annotations

import json

import click


@click.command("boards")
@click.option("--json", "as_json", is_flag=True, help="print the catalog as JSON (with the source of each figure)")
def boards_cmd(as_json: bool) -> None:
    """List supported boards: part, PS, default fabric clock, LUT/FF/BRAM18/URAM/DSP and the DMA shell."""
    from boards.catalog import board_table, list_boards

    if as_json:
        click.echo(json.dumps([{**row, "sources": dict(b.sources)} for row, b in zip(board_table(), list_boards())],
                              indent=1))
        return
    rows = board_table()
    cols = [("board", "board"), ("part", "part"), ("ps", "PS"), ("clock_mhz", "MHz"), ("lut", "LUT"), ("ff", "FF"),
            ("bram18", "BRAM18"), ("uram", "URAM"), ("dsp", "DSP"), ("shell", "shell")]
    cells = [[h for _, h in cols]] + [[f"{r[k]:g}" if isinstance(r[k], float) else f"{r[k]:,}" if isinstance(r[k], int)
                                       else str(r[k]) for k, _ in cols] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
    for n, row in enumerate(cells):
        click.echo("  ".join(c.rjust(w) if 3 <= i <= 8 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if n == 0:
            click.echo("-" * (sum(widths) + 2 * (len(widths) - 1)))
