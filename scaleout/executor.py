"""The executor interface: run a list of Tasks, persist each finished item as it completes, skip what a previous
run finished, show progress per item and a summary table, and leave finished items in place on Ctrl-C.

The implementations (scaleout.local, scaleout.ray_executor) only say how tasks are executed (`_execute`); what a
user sees (resume, progress, failures by name, summary) is here, once."""
from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path

from tqdm import tqdm

from scaleout.store import ResultStore
from scaleout.task import Task, TaskResult


class ExecutorError(RuntimeError):
    """The executor itself cannot work (a cluster that cannot be reached, Ray not installed, a bad setting); a task's
    own failure is a failed TaskResult instead."""


class Executor(ABC):
    """Runs independent Tasks; subclasses implement `_execute`. `verbose` False silences the per-failure lines and
    the summary table (the progress bar follows tqdm's rule: shown when stderr is a terminal)."""

    name = "executor"
    verbose = True

    @abstractmethod
    def _execute(self, tasks: list[Task]) -> Iterator[TaskResult]:
        """Yield one TaskResult per task, in order of completion. Closing the generator early (Ctrl-C in the caller)
        must cancel what is still queued or running."""

    def describe(self) -> str:
        """One line saying where the tasks run (for logs and benchmark tables)."""
        return self.name

    def close(self) -> None:
        """Release the executor's resources (a Ray connection); the local executor has none between runs."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run(self, tasks: Iterable[Task], out_dir: Path | None = None, desc: str = "") -> dict[str, TaskResult]:
        """Run `tasks`, returning {key: TaskResult} in the order given. With `out_dir`, each finished item is written
        to out_dir/<key>.json as it completes and items already there are not run again (skipped=True). A failed item
        is a TaskResult with ok False and its error, never an exception mid-sweep. On KeyboardInterrupt the queued and
        running tasks are cancelled, the finished ones stay written, and the interrupt is re-raised."""
        tasks = list(tasks)
        seen: set[str] = set()
        for t in tasks:
            if not isinstance(t, Task):
                raise TypeError(f"expected scaleout.Task, got {type(t).__name__}")
            if t.key in seen:
                raise ValueError(f"duplicate task key {t.key!r}: every item of a sweep needs its own key")
            seen.add(t.key)
        store = ResultStore(out_dir) if out_dir is not None else None
        results: dict[str, TaskResult] = {}
        todo = []
        for t in tasks:
            r = store.load(t.key) if store else None
            if r is not None:
                results[t.key] = r
            else:
                todo.append(t)
        label = desc or "tasks"
        bar = tqdm(total=len(tasks), initial=len(results), desc=label, unit="item", disable=None, file=sys.stderr)
        if results and self.verbose:
            bar.write(f"{label}: {len(results)} of {len(tasks)} items already done in {out_dir}, skipped",
                      file=sys.stderr)
        failed = 0
        gen = self._execute(todo) if todo else iter(())
        try:
            for r in gen:
                results[r.key] = r
                if store is not None:
                    store.save(r)
                if not r.ok:
                    failed += 1
                    if self.verbose:
                        bar.write(f"{label}: {r.key} failed: {r.error}", file=sys.stderr)
                bar.update(1)
                if failed:
                    bar.set_postfix(failed=failed)
        except KeyboardInterrupt:
            done = sum(1 for t in tasks if t.key in results and results[t.key].ok)
            where = f", kept in {out_dir} (run again to resume)" if store is not None else ""
            bar.write(f"{label}: interrupted; remaining tasks cancelled; {done} of {len(tasks)} items finished{where}",
                      file=sys.stderr)
            raise
        finally:
            close = getattr(gen, "close", None)
            if close is not None:
                close()
            bar.close()
        missing = [t.key for t in tasks if t.key not in results]
        if missing:
            raise ExecutorError(f"{self.name}: no result for {len(missing)} tasks ({', '.join(missing[:5])})")
        ordered = {t.key: results[t.key] for t in tasks}
        if self.verbose and ordered:
            print(summary_table(ordered, label, self.describe()), file=sys.stderr)
        return ordered


def summary_table(results: dict[str, TaskResult], label: str = "tasks", where: str = "") -> str:
    """The end-of-sweep table: one row per item (status, seconds, error), then the totals; long sweeps list only
    the failed items row by row."""
    rows = list(results.values())
    n_ok = sum(r.ok and not r.skipped for r in rows)
    n_skip = sum(r.skipped for r in rows)
    n_fail = sum(not r.ok for r in rows)
    shown = rows if len(rows) <= 40 else [r for r in rows if not r.ok]
    w = max([len("item")] + [len(r.key) for r in shown])
    lines = [f"{label}: {len(rows)} items" + (f" on {where}" if where else ""),
             f"  {'item':{w}}  {'status':8} {'seconds':>9}  error"] if shown else \
            [f"{label}: {len(rows)} items" + (f" on {where}" if where else "")]
    for r in shown:
        status = "done" if r.skipped else ("ok" if r.ok else "FAILED")
        secs = f"{r.seconds:9.2f}" + ("*" if r.skipped else " ")
        lines.append(f"  {r.key:{w}}  {status:8} {secs} {r.error or ''}".rstrip())
    total = sum(r.seconds for r in rows if not r.skipped)
    lines.append(f"  {n_ok} ran ok, {n_skip} already done (* seconds of the earlier run), {n_fail} failed; "
                 f"{total:.1f} s of task time this run")
    return "\n".join(lines)
