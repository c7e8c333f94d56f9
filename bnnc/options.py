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


def cluster_options(f: Callable) -> Callable:
    """--cluster ADDRESS and --workers N: where a sweep's independent items run (scaleout.make_executor)."""
    f = click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="local: processes (default: the cores; 1 = in this process); Ray: tasks in flight "
                          "(default: as the cluster's resources allow)")(f)
    return click.option("--cluster", default=None, metavar="ADDRESS",
                        help="run the items as Ray tasks on this cluster: a Ray address HOST:PORT, or 'auto' for the "
                             "cluster started on this machine (default: $RAY_ADDRESS if set, else the local "
                             "executor; 'local' forces it). Needs `pip install bnnc[ray]`")(f)


def executor_for(cluster: str | None, workers: int | None):
    """The scaleout executor for --cluster/--workers; an unreachable cluster or missing Ray is a ClickException."""
    from scaleout import ExecutorError, make_executor

    try:
        return make_executor(cluster, workers)
    except ExecutorError as e:
        raise click.ClickException(str(e)) from None
