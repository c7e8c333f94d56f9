"""Driver of the real-cluster test (test_ray_cluster.py), run INSIDE network/PID/mount namespaces with only loopback
(scaleout.local_cluster.loopback_namespace_command):

    python ray_cluster.py WORK MODEL

It checks that no interface but loopback has an address, starts a Ray head and one worker node on 127.0.0.1 (each
`ray start --block`, stopped by process id: scaleout.local_cluster.LocalRayCluster), then through scaleout's Ray
executor runs (1) `bnnc explore MODEL --cluster 127.0.0.1:PORT`, (2) a small `bnnc compress --cluster 127.0.0.1:PORT`
(its students trained and built as Ray tasks), (3) a sweep in which one worker process is killed with SIGKILL while
it runs a task, (4) a sweep interrupted by SIGINT (Ctrl-C) while a task runs. Every wait is bounded.
Results go to WORK/result.json for the test to compare with the local executor."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

PORT = 6390
BOARDS, FPS = ["Pynq-Z2", "ZCU104"], [100000.0, "max"]     # the sweep the test repeats with the local executor
#: the smallest `bnnc compress` that trains a teacher (here, in the driver), then as training items on the cluster
#: two weight-shared students (the supernet, one item) and a low-rank student derived from the widest (one item), and
#: builds all three (compile with verification) on the cluster; the test repeats it with the local executor
#: (in-process) and compares
COMPRESS_ARGS = ["compress", "--teacher", "tfc", "--teacher-epochs", "1", "--dataset", "synthetic", "--limit", "256",
                 "--student", "tfc", "--widths", "0.25,0.5", "--epochs", "1", "--batch-size", "64",
                 "--verify-samples", "32", "--board", "pynq-z2", "--target-fps", "5000", "--threads", "1",
                 "--method", "distill", "--method", "lowrank", "--rank", "8", "--no-progress"]


def compress_outcome(out_dir: Path) -> dict:
    """What a `bnnc compress` run produced, independent of where it ran: family.json with the output folder's path
    and the executor settings taken out and the run's seconds removed, and per student the digest of the trained
    state dict (tensors in key order) and of the build's graph.json."""
    import hashlib

    import torch

    text = (out_dir / "family.json").read_text().replace(str(out_dir), "OUT")
    fam = json.loads(text)
    for k in ("cluster", "workers"):
        fam["config"].pop(k)
    fam["training"].pop("seconds")
    fam["training"].pop("teacher_seconds", None)
    digests = {}
    for s in fam["students"]:
        state = torch.load(out_dir / "students" / s["name"] / "student.pt", weights_only=True)["model_state"]
        h = hashlib.sha256()
        for k in sorted(state):
            t = state[k]
            h.update(k.encode())
            if isinstance(t, torch.Tensor):
                h.update(str(t.dtype).encode() + str(tuple(t.shape)).encode())
                h.update(t.detach().cpu().contiguous().numpy().tobytes())
            else:
                h.update(repr(t).encode())
        graph = (out_dir / "students" / s["name"] / "build" / "graph.json").read_bytes()
        digests[s["name"]] = {"state_dict": h.hexdigest(), "graph_json": hashlib.sha256(graph).hexdigest()}
    return {"family": fam, "digests": digests}


def namespace_cpu_seconds() -> float:
    """CPU time of every process (zombies too) in this PID namespace and of the children they reaped."""
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


def process_gone(pid: int) -> bool:
    """No such process, or a zombie (killed, not yet reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def ctrl_c(ex, work: Path) -> dict:
    """SIGINT to this (main) thread once one item is done and the other, a 60 s sleep, is running on the cluster."""
    import scaleout_tasks as st
    from scaleout import Task
    from scaleout.local_cluster import wait_for

    work.mkdir()
    items, pid_file = work / "items", work / "slow.pid"
    main_thread = threading.main_thread().ident

    def interrupt() -> None:
        try:
            wait_for("fast item written and slow task running", lambda: (items / "fast.json").exists()
                     and pid_file.exists(), 60)
        finally:
            signal.pthread_kill(main_thread, signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    out: dict = {"raised": None}
    t0 = time.monotonic()
    try:
        ex.run([Task("fast", st.square, (3,)), Task("slow", st.sleep_and_report, (str(pid_file), 60.0))],
               out_dir=items, desc="ctrl-c")
    except KeyboardInterrupt:
        out["raised"] = "KeyboardInterrupt"
    out["seconds"] = round(time.monotonic() - t0, 1)
    out["items"] = sorted(p.name for p in items.iterdir())
    pid = int(pid_file.read_text()) if pid_file.exists() else None
    try:
        out["slow_worker_gone"] = bool(pid) and bool(wait_for("cancelled worker gone", lambda: process_gone(pid), 20))
    except TimeoutError:
        out["slow_worker_gone"] = False
    return out


def main(argv: list[str]) -> int:
    from scaleout import Task, make_executor
    from scaleout.local_cluster import LocalRayCluster, interface_addresses, wait_for

    work, model = Path(argv[0]), Path(argv[1])
    # (4) plays a user's Ctrl-C: Python raises KeyboardInterrupt only if SIGINT was not ignored when it started, and
    # a test run in the background (`pytest ... &`, nohup) passes SIGINT ignored down to this driver
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # the test puts a stray Ray auth token in this driver's home: LocalRayCluster must keep token auth off for its
    # nodes and this driver alike (else the worker node cannot join and the driver cannot connect)
    result: dict = {"addresses": interface_addresses(), "pid": os.getpid(),
                    "stray_token": (Path.home() / ".ray" / "auth_token").is_file(),
                    "auth_mode_env": os.environ.get("RAY_AUTH_MODE")}
    non_loopback = [a for a in result["addresses"] if not a.startswith("lo ")]
    if non_loopback:
        result["error"] = f"not isolated: addresses besides loopback: {non_loopback}"
        (work / "result.json").write_text(json.dumps(result))
        return 3
    # (0) `--cluster auto` with no cluster running is a clear error within seconds. Checked here, before the cluster
    # starts, and not in the test process: there Ray's 'auto' finds any gcs_server process it can see (another
    # test's namespaced cluster included) and dials it at the machine's interface address
    from scaleout import ExecutorError

    t0 = time.monotonic()
    try:
        make_executor("auto").close()
        result["auto"] = {"error": None}
    except ExecutorError as e:
        result["auto"] = {"error": str(e)}
    result["auto"]["seconds"] = round(time.monotonic() - t0, 1)
    cluster = LocalRayCluster(num_cpus=1, worker_nodes=1, port=PORT, log_path=work / "ray_nodes.log")
    try:
        with cluster:
            ex = make_executor(cluster.address)
            result["nodes"] = cluster.wait_nodes(90)
            result["executor"] = ex.describe()
            result["start_seconds"] = round(cluster.start_seconds, 1)
            ex.close()

            # (1) a `bnnc explore --cluster` sweep: the user's command, which connects and disconnects itself
            from click.testing import CliRunner

            from bnnc import main as bnnc

            t1 = time.monotonic()
            fps = ",".join(f if isinstance(f, str) else f"{f:g}" for f in FPS)
            cli = CliRunner().invoke(bnnc, ["explore", str(model), "--boards", ",".join(BOARDS), "--target-fps", fps,
                                            "--cluster", cluster.address, "-o", str(work / "explore")])
            result["explore_seconds"] = round(time.monotonic() - t1, 1)
            result["explore_cli"] = {"exit_code": cli.exit_code, "output": cli.output[-3000:]}
            if cli.exit_code != 0:
                raise RuntimeError(f"bnnc explore --cluster failed:\n{cli.output[-3000:]}")
            result["explore"] = json.loads((work / "explore" / "explore.json").read_text())

            # (2) a small `bnnc compress --cluster`: the teacher trained here, the supernet and the low-rank student
            # trained and all three students built as Ray tasks (two in flight; each node has one CPU)
            cpu0, t3 = namespace_cpu_seconds(), time.monotonic()
            cli = CliRunner().invoke(bnnc, COMPRESS_ARGS + ["--cluster", cluster.address, "--workers", "2", "-o",
                                                            str(work / "compress")])
            result["compress_cli"] = {"exit_code": cli.exit_code, "output": cli.output[-30000:]}
            if cli.exit_code != 0:
                raise RuntimeError(f"bnnc compress --cluster failed:\n{cli.output[-3000:]}\n{cli.exception!r}")
            result["compress"] = compress_outcome(work / "compress")
            result["compress_seconds"] = round(time.monotonic() - t3, 1)
            result["compress_namespace_cpu_seconds"] = round(namespace_cpu_seconds() - cpu0, 1)
            ex = make_executor(cluster.address)

            # (3) one worker process killed mid-task: Ray retries it; nothing is lost
            import scaleout_tasks as st

            killed: dict = {}

            def killer() -> None:
                try:
                    pid = int(wait_for("victim task started", lambda: (work / "victim.pid").exists()
                                       and (work / "victim.pid").read_text(), 60))
                    os.kill(pid, signal.SIGKILL)
                    killed["pid"] = pid
                except Exception as e:              # noqa: BLE001 -- reported in result.json
                    killed["error"] = repr(e)

            th = threading.Thread(target=killer, daemon=True)
            th.start()
            tasks = [Task("victim", st.killed_once, (str(work), 7))] + [Task(f"sq{i}", st.square, (i,))
                                                                         for i in range(4)]
            t2 = time.monotonic()
            res = ex.run(tasks, out_dir=work / "kill_items", desc="kill")
            th.join(10)
            result["kill"] = {"results": {k: {"ok": r.ok, "value": r.value, "error": r.error}
                                          for k, r in res.items()},
                              "killed": killed, "seconds": round(time.monotonic() - t2, 1),
                              "attempts": (work / "victim.attempts").read_text().split()}

            # (4) Ctrl-C while a task runs: the remote task is cancelled, the finished item kept
            result["ctrl_c"] = ctrl_c(ex, work / "ctrl_c")
            result["namespace_cpu_seconds"] = round(namespace_cpu_seconds(), 1)
            ex.close()
    except Exception:                               # noqa: BLE001 -- the test shows it with the node log
        import traceback

        result["error"] = traceback.format_exc()
    result["stopped"] = cluster.stopped
    (work / "result.json").write_text(json.dumps(result, indent=1))
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
