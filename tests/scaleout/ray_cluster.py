"""Driver of the real-cluster test (test_ray_cluster.py), run INSIDE a network namespace that has only loopback
(and its own PID and mount namespaces, so /proc shows the namespace's processes and all of them end with it):

    unshare -n -p -f -m --mount-proc --kill-child sh -c 'ip link set lo up && exec python ray_cluster.py WORK MODEL'

It checks that no interface but loopback has an address, starts a Ray head and one worker node on 127.0.0.1 (each
`ray start --block`, stopped by process id), then through scaleout's Ray executor runs (1) a `bnnc explore` sweep of
MODEL and (2) a sweep in which one worker process is killed with SIGKILL while it runs a task. Every wait is
bounded. Results go to WORK/result.json for the test to compare with the local executor."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PORT = 6390
BOARDS, FPS = ["Pynq-Z2", "ZCU104"], [100000.0, "max"]     # the sweep the test repeats with the local executor


def interface_addresses() -> list[str]:
    """'iface address' for every address configured in this namespace (`ip -o addr`)."""
    out = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, timeout=10).stdout
    return [f"{l.split()[1]} {l.split()[3]}" for l in out.splitlines() if len(l.split()) > 3]


def wait_for(what: str, cond, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def stop(proc: subprocess.Popen, timeout: float = 30) -> str:
    """SIGTERM to the `ray start --block` process (it stops the node's processes), SIGKILL after `timeout` s."""
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


def namespace_cpu_seconds() -> float:
    """CPU time of every process alive in this PID namespace and of the children they reaped (/proc is ours)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                f = (p / "stat").read_text().rsplit(")", 1)[1].split()
                total += sum(int(x) for x in f[11:15])   # utime stime cutime cstime
            except (OSError, IndexError, ValueError):
                pass
    return total / tick


def main(argv: list[str]) -> int:
    work, model = Path(argv[0]), Path(argv[1])
    result: dict = {"addresses": interface_addresses(), "pid": os.getpid()}
    non_loopback = [a for a in result["addresses"] if not a.startswith("lo ")]
    if non_loopback:
        result["error"] = f"not isolated: addresses besides loopback: {non_loopback}"
        (work / "result.json").write_text(json.dumps(result))
        return 3
    ray = str(Path(sys.executable).with_name("ray"))
    tmp = tempfile.mkdtemp(prefix="rt", dir="/tmp")   # short: Ray's socket paths must stay under 107 characters
    common = ["--block", "--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats",
              "--object-store-memory=100000000"]
    procs: list[subprocess.Popen] = []
    log = open(work / "ray_nodes.log", "w")
    t0 = time.monotonic()
    try:
        procs.append(subprocess.Popen([ray, "start", "--head", f"--port={PORT}", "--include-dashboard=false",
                                       f"--temp-dir={tmp}", *common], stdout=log, stderr=subprocess.STDOUT))
        wait_for("head node's GCS port", lambda: port_open(PORT), 90)
        procs.append(subprocess.Popen([ray, "start", f"--address=127.0.0.1:{PORT}", *common],
                                      stdout=log, stderr=subprocess.STDOUT))
        from scaleout import make_executor

        ex = make_executor(f"127.0.0.1:{PORT}")
        import ray as ray_mod

        nodes = wait_for("two live nodes", lambda: [n for n in ray_mod.nodes() if n["Alive"]]
                         if len([n for n in ray_mod.nodes() if n["Alive"]]) == 2 else None, 90)
        result["nodes"] = sorted(n["NodeManagerAddress"] for n in nodes)
        result["executor"] = ex.describe()
        result["start_seconds"] = round(time.monotonic() - t0, 1)

        # (1) a bnnc explore sweep on the cluster
        from compiler.explore import explore

        t1 = time.monotonic()
        result["explore"] = explore(model, BOARDS, FPS, work / "explore", executor=ex)
        result["explore_seconds"] = round(time.monotonic() - t1, 1)

        # (2) one worker process killed mid-task: Ray retries it; nothing is lost
        import scaleout_tasks as st
        from scaleout import Task

        killed: dict = {}

        def killer() -> None:
            try:
                pid = int(wait_for("victim task started", lambda: (work / "victim.pid").exists()
                                   and (work / "victim.pid").read_text(), 60))
                os.kill(pid, signal.SIGKILL)
                killed["pid"] = pid
            except Exception as e:                  # noqa: BLE001 -- reported in result.json
                killed["error"] = repr(e)

        th = threading.Thread(target=killer, daemon=True)
        th.start()
        tasks = [Task("victim", st.killed_once, (str(work), 7))] + [Task(f"sq{i}", st.square, (i,)) for i in range(4)]
        t2 = time.monotonic()
        res = ex.run(tasks, out_dir=work / "kill_items", desc="kill")
        th.join(10)
        result["kill"] = {"results": {k: {"ok": r.ok, "value": r.value, "error": r.error} for k, r in res.items()},
                          "killed": killed, "seconds": round(time.monotonic() - t2, 1),
                          "attempts": (work / "victim.attempts").read_text().split()}
        result["namespace_cpu_seconds"] = round(namespace_cpu_seconds(), 1)
        ex.close()
    except Exception as e:                          # noqa: BLE001 -- the test shows it with the node log
        import traceback

        result["error"] = traceback.format_exc()
    finally:
        result["stopped"] = [stop(p) for p in reversed(procs)]
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    (work / "result.json").write_text(json.dumps(result, indent=1))
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
