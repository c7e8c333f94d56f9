"""Module-level task bodies for the scaleout tests (a pool or Ray worker imports them by name)."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def square(x: int) -> dict:
    return {"x": x, "square": x * x, "pair": (x, -x)}


def record_call(log: str, x: int) -> int:
    """Appends a line to `log` for each call: the tests count how often an item really ran."""
    with open(log, "a") as f:
        f.write(f"{x}\n")
    return x * 10


def fail_on(x: int, bad: int) -> int:
    if x == bad:
        raise ValueError(f"item {x} is bad\nsecond line of the message")
    return x


def not_json(x: int) -> object:
    return {"x": object()}


def die_once(marker: str, x: int) -> int:
    """Kills its own process the first time (the marker file does not exist yet); returns x on the retry."""
    m = Path(marker)
    if not m.exists():
        m.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def sleep_and_report(pid_file: str, seconds: float) -> int:
    """Writes its process id, then sleeps (a long item that the test interrupts or kills)."""
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()


def interrupt_on(x: int, at: int) -> int:
    """Raises KeyboardInterrupt at item `at`, as Ctrl-C does in the middle of an in-process item."""
    if x == at:
        raise KeyboardInterrupt
    return x
