"""A Ray cluster on this machine for tests and benchmarks: a head node and optional worker nodes, each a
`ray start --block` process started here and stopped by its process id, every wait bounded.

Ray advertises the machine's interface address for a node even when told 127.0.0.1, so runs that must stay on
loopback run inside a network namespace with only `lo` (`loopback_namespace_command`, root and util-linux
`unshare` needed); there Ray falls back to 127.0.0.1 for every node."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scaleout.executor import ExecutorError

#: Ray (2.5x and later) turns token authentication on for a `ray start --head` that finds a token (~/.ray/auth_token,
#: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH) while RAY_AUTH_MODE is unset, but not for a worker node or for a driver given
#: an explicit address: a stray token splits the cluster (the worker node cannot join, the driver cannot connect).
#: These loopback clusters set the mode for their nodes and for this process's driver.
AUTH_MODE = {"RAY_AUTH_MODE": "disabled"}

#: network (only loopback), PID (everything ends with its first process) and mount (/proc of its own) namespaces
NAMESPACE_ARGS = ["unshare", "-n", "-p", "-f", "-m", "--mount-proc", "--kill-child"]


def loopback_namespace_command(argv: list[str]) -> list[str]:
    """`argv` run in new network/PID/mount namespaces with only loopback up."""
    return NAMESPACE_ARGS + ["sh", "-c", 'ip link set lo up && exec "$0" "$@"', *argv]


def namespaces_unavailable() -> str | None:
    """None when `loopback_namespace_command` works here, else why not."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip (util-linux, iproute2) not installed"
    try:
        r = subprocess.run(loopback_namespace_command(["true"]), capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unshare failed: {e}"
    if r.returncode != 0:
        return f"cannot create network/PID namespaces here (needs root or user namespaces): {r.stderr.strip()}"
    return None


def interface_addresses() -> list[str]:
    """'iface address/prefix' for each address configured in the current network namespace (`ip -o addr`)."""
    out = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, timeout=10).stdout
    return [f"{l.split()[1]} {l.split()[3]}" for l in out.splitlines() if len(l.split()) > 3]


def wait_for(what: str, cond, timeout: float, step: float = 0.2):
    """Poll `cond` until it returns something true, at most `timeout` s (TimeoutError naming `what`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class LocalRayCluster:
    """`with LocalRayCluster(num_cpus=2, worker_nodes=1) as c: make_executor(c.address)`: a head with `num_cpus`
    CPUs and `worker_nodes` more nodes of `num_cpus` each on 127.0.0.1; logs in `log_path`. Stopped by process id
    (SIGTERM, SIGKILL after a bounded wait) on exit. Token authentication off for the nodes and, while the cluster
    runs, for this process (AUTH_MODE), whatever token the user's home holds."""

    def __init__(self, num_cpus: int = 1, worker_nodes: int = 0, port: int = 6390, log_path: Path | None = None,
                 object_store_bytes: int = 100_000_000, start_timeout: float = 90):
        self.num_cpus, self.worker_nodes, self.port = num_cpus, worker_nodes, port
        self.address = f"127.0.0.1:{port}"
        self.log_path = log_path
        self.object_store_bytes = object_store_bytes
        self.start_timeout = start_timeout
        self.procs: list[subprocess.Popen] = []
        self.stopped: list[str] = []
        self.start_seconds: float | None = None

    def __enter__(self) -> "LocalRayCluster":
        ray = Path(sys.executable).with_name("ray")
        if not ray.exists():
            raise ExecutorError(f"{ray}: Ray's command line is not installed (pip install 'bnnc[ray]')")
        if port_open(self.port):
            raise ExecutorError(f"127.0.0.1:{self.port} is already in use; stop that cluster or pick another port")
        # short temp dir: Ray's socket paths must stay under 107 characters
        self._tmp = tempfile.mkdtemp(prefix="rt", dir="/tmp")
        self._log = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL
        common = ["--block", "--node-ip-address=127.0.0.1", f"--num-cpus={self.num_cpus}", "--disable-usage-stats",
                  f"--object-store-memory={self.object_store_bytes}"]
        env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", **AUTH_MODE)
        env.pop("RAY_ADDRESS", None)
        self._driver_env = {k: os.environ.get(k) for k in AUTH_MODE}
        os.environ.update(AUTH_MODE)                  # the driver (ray.init in this process) agrees with the nodes
        t0 = time.monotonic()
        try:
            self._start([str(ray), "start", "--head", f"--port={self.port}", "--include-dashboard=false",
                         f"--temp-dir={self._tmp}", *common], env)
            wait_for("the head node's GCS port", lambda: port_open(self.port), self.start_timeout)
            for _ in range(self.worker_nodes):
                self._start([str(ray), "start", f"--address={self.address}", *common], env)
        except BaseException:
            self.__exit__()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _start(self, cmd: list[str], env: dict) -> None:
        self.procs.append(subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                           stdin=subprocess.DEVNULL))

    def wait_nodes(self, timeout: float = 90) -> list[str]:
        """Block until every node has joined (needs ray.init done, e.g. by make_executor); their addresses."""
        import ray

        n = 1 + self.worker_nodes

        def alive():
            nodes = [x for x in ray.nodes() if x["Alive"]]
            return nodes if len(nodes) == n else None

        return sorted(x["NodeManagerAddress"] for x in wait_for(f"{n} live Ray nodes", alive, timeout))

    def __exit__(self, *exc) -> None:
        for p in reversed(self.procs):
            self.stopped.append(_stop(p))
        self.procs = []
        for k, v in getattr(self, "_driver_env", {}).items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._driver_env = {}
        if self._log is not subprocess.DEVNULL:
            self._log.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


def _stop(proc: subprocess.Popen, timeout: float = 30) -> str:
    """SIGTERM to a `ray start --block` process (it stops its node's processes); SIGKILL after `timeout` s."""
    if proc.poll() is not None:
        return f"already exited ({proc.returncode})"
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
        return "stopped"
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        return "killed"
