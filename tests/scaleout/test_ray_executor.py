"""The Ray executor's errors, without a cluster: Ray not installed, a bad address, a cluster that cannot be reached
(refused on 127.0.0.1 within seconds). The real cluster runs in test_ray_cluster.py, and so does the check of
`auto` without a cluster: in this process Ray's 'auto' would find any Ray process on the machine (another test's
namespaced cluster) and dial it at the machine's interface address."""
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
