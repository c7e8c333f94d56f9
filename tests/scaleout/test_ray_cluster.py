"""A real Ray cluster on 127.0.0.1: a head and one worker node, started and stopped by process id inside network,
PID and mount namespaces of their own with only loopback (Ray otherwise advertises and dials the machine's interface
address even for a 127.0.0.1 node). ray_cluster.py is the driver run inside; here we check what it reports against
the local executor. The namespaces are the process under test, hence the subprocess."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT / "tests" / "compiler"), str(ROOT / "tests" / "bnn")]
pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="ray not installed (pip install 'bnnc[ray]')")


def run_cluster(tmp_path_factory):
    from scaleout.local_cluster import loopback_namespace_command, namespaces_unavailable

    why = namespaces_unavailable()
    if why:
        pytest.skip(why)
    from brevitas_models import export, mlp

    work = tmp_path_factory.mktemp("ray")
    model = export(mlp(1, 1, seed=8), work / "m.onnx", (20,))
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
    try:
        r = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired as e:       # run() killed unshare: --kill-child ends the namespace's processes
        pytest.fail(f"the namespaced Ray cluster did not finish within 300 s:\n{(e.stderr or '')[-3000:]}")
    res_file = work / "result.json"
    if not res_file.is_file():
        pytest.fail(f"driver wrote no result (exit {r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    res = json.loads(res_file.read_text())
    log = (work / "ray_nodes.log").read_text()[-3000:] if (work / "ray_nodes.log").is_file() else ""
    assert "error" not in res, f"{res.get('error')}\n--- driver stderr:\n{r.stderr[-3000:]}\n--- nodes:\n{log}"
    return work, model, res


def test_real_ray_cluster_on_loopback(tmp_path_factory, tmp_path):
    """One test, one cluster: a module fixture would be set up on both xdist workers (tests/README.md)."""
    run = run_cluster(tmp_path_factory)
    check_loopback_only(run)
    check_auto_without_a_cluster(run)
    check_explore_equals_local(run, tmp_path)
    check_compress_equals_local(run, tmp_path)
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


def check_explore_equals_local(cluster_run, tmp_path):
    from compiler.workflow.explore import explore, sweep_results
    from ray_cluster import BOARDS, FPS
    from scaleout import LocalExecutor

    work, model, res = cluster_run
    ex = LocalExecutor(1)
    ex.verbose = False
    local = explore(model, BOARDS, FPS, tmp_path / "local", executor=ex)

    on_ray = res["explore"]
    assert "on the Ray cluster at 127.0.0.1:6390: 2 nodes" in res["explore_cli"]["output"]
    assert on_ray["executor"].startswith("Ray cluster") and len(on_ray["points"]) == 4 and not on_ray["failed"]
    assert sweep_results(on_ray) == sweep_results(local)          # folding, figures, graph.json digests: identical
    for e in on_ray["points"]:
        assert (work / "explore" / e["build"] / "graph.json").is_file()
        assert (work / "explore" / "items" / f"{e['key']}.json").is_file()


def check_compress_equals_local(cluster_run, tmp_path):
    """The same `bnnc compress` run in this process (local executor, in-process) gives the same family: every
    figure of family.json, the trained students' state dicts (the supernet and the low-rank student trained as Ray
    tasks) and their builds' graph.json, digest for digest."""
    from click.testing import CliRunner
    from ray_cluster import COMPRESS_ARGS, compress_outcome
    from torch_threads import one_torch_thread

    from bnnc import main as bnnc

    work, _, res = cluster_run
    out = res["compress_cli"]["output"]
    for step, n in (("training students", 1), ("training derived students", 1), ("building students", 3)):
        assert f"{step}: {n} items on Ray cluster at 127.0.0.1:6390: 2 nodes" in out, out
    assert "3 ran ok" in out
    with one_torch_thread():
        cli = CliRunner().invoke(bnnc, COMPRESS_ARGS + ["-o", str(tmp_path / "compress")])
    assert cli.exit_code == 0, cli.output + repr(cli.exception)
    for step, n in (("training students", 1), ("training derived students", 1), ("building students", 3)):
        assert f"{step}: {n} items on local executor, in-process" in cli.output
    local, on_ray = compress_outcome(tmp_path / "compress"), res["compress"]
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
