"""How many threads the golden model (compiler.sim.simulate) may use, and where they go.

Two levels share the cores: `Simulator.run_layers` splits a batch's rows into parts (PARTS_PER_THREAD per
thread) and runs each part through the whole layer chain on the calling thread or a row-pool helper (map_rows);
there every kernel runs on one thread (`single_threaded`: one-thread onnxruntime sessions, no XNOR row blocks),
so the two levels never compete for the same cores. A batch runs on the calling thread instead, with the kernels'
own threading, when a part would get fewer than ROWS_PER_THREAD rows or the graph does less than ROW_POOL_MACS
multiply-accumulates per frame (the MLPs): then the elementwise passes (the thresholds, the host's input
quantizer) split their rows over the threads (`split_rows`) once a call has SPLIT_MIN_ELEMENTS elements, the XNOR
kernel uses its pool, and the onnxruntime GEMM gets `gemm_threads()` intra-op threads (one unless
BNNC_SIM_GEMM_THREADS says more).

Why so little threading for small work: on the 2-core VM this was measured on, waking a helper thread costs
~0.15-0.2 ms, and a thread that needs the GIL while the other holds it sleeps as long; a row half written on one
core and read on the other (a 2-thread GEMM's output, then the thresholds) costs about what the GEMM's second
thread saves. So the second core only pays where one hand-over buys a large, GIL-free piece of work.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: fewest rows a part of the row pool gets: below this, per-layer Python overhead outweighs the second core
ROWS_PER_THREAD = 16
#: matrix multiply-accumulates per row (frame) from which the row pool is used. Below it (the MLPs: LFC has 3M)
#: a part is a few milliseconds of short kernel calls that release and retake the GIL per layer, and on a loaded
#: machine the parts waited for descheduled helpers: LFC-W1A1/W2A2 at 2 threads ran at 0.14-0.6x of the
#: single-chain simulator (benchmarks/simulator_throughput.py, 6 jobs on 2 cores); CNV-W1A1 (57M) gained
#: 1.06-1.96x in the same runs
ROW_POOL_MACS = 10_000_000
#: elements from which an elementwise kernel's rows are split over the threads (split_rows): below it the hand-over
#: to a helper costs more than the half it saves. At 1 << 16 (LFC's 100 x 1024 thresholds split), LFC-W1A1 at 2
#: threads and batch 100 fell from 61.5k to 55.3k img/s (benchmarks/simulator_throughput.py, idle machine); at
#: 1 << 19 only batches of ~500+ rows of a 1024-wide layer split
SPLIT_MIN_ELEMENTS = 1 << 19
#: row parts per thread: more, smaller parts let the caller take over a helper's share when it is descheduled
PARTS_PER_THREAD = 2

_local = threading.local()


def sim_threads() -> int:
    """Threads the golden model may use: 1 inside a row-pool worker (single_threaded), else BNNC_SIM_THREADS,
    else OMP_NUM_THREADS (what BLAS obeys too), else the CPUs this process may run on."""
    if getattr(_local, "single", False):
        return 1
    for var in ("BNNC_SIM_THREADS", "OMP_NUM_THREADS"):
        v = os.environ.get(var, "")
        if v.isdigit() and int(v) > 0:
            return int(v)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def gemm_threads() -> int:
    """Intra-op threads of an MVTU's onnxruntime GEMM session: BNNC_SIM_GEMM_THREADS (at most sim_threads()),
    else 1. A 2-thread session made LFC-W2A2's whole chain slower at 2 threads, batch 100 and 1000 (module
    docstring); `BNNC_SIM_GEMM_THREADS=2 benchmarks/simulator_throughput.py ...` measures it again."""
    v = os.environ.get("BNNC_SIM_GEMM_THREADS", "")
    return max(1, min(int(v), sim_threads())) if v.isdigit() and int(v) > 0 else 1


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Within this block (this thread only), sim_threads() is 1: kernels prepared or run here use one thread."""
    old = getattr(_local, "single", False)
    _local.single = True
    try:
        yield
    finally:
        _local.single = old


@functools.cache
def _row_pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="bnnc-sim-rows")


def map_rows(fn: Callable[[T], R], parts: Sequence[T], threads: int) -> list[R]:
    """[fn(part) for part in parts], on the calling thread and up to threads - 1 row-pool helpers, every call
    single_threaded. Parts are claimed one at a time, the caller working too: on a loaded machine where a helper
    is not scheduled in time, the caller takes its parts instead of waiting for it (helpers that have not
    started by then are cancelled), so a busy second core costs little over one thread."""
    out: list = [None] * len(parts)
    claim = itertools.count()                 # next() is atomic under the GIL
    lock = threading.Lock()

    def work() -> None:
        with single_threaded():
            while True:
                with lock:
                    i = next(claim)
                if i >= len(parts):
                    return
                out[i] = fn(parts[i])

    pool = _row_pool(max(1, threads - 1))
    helpers = [pool.submit(work) for _ in range(min(threads, len(parts)) - 1)]
    work()
    for h in helpers:
        if not h.cancel():
            h.result()
    return out


def row_parts(rows: int, elements: int) -> list[slice]:
    """range(rows) as sim_threads() row slices when the work has at least SPLIT_MIN_ELEMENTS elements, else one."""
    k = min(sim_threads(), rows) if elements >= SPLIT_MIN_ELEMENTS else 1
    if k <= 1:
        return [slice(0, rows)]
    bounds = [rows * i // k for i in range(k + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def split_rows(fn: Callable[[slice], R], rows: int, elements: int) -> list[R]:
    """[fn(s) for s in row_parts(rows, elements)], the parts on the row pool (map_rows, the caller working too).

    For elementwise kernels over rows (NumPy ufuncs release the GIL), e.g. writing disjoint rows of one output.
    """
    parts = row_parts(rows, elements)
    if len(parts) == 1:
        return [fn(parts[0])]
    return map_rows(fn, parts, sim_threads())
