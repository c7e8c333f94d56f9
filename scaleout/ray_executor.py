"""The Ray executor: each Task is a Ray remote task declaring its `num_cpus`/`num_gpus`, retried by Ray when its
worker process dies (`max_retries`); a task's own exception is not retried (it is a failed item, as locally).

Ray is imported here only, so the rest of bnnc works without it (`pip install bnnc[ray]` adds it)."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

from scaleout.executor import Executor, ExecutorError
from scaleout.task import Task, TaskResult, error_line, run_task


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of 'HOST:PORT' or 'ray://HOST:PORT'; None for 'auto' (Ray finds the cluster it started)."""
    a = address.removeprefix("ray://")
    if address == "auto":
        return None
    host, sep, port = a.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ExecutorError(f"--cluster {address!r}: give a Ray address HOST:PORT (the head's GCS port, 6379 by "
                            "default), ray://HOST:PORT, or 'auto' for the cluster started on this machine")
    return host.strip("[]"), int(port)


def _check_reachable(address: str, timeout: float) -> None:
    """A TCP connection to the head within `timeout` s: ray.init itself retries an absent head for minutes."""
    hp = _host_port(address)
    if hp is None:
        return
    try:
        with socket.create_connection(hp, timeout=timeout):
            pass
    except OSError as e:
        raise ExecutorError(f"Ray cluster at {address} cannot be reached ({e.strerror or e}); start one with "
                            "`ray start --head` or check --cluster / RAY_ADDRESS") from None


class RayExecutor(Executor):
    """Tasks as Ray remote tasks on the cluster at `address` ('auto', 'HOST:PORT', 'ray://HOST:PORT'), connected at
    construction (ExecutorError within `connect_timeout` s when it cannot be). `max_in_flight` caps the tasks
    submitted at once (default: all; Ray queues them by their resources). A task whose worker dies is retried
    `max_retries` times by Ray."""

    name = "ray"

    def __init__(self, address: str, max_in_flight: int | None = None, max_retries: int = 3,
                 connect_timeout: float = 20.0):
        try:
            import ray
        except ImportError:
            raise ExecutorError(f"--cluster {address} needs Ray, which is not installed: pip install 'bnnc[ray]' "
                                "(or leave out --cluster / unset RAY_ADDRESS for the local executor)") from None
        if max_in_flight is not None and max_in_flight < 1:
            raise ExecutorError(f"workers (tasks in flight) must be >= 1, got {max_in_flight}")
        self._ray = ray
        self.address = address
        self.max_in_flight = max_in_flight
        self.max_retries = max_retries
        self._owns_connection = False
        if not ray.is_initialized():
            _check_reachable(address, min(5.0, connect_timeout))
            self._connect(address, connect_timeout)
            self._owns_connection = True
        self._remote = ray.remote(run_task)

    def _connect(self, address: str, timeout: float) -> None:
        box: dict = {}

        def init() -> None:
            try:
                # ERROR: Ray warns that it sets no SIGTERM handler off the main thread, which is meant here
                box["ctx"] = self._ray.init(address=address, logging_level="ERROR", log_to_driver=True)
            except Exception as e:                 # noqa: BLE001 -- reported below as ExecutorError
                box["error"] = e

        th = threading.Thread(target=init, name="ray-connect", daemon=True)
        th.start()
        th.join(timeout)
        if th.is_alive():
            raise ExecutorError(f"Ray cluster at {address} did not answer within {timeout:.0f} s")
        if "error" in box:
            raise ExecutorError(f"cannot connect to the Ray cluster at {address}: {error_line(box['error'])}")

    def describe(self) -> str:
        try:
            res = self._ray.cluster_resources()
            nodes = [n for n in self._ray.nodes() if n.get("Alive")]
            return (f"Ray cluster at {self.address}: {len(nodes)} nodes, {res.get('CPU', 0):g} CPUs, "
                    f"{res.get('GPU', 0):g} GPUs")
        except Exception:                          # noqa: BLE001 -- a description must not fail a finished sweep
            return f"Ray cluster at {self.address}"

    def close(self) -> None:
        if self._owns_connection and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_connection = False

    def _submit(self, t: Task):
        return self._remote.options(num_cpus=t.num_cpus, num_gpus=t.num_gpus, max_retries=self.max_retries,
                                    retry_exceptions=False, name=f"scaleout:{t.key}").remote(
            t.key, t.fn, t.args, t.kwargs)

    def _execute(self, tasks: list[Task]) -> Iterator[TaskResult]:
        ray = self._ray
        queue = list(reversed(tasks))
        refs: dict = {}
        clean = False
        try:
            while queue or refs:
                while queue and (self.max_in_flight is None or len(refs) < self.max_in_flight):
                    t = queue.pop()
                    refs[self._submit(t)] = t
                ready, _ = ray.wait(list(refs), num_returns=1)
                for ref in ready:
                    t = refs.pop(ref)
                    try:
                        r = ray.get(ref)
                    except ray.exceptions.RayError as e:
                        # the worker died more than max_retries times, the node was lost, or the arguments could not
                        # be deserialised on the worker: the item failed, the sweep goes on
                        r = TaskResult(t.key, False, None, f"{type(e).__name__} on the Ray cluster (retried up to "
                                       f"{self.max_retries} times): {error_line(e)}", 0.0)
                    yield r
            clean = True
        finally:
            if not clean:                          # Ctrl-C or the caller stopped: cancel queued and running tasks
                for ref in refs:
                    try:
                        ray.cancel(ref, force=True)
                    except Exception:              # noqa: BLE001 -- already finished or gone
                        pass
