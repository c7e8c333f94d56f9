"""Options several commands share, spelled one way everywhere (old spellings stay as hidden aliases)."""
from __future__ import annotations

import functools
from typing import Callable

import click

BOARD_HELP = ("target board (see `bnnc boards`; default: the board the build was compiled for, else the project's "
              "previous board, else Pynq-Z2)")


def board_option(f: Callable) -> Callable:
    return click.option("--board", default=None, help=BOARD_HELP)(f)


def clock_option(f: Callable) -> Callable:
    """--clock-mhz (fabric clock); `--clock` is accepted as a deprecated alias."""
    @functools.wraps(f)
    def wrapper(*args, clock_mhz: float | None = None, clock_deprecated: float | None = None, **kwargs):
        if clock_deprecated is not None:
            click.echo("note: --clock is deprecated; use --clock-mhz", err=True)
            if clock_mhz is not None and clock_mhz != clock_deprecated:
                raise click.UsageError("give the clock once, with --clock-mhz")
            clock_mhz = clock_deprecated
        return f(*args, clock_mhz=clock_mhz, **kwargs)

    wrapper = click.option("--clock", "clock_deprecated", type=float, default=None, hidden=True)(wrapper)
    return click.option("--clock-mhz", "clock_mhz", type=float, default=None,
                        help="fabric clock in MHz (default: the build's, else the board's)")(wrapper)


def verbose() -> bool:
    """Whether `bnnc -v` was given (False outside a click command)."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return bool(obj and obj.get("verbose"))
