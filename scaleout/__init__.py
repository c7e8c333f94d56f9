"""scaleout: run the independent items of a sweep (compression candidates, seeds, compile/rtlsim/synth points,
benchmark loops) locally or on a Ray cluster, behind one interface.

    from scaleout import Task, make_executor
    ex = make_executor(cluster=None)            # local; "auto", "HOST:PORT" or RAY_ADDRESS: Ray
    results = ex.run([Task("a", f, (1,)), Task("b", f, (2,))], out_dir=Path("out"), desc="sweep")

A leaf package: it imports nothing from bnn, compiler, boards or bnnc, and imports Ray only when a cluster is asked
for (Ray is the optional extra `bnnc[ray]`)."""
from __future__ import annotations

import os

from scaleout.executor import Executor, ExecutorError, summary_table
from scaleout.local import LocalExecutor, available_cores
from scaleout.task import Task, TaskResult

__all__ = ["Task", "TaskResult", "Executor", "ExecutorError", "LocalExecutor", "make_executor", "sweep_executor",
           "available_cores", "summary_table"]


def make_executor(cluster: str | None = None, workers: int | None = None) -> Executor:
    """The executor for `cluster`: None (and no RAY_ADDRESS in the environment) or "local" gives the local executor
    (in-process for workers == 1, else a process pool of `workers`, default the cores); "auto", a Ray address
    ("HOST:PORT", "ray://HOST:PORT") or RAY_ADDRESS gives the Ray executor, connected now (ExecutorError within
    seconds if the cluster cannot be reached or Ray is not installed). For Ray, `workers` caps the tasks in flight
    (default: as many as the cluster's resources allow)."""
    address = cluster if cluster is not None else (os.environ.get("RAY_ADDRESS") or None)
    if address is None or address == "local":
        return LocalExecutor(workers)
    from scaleout.ray_executor import RayExecutor

    return RayExecutor(address, max_in_flight=workers)


def sweep_executor(cluster: str | None = None, workers: int | None = None) -> Executor:
    """What `--cluster`/`--workers` mean for bnnc's sweeps (compress, the benchmarks): in this process unless
    `workers` or a cluster (`cluster`, else RAY_ADDRESS) is given; on a cluster every item may be in flight unless
    `workers` caps it. ExecutorError within seconds when the cluster cannot be reached."""
    address = cluster if cluster is not None else (os.environ.get("RAY_ADDRESS") or None)
    on_ray = address is not None and address != "local"
    return make_executor(cluster, workers if workers is not None else (None if on_ray else 1))
