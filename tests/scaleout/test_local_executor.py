"""The local executor: the same answers in-process and in a process pool, resume from out_dir, failed items named
(not raised), atomic per-item files, a killed pool worker retried, Ctrl-C keeping the finished items."""
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

import scaleout_tasks as st
from scaleout import ExecutorError, LocalExecutor, Task, TaskResult, make_executor, summary_table


def _squares(n=4):
    return [Task(f"sq{i}", st.square, (i,)) for i in range(n)]


def test_make_executor_is_local_without_cluster(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ex = make_executor()
    assert isinstance(ex, LocalExecutor) and ex.workers >= 1
    assert make_executor(workers=1).describe() == "local executor, in-process"
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    assert isinstance(make_executor("local"), LocalExecutor)
    monkeypatch.delenv("RAY_ADDRESS")
    with pytest.raises(ExecutorError, match="workers"):
        make_executor(workers=0)


def test_in_process_and_pool_give_the_same_results():
    a = LocalExecutor(workers=1).run(_squares())
    b = LocalExecutor(workers=2).run(_squares())
    assert list(a) == list(b) == [f"sq{i}" for i in range(4)]
    for k in a:
        assert a[k].ok and b[k].ok and not a[k].skipped
        assert a[k].value == b[k].value
    # values are what JSON gives back: the tuple is a list, as after a resume or a Ray round trip
    assert a["sq3"].value == {"x": 3, "square": 9, "pair": [3, -3]}


def test_failed_items_are_named_not_raised(tmp_path, capsys):
    tasks = [Task(f"i{x}", st.fail_on, (x, 2)) for x in range(4)] + [Task("nj", st.not_json, (0,))]
    res = LocalExecutor(workers=1).run(tasks, out_dir=tmp_path, desc="demo")
    assert [k for k, r in res.items() if not r.ok] == ["i2", "nj"]
    assert res["i2"].error == "ValueError: item 2 is bad"
    assert "Traceback" in res["i2"].traceback and "fail_on" in res["i2"].traceback
    assert res["nj"].error.startswith("TypeError: the task returned a value JSON cannot hold")
    err = capsys.readouterr().err
    assert "demo: i2 failed: ValueError: item 2 is bad" in err
    assert "FAILED" in err and "3 ran ok, 0 already done" in err and "2 failed" in err
    # a failed item is not stored as done (a rerun retries it); its traceback is kept beside
    assert not (tmp_path / "i2.json").exists()
    assert "ValueError: item 2 is bad" in (tmp_path / "i2.error.txt").read_text()
    assert json.loads((tmp_path / "i1.json").read_text())["value"] == 1


def test_resume_skips_finished_items(tmp_path):
    log = tmp_path / "calls.log"
    out = tmp_path / "out"
    tasks = [Task(f"r{x}", st.record_call, (str(log), x)) for x in range(3)]
    first = LocalExecutor(workers=1).run(tasks, out_dir=out)
    assert log.read_text().split() == ["0", "1", "2"]
    (out / "r1.json").unlink()                       # as if r1 had not finished
    more = tasks + [Task("r3", st.record_call, (str(log), 3))]
    second = LocalExecutor(workers=1).run(more, out_dir=out)
    assert sorted(log.read_text().split()) == ["0", "1", "1", "2", "3"]   # only r1 and the new r3 ran again
    assert [r.skipped for r in second.values()] == [True, False, True, False]
    assert {k: r.value for k, r in second.items()} == {"r0": 0, "r1": 10, "r2": 20, "r3": 30}
    assert second["r0"].seconds == first["r0"].seconds
    # after a failure, the rerun runs the failed item again and clears its error file
    bad = [Task("b", st.fail_on, (1, 1))]
    assert not LocalExecutor(workers=1).run(bad, out_dir=out)["b"].ok
    assert (out / "b.error.txt").exists()
    ok = LocalExecutor(workers=1).run([Task("b", st.fail_on, (1, 2))], out_dir=out)
    assert ok["b"].ok and not ok["b"].skipped and not (out / "b.error.txt").exists()


def test_item_files_are_whole_or_absent(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sq0.json").write_text('{"key": "sq0", "ok": true, "val')      # a file cut short by a crash elsewhere
    (out / ".sq1.json.abc.tmp").write_text("{")                           # a stale temporary file
    (out / "sq2.json").write_text(json.dumps({"key": "other", "ok": True, "value": 1, "seconds": 0}))
    res = LocalExecutor(workers=1).run(_squares(3), out_dir=out)
    assert all(r.ok and not r.skipped for r in res.values())               # all three ran
    for i in range(3):
        d = json.loads((out / f"sq{i}.json").read_text())
        assert d["key"] == f"sq{i}" and d["value"]["square"] == i * i
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp") and p.name != ".sq1.json.abc.tmp"]


def test_bad_tasks_are_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="task key"):
        Task("../x", st.square)
    with pytest.raises(ValueError, match="task key"):
        Task(".hidden", st.square)
    with pytest.raises(ValueError, match="duplicate task key 'a'"):
        LocalExecutor(workers=1).run([Task("a", st.square, (1,)), Task("a", st.square, (2,))], out_dir=tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_pool_is_kept_for_the_next_run_and_stopped_on_close(tmp_path):
    """`bnnc compress --workers N` trains, then builds: the second run reuses the first's processes (no fresh imports),
    and closing the executor ends them."""
    def pids(ex, tag):
        res = ex.run([Task(f"{tag}{i}", st.sleep_and_report, (str(tmp_path / f"{tag}{i}.pid"), 0.2)) for i in range(2)])
        assert all(r.ok for r in res.values())
        return {r.value for r in res.values()}

    with LocalExecutor(workers=2) as ex:
        first = pids(ex, "a")
        assert pids(ex, "b") <= first
    for pid in first:                       # stopped (and reaped) by close()
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_killed_pool_worker_is_retried(tmp_path):
    marker = tmp_path / "died"
    tasks = [Task("dies", st.die_once, (str(marker), 7)), Task("sq2", st.square, (2,))]
    res = LocalExecutor(workers=2).run(tasks, out_dir=tmp_path / "out")
    assert marker.exists()                           # the first attempt did kill its worker
    assert res["dies"].ok and res["dies"].value == 7
    assert res["sq2"].ok and res["sq2"].value["square"] == 4
    # one that always dies is reported, by name, after the retries
    always = LocalExecutor(workers=2, max_retries=1).run(
        [Task("always", st.die_once, (str(tmp_path / "nope"), 1)), Task("sq3", st.square, (3,))])
    assert always["sq3"].ok


def test_summary_table_lists_items_and_totals():
    rows = {"a": TaskResult("a", True, 1, None, 1.5), "b": TaskResult("b", False, None, "ValueError: x", 0.2),
            "c": TaskResult("c", True, 2, None, 3.0, skipped=True)}
    s = summary_table(rows, "sweep", "here")
    assert "sweep: 3 items on here" in s and "ValueError: x" in s
    assert "1 ran ok, 1 already done" in s and "1 failed" in s and "1.7 s of task time" in s


def test_ctrl_c_in_process_keeps_finished_items(tmp_path):
    tasks = [Task(f"k{x}", st.interrupt_on, (x, 2)) for x in range(4)]
    with pytest.raises(KeyboardInterrupt):
        LocalExecutor(workers=1).run(tasks, out_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k0.json", "k1.json"]


@pytest.fixture
def ctrl_c_raises():
    """Python's own SIGINT handler for the test: started under `nohup make test &` (a shell that runs background jobs
    with SIGINT ignored) pytest inherits SIG_IGN, Python then installs no KeyboardInterrupt handler, and the Ctrl-C
    below would never arrive."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def test_ctrl_c_cancels_pool_workers_and_keeps_finished_items(tmp_path, ctrl_c_raises):
    pid_file = tmp_path / "slow.pid"
    tasks = [Task("fast", st.square, (5,)), Task("slow", st.sleep_and_report, (str(pid_file), 60.0))]
    out = tmp_path / "out"

    def interrupt_when_started():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not ((out / "fast.json").exists() and pid_file.exists()):
            time.sleep(0.05)
        signal.pthread_kill(main, signal.SIGINT)     # what Ctrl-C does to the driver

    main = threading.main_thread().ident
    threading.Thread(target=interrupt_when_started, daemon=True).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        LocalExecutor(workers=2).run(tasks, out_dir=out)
    assert time.monotonic() - t0 < 30                # did not wait for the 60 s item
    assert (out / "fast.json").exists() and not (out / "slow.json").exists()
    pid = int(pid_file.read_text())
    for _ in range(100):                             # the worker running the slow item is stopped
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"worker {pid} still running after Ctrl-C")


def test_pool_workers_get_their_share_of_the_cores_unless_set(monkeypatch):
    from scaleout import available_cores

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    res = LocalExecutor(workers=2).run([Task("a", st.omp_threads), Task("b", st.omp_threads)])
    assert {r.value for r in res.values()} == {str(max(1, available_cores() // 2))}
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    res = LocalExecutor(workers=2).run([Task("a", st.omp_threads), Task("b", st.omp_threads)])
    assert {r.value for r in res.values()} == {"3"}


def test_sweep_executor_runs_in_process_unless_workers_or_a_cluster_are_given(monkeypatch):
    """bnnc's sweeps (compress, the benchmarks) default to this process; --workers N gives a pool of N."""
    from scaleout import LocalExecutor, sweep_executor

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert isinstance(sweep_executor(), LocalExecutor) and sweep_executor().workers == 1
    assert sweep_executor(workers=2).workers == 2 and sweep_executor("local").workers == 1
