"""Progress of the steps that can take seconds to minutes (lowering, verification, folding search, code
generation, g++ builds, C-sim and accelerator runs), reported through one switch.

The library only calls `step(...)`; nothing is shown unless the caller turned reporting on with `reporting()`
(the `bnnc` CLI does; tests and library users stay quiet). Bars go to stderr (stdout stays the command's result)
and only when stderr is a terminal, or always with `verbose`. tqdm is imported only when a bar is shown, so the
board runtime keeps its numpy-only imports.
"""
from __future__ import annotations

import io
import os
import sys
import threading
from contextlib import contextmanager
from typing import IO, Iterator

_state: dict = {"on": False, "stream": None, "depth": 0}


def active() -> bool:
    """Whether progress is being shown (the CLI turned it on and the stream qualifies)."""
    return bool(_state["on"])


@contextmanager
def reporting(verbose: bool = False, stream: IO[str] | None = None) -> Iterator[bool]:
    """Show progress inside this block: to `stream` (default stderr) when it is a terminal, or always if
    `verbose`. Yields whether bars will be shown."""
    stream = stream if stream is not None else sys.stderr
    on = bool(verbose or (hasattr(stream, "isatty") and stream.isatty()))
    prev = dict(_state)
    _state.update(on=on, stream=stream, depth=0)
    try:
        yield on
    finally:
        _state.clear()
        _state.update(prev)


def _size(stream) -> tuple[int, int]:
    """(columns, rows) of the terminal behind `stream`; (0, 0) for a file or pipe."""
    try:
        return tuple(os.get_terminal_size(stream.fileno()))
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return 0, 0


class Step:
    """One reported step: `update(n)` advances a counted step, `note(text)` shows what it is on."""

    def __init__(self, bar=None):
        self._bar = bar

    def update(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)


@contextmanager
def step(desc: str, total: int | None = None, unit: str = "it") -> Iterator[Step]:
    """A step of the work. With `total` it is a counted bar (call `update`); without one the elapsed time
    ticks on its own, for steps that are a single call (a g++ build, QONNX execution). A no-op when quiet."""
    if not _state["on"]:
        yield Step()
        return
    from tqdm import tqdm

    sized = all(_size(_state["stream"]))     # tqdm draws nothing on a terminal reporting 0 columns or rows
    depth = _state["depth"]                 # a step inside another (a C-sim call in a run) is cleared when done
    bar = tqdm(total=total, desc=desc, unit=unit, file=_state["stream"], leave=depth == 0, position=depth,
               dynamic_ncols=sized,
               ncols=None if sized else 100, nrows=None if sized else 24,
               bar_format=None if total is not None else "{desc}: {elapsed}{postfix}")
    stop = threading.Event()
    ticker = None
    if total is None:
        def tick() -> None:
            while not stop.wait(0.5):
                bar.refresh()

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
    _state["depth"] = depth + 1
    try:
        yield Step(bar)
    finally:
        _state["depth"] = depth
        stop.set()
        if ticker is not None:
            ticker.join()
        bar.close()


def batches(n: int, batch: int, desc: str, unit: str = "frame") -> Iterator[int]:
    """`range(0, n, batch)` with a bar counting the `n` items as each batch starts: one call site change for
    a batched loop."""
    with step(desc, total=n, unit=unit) as bar:
        for s in range(0, n, batch):
            yield s
            bar.update(min(batch, n - s))
