"""The Ray executor's errors, without a cluster: Ray not installed, a bad address, a cluster that cannot be reached
(refused on 127.0.0.1 within seconds). The real cluster runs in test_ray_cluster.py."""
import sys
import time

import pytest

from scaleout import ExecutorError, make_executor


def test_cluster_without_ray_installed_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)          # import ray -> ImportError
    with pytest.raises(ExecutorError, match=r"needs Ray, which is not installed: pip install 'bnnc\[ray\]'"):
        make_executor("127.0.0.1:6379")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")
    with pytest.raises(ExecutorError, match="not installed"):
        make_executor()


def test_unreachable_cluster_fails_within_seconds():
    pytest.importorskip("ray", reason="ray not installed (pip install 'bnnc[ray]')")
    t0 = time.monotonic()
    with pytest.raises(ExecutorError, match=r"Ray cluster at 127\.0\.0\.1:1 cannot be reached"):
        make_executor("127.0.0.1:1")                        # port 1 on loopback: nothing listens
    assert time.monotonic() - t0 < 10
    with pytest.raises(ExecutorError, match="give a Ray address HOST:PORT"):
        make_executor("no-port-here")


def test_auto_without_a_cluster_on_this_machine_fails_within_seconds(monkeypatch):
    pytest.importorskip("ray", reason="ray not installed (pip install 'bnnc[ray]')")
    import os
    import tempfile

    if os.path.exists(os.path.join(tempfile.gettempdir(), "ray", "ray_current_cluster")):
        pytest.skip("a Ray cluster was started on this machine: 'auto' would connect to it")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    t0 = time.monotonic()
    with pytest.raises(ExecutorError, match="cannot connect to the Ray cluster at auto: ConnectionError"):
        make_executor("auto")
    assert time.monotonic() - t0 < 20
