"""What the executors run: a named, picklable call (Task) and its outcome (TaskResult).

`run_task` is the one place a task body runs, in-process, in a pool worker or in a Ray worker, so every executor
reports errors and normalises values the same way (the same seeds give the same JSON everywhere)."""
from __future__ import annotations

import json
import re
import time
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

# Keys become file names (out_dir/<key>.json): no path separators, no leading dot, no spaces.
KEY_RE = re.compile(r"^[A-Za-z0-9_+=,@-][A-Za-z0-9_.+=,@-]{0,199}$")


@dataclass(frozen=True)
class Task:
    """One independent item of a sweep. `fn` must be a module-level function (picklable by reference) returning a
    JSON-serialisable value; `num_cpus`/`num_gpus` are what it needs (the Ray executor schedules by them)."""
    key: str
    fn: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    num_cpus: float = 1.0
    num_gpus: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not KEY_RE.match(self.key):
            raise ValueError(f"task key {self.key!r}: use 1-200 characters of letters, digits and _.+=,@- "
                             "(not starting with '.'); it names the file <key>.json")
        if not callable(self.fn):
            raise TypeError(f"task {self.key}: fn {self.fn!r} is not callable")
        if self.num_cpus < 0 or self.num_gpus < 0:
            raise ValueError(f"task {self.key}: num_cpus/num_gpus must be >= 0")


@dataclass(frozen=True)
class TaskResult:
    """The outcome of one Task. `value` is the JSON round-trip of what fn returned (tuples become lists), `error` a
    one-line 'ExceptionType: message' for a failed task (the traceback is in `traceback`), `skipped` True when the
    result was read back from a previous run's out_dir."""
    key: str
    ok: bool
    value: Any
    error: str | None
    seconds: float
    skipped: bool = False
    traceback: str | None = None

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("skipped")
        return d

    @classmethod
    def from_json(cls, d: dict, skipped: bool = False) -> "TaskResult":
        return cls(key=d["key"], ok=bool(d["ok"]), value=d.get("value"), error=d.get("error"),
                   seconds=float(d.get("seconds", 0.0)), skipped=skipped, traceback=d.get("traceback"))


def error_line(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0]}" if msg else type(e).__name__


def run_task(key: str, fn: Callable[..., Any], args: tuple, kwargs: dict) -> TaskResult:
    """Call fn(*args, **kwargs) and return its TaskResult; an exception (or a value JSON cannot hold) is a failed
    result, not a raise, so one bad item never stops a sweep."""
    t0 = time.perf_counter()
    try:
        value = fn(*args, **kwargs)
        try:
            value = json.loads(json.dumps(value, allow_nan=True))
        except (TypeError, ValueError) as e:
            raise TypeError(f"the task returned a value JSON cannot hold ({e})") from None
    except Exception as e:                        # noqa: BLE001 -- any failure of the item is reported, by name
        return TaskResult(key, False, None, error_line(e), time.perf_counter() - t0, False, traceback.format_exc())
    return TaskResult(key, True, value, None, time.perf_counter() - t0)
