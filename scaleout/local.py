"""The default executor: in-process for one worker, else a pool of fresh Python processes (spawn) sized to the
cores. No Ray needed.

Fresh processes (not fork) because the driver may hold torch/OpenMP threads, and because a Ray worker is a fresh
interpreter too: a task sees the same state under both executors."""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from scaleout.executor import Executor, ExecutorError
from scaleout.task import Task, TaskResult, run_task


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                        # not Linux
        return max(1, os.cpu_count() or 1)


def _worker_init(threads: int) -> None:
    # Ctrl-C goes to the whole terminal process group: the driver cancels and stops the workers itself, so a worker
    # must not die half-way through writing its result pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # each worker's share of the cores for OpenMP (torch, BLAS), as Ray does for its workers, unless the user chose;
    # set before any task imports them
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))


class LocalExecutor(Executor):
    """Tasks in this process (`workers` == 1) or in a process pool of `workers` processes (default: the cores).
    A pool worker that dies (killed, out of memory) breaks the pool: its tasks are retried on a fresh pool up to
    `max_retries` times, then reported failed. A pool that finished its run cleanly is kept for the executor's next
    run of as many processes (`bnnc compress --workers N` runs training, then building: each fresh process costs
    seconds of imports); `close()` (or the end of a `with` block) stops it."""

    def __init__(self, workers: int | None = None, max_retries: int = 2):
        if workers is not None and workers < 1:
            raise ExecutorError(f"workers must be >= 1, got {workers}")
        self.workers = workers or available_cores()
        self.max_retries = max_retries
        self.name = "local"
        self._kept: tuple[int, ProcessPoolExecutor, set] | None = None    # (processes, pool, children before it)

    def describe(self) -> str:
        if self.workers == 1:
            return "local executor, in-process"
        return f"local executor, pool of {self.workers} processes ({available_cores()} cores)"

    def _execute(self, tasks: list[Task]) -> Iterator[TaskResult]:
        if self.workers == 1 or len(tasks) == 1:
            for t in tasks:
                yield run_task(t.key, t.fn, t.args, t.kwargs)
            return
        yield from self._pool(tasks)

    def close(self) -> None:
        """Stop the pool kept from the last run, if any."""
        kept, self._kept = self._kept, None
        if kept is not None:
            kept[1].shutdown(wait=True)

    def _pool(self, tasks: list[Task]) -> Iterator[TaskResult]:
        ctx = mp.get_context("spawn")
        attempts = {t.key: 0 for t in tasks}
        pending = list(tasks)
        while pending:
            n = min(self.workers, len(pending))
            kept, self._kept = self._kept, None
            if kept is not None and kept[0] == n:
                _, pool, before = kept
            else:
                if kept is not None:
                    kept[1].shutdown(wait=True)
                before = set(mp.active_children())
                pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_worker_init,
                                           initargs=(max(1, available_cores() // n),))
            futures: dict[Future, Task] = {}
            broken: list[Task] = []
            clean = False
            try:
                for t in pending:
                    futures[pool.submit(run_task, t.key, t.fn, t.args, t.kwargs)] = t
                pending = []
                while futures:
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for f in done:
                        t = futures.pop(f)
                        try:
                            yield f.result()
                        except BrokenProcessPool:
                            broken.append(t)
                        except Exception as e:     # noqa: BLE001 -- e.g. arguments that cannot be pickled
                            yield TaskResult(t.key, False, None, f"{type(e).__name__}: {e} (could not be sent to or "
                                             "from the worker process)", 0.0)
                clean = True
            finally:
                if clean and not broken:
                    self._kept = (n, pool, before)        # for the next run; close() stops it
                elif clean:
                    pool.shutdown(wait=True)
                else:                              # Ctrl-C or the caller stopped early: stop queued and running work
                    for f in futures:
                        f.cancel()
                    for p in set(mp.active_children()) - before:
                        p.terminate()
                    pool.shutdown(wait=True, cancel_futures=True)
            for t in broken:
                attempts[t.key] += 1
                if attempts[t.key] > self.max_retries:
                    yield TaskResult(t.key, False, None, f"worker process died {attempts[t.key]} times running this "
                                     "task (killed, or out of memory)", 0.0)
                else:
                    pending.append(t)
