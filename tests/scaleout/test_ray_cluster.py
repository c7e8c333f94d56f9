"""A real Ray cluster on 127.0.0.1: a head and one worker node, started and stopped by process id inside network,
PID and mount namespaces of their own with only loopback (Ray otherwise advertises and dials the machine's interface
address even for a 127.0.0.1 node). ray_cluster.py is the driver run inside; here we check what it reports against
the local executor. The namespaces are the process under test, hence the subprocess."""
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT / "tests" / "compiler"), str(ROOT / "tests" / "bnn")]
pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="ray not installed (pip install 'bnnc[ray]')")


def start_cluster(tmp_path_factory):
    """Start the driver (ray_cluster.py) in its namespaces; it runs while this process computes the local references."""
    from scaleout.local_cluster import loopback_namespace_command, namespaces_unavailable

    why = namespaces_unavailable()
    if why:
        pytest.skip(why)
    from brevitas_models import export, mlp

    work = tmp_path_factory.mktemp("ray")
    model = export(mlp(1, 1, seed=8), work / "m.onnx", (20,), dynamo=False)
    # a stray ~/.ray/auth_token turns token auth on for `ray start --head` alone (Ray >= 2.5x, RAY_AUTH_MODE unset):
    # the driver runs with one in its home, and LocalRayCluster has to keep the cluster whole (caches stay in place)
    home = work / "home"
    (home / ".ray").mkdir(parents=True)
    (home / ".ray" / "auth_token").write_text("stray-token-0123456789abcdef")
    env = dict(os.environ, OMP_NUM_THREADS="1", RAY_USAGE_STATS_ENABLED="0", HOME=str(home),
               XDG_CACHE_HOME=os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    for k in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        env.pop(k, None)
    cmd = loopback_namespace_command([sys.executable, str(HERE / "ray_cluster.py"), str(work), str(model)])
    # output to files, not pipes: nobody reads a pipe while this process works, and a full one would stall the driver
    with open(work / "driver.out", "w") as out, open(work / "driver.err", "w") as err:
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    return proc, work, model, time.monotonic() + 300


def finish_cluster(started):
    """Wait for the driver (300 s from its start in all) and read what it reports."""
    proc, work, model, deadline = started
    try:
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        timed_out = False
    except subprocess.TimeoutExpired:            # as subprocess.run: kill unshare (--kill-child ends the namespace)
        proc.kill()
        proc.wait()
        timed_out = True
    stdout, stderr = ((work / f).read_text(errors="replace") for f in ("driver.out", "driver.err"))
    if timed_out:
        pytest.fail(f"the namespaced Ray cluster did not finish within 300 s:\n{stderr[-3000:]}")
    res_file = work / "result.json"
    if not res_file.is_file():
        pytest.fail(f"driver wrote no result (exit {proc.returncode}):\n{stdout[-2000:]}\n{stderr[-3000:]}")
    res = json.loads(res_file.read_text())
    log = (work / "ray_nodes.log").read_text()[-3000:] if (work / "ray_nodes.log").is_file() else ""
    assert "error" not in res, f"{res.get('error')}\n--- driver stderr:\n{stderr[-3000:]}\n--- nodes:\n{log}"
    return work, model, res


def test_real_ray_cluster_on_loopback(tmp_path_factory, tmp_path):
    """One test, one cluster: a module fixture would be set up on both xdist workers (tests/README.md). The local
    references (the same explore and compress runs with the local executor) are computed while the cluster runs, so
    that this worker's core does not idle through the cluster's waits."""
    started = start_cluster(tmp_path_factory)
    try:
        explore_local = local_explore(started[2], tmp_path)
        compress_local = local_compress(tmp_path)
    except BaseException:
        started[0].kill()
        started[0].wait()
        raise
    run = finish_cluster(started)
    check_loopback_only(run)
    check_auto_without_a_cluster(run)
    check_explore_equals_local(run, explore_local)
    check_compress_equals_local(run, compress_local)
    check_killed_worker_retried(run)
    check_ctrl_c(run)


def check_loopback_only(cluster_run):
    _, _, res = cluster_run
    assert all(a.startswith("lo ") for a in res["addresses"]), res["addresses"]
    assert res["nodes"] == ["127.0.0.1", "127.0.0.1"]               # head and worker node, both on loopback
    assert res["executor"].startswith("Ray cluster at 127.0.0.1:6390: 2 nodes, 2 CPUs")
    assert res["stopped"] == ["stopped", "stopped"]                  # both `ray start --block` ended by SIGTERM
    assert res["stray_token"] and res["auth_mode_env"] is None       # joined and ran despite a stray auth token


def check_auto_without_a_cluster(cluster_run):
    """`auto` before the cluster started (in the namespace, where no other Ray process is visible)."""
    _, _, res = cluster_run
    assert res["auto"]["error"] and "cannot connect to the Ray cluster at auto" in res["auto"]["error"], res["auto"]
    assert res["auto"]["seconds"] < 20


def local_explore(model, tmp_path):
    """The cluster's explore sweep with the local executor (in-process)."""
    from compiler.workflow.explore import explore
    from ray_cluster import BOARDS, FPS
    from scaleout import LocalExecutor

    ex = LocalExecutor(1)
    ex.verbose = False
    return explore(model, BOARDS, FPS, tmp_path / "local", executor=ex)


def check_explore_equals_local(cluster_run, local):
    from compiler.workflow.explore import sweep_results

    work, model, res = cluster_run
    on_ray = res["explore"]
    assert "on the Ray cluster at 127.0.0.1:6390: 2 nodes" in res["explore_cli"]["output"]
    assert on_ray["executor"].startswith("Ray cluster") and len(on_ray["points"]) == 4 and not on_ray["failed"]
    assert sweep_results(on_ray) == sweep_results(local)          # folding, figures, graph.json digests: identical
    for e in on_ray["points"]:
        assert (work / "explore" / e["build"] / "graph.json").is_file()
        assert (work / "explore" / "items" / f"{e['key']}.json").is_file()


def local_compress(tmp_path):
    """The cluster's `bnnc compress` run in this process (local executor, in-process): its CLI output and outcome."""
    from click.testing import CliRunner
    from ray_cluster import COMPRESS_ARGS, compress_outcome
    from torch_threads import one_torch_thread

    from bnnc import main as bnnc

    with one_torch_thread():
        cli = CliRunner().invoke(bnnc, COMPRESS_ARGS + ["-o", str(tmp_path / "compress")])
    assert cli.exit_code == 0, cli.output + repr(cli.exception)
    return cli.output, compress_outcome(tmp_path / "compress")


def check_compress_equals_local(cluster_run, compress_local):
    """The same `bnnc compress` run in this process (local executor, in-process) gives the same family: every
    figure of family.json, the trained students' state dicts (the supernet and the low-rank student trained as Ray
    tasks) and their builds' graph.json, digest for digest."""
    work, _, res = cluster_run
    out = res["compress_cli"]["output"]
    for step, n in (("training students", 1), ("training derived students", 1), ("building students", 3)):
        assert f"{step}: {n} items on Ray cluster at 127.0.0.1:6390: 2 nodes" in out, out
    assert "3 ran ok" in out
    cli_output, local = compress_local
    for step, n in (("training students", 1), ("training derived students", 1), ("building students", 3)):
        assert f"{step}: {n} items on local executor, in-process" in cli_output
    on_ray = res["compress"]
    fam = on_ray["family"]
    assert [s["name"] for s in fam["students"]] == ["tfc-x0.25", "tfc-x0.5", "lowrank-r8"] and fam["recommended"]
    assert [s["method"] for s in fam["students"]] == ["supernet-anchor", "supernet-anchor", "lowrank"]
    assert all(s["error"] is None and s["verify"]["output_mismatches"] == 0 for s in fam["students"])
    assert on_ray["digests"] == local["digests"]                # bit-identical students and builds
    assert on_ray["family"] == local["family"]                  # accuracies, estimates, widths, verification: equal


def check_killed_worker_retried(cluster_run):
    work, _, res = cluster_run
    k = res["kill"]
    assert "pid" in k["killed"], k["killed"]
    assert k["attempts"][0] == str(k["killed"]["pid"]) and len(k["attempts"]) == 2   # killed once, retried once
    assert k["results"]["victim"] == {"ok": True, "value": 49, "error": None}
    assert all(k["results"][f"sq{i}"]["ok"] and k["results"][f"sq{i}"]["value"]["square"] == i * i for i in range(4))
    assert sorted(p.name for p in (work / "kill_items").iterdir()) == \
        ["sq0.json", "sq1.json", "sq2.json", "sq3.json", "victim.json"]
    assert k["seconds"] < 50                                   # the retry did not sleep out the killed attempt


def check_ctrl_c(cluster_run):
    _, _, res = cluster_run
    c = res["ctrl_c"]
    assert c["raised"] == "KeyboardInterrupt" and c["seconds"] < 45      # not after the 60 s task
    assert c["items"] == ["fast.json"]                                     # the finished item, nothing half-written
    assert c["slow_worker_gone"]                                           # ray.cancel(force=True) ended the worker
