"""The shared build cache: concurrent builders of one key build once, the others reuse; off means always build."""
import threading
import time

from compiler.backends.cache import cache_dir, reuse_or_build


def _builder(calls: list, exe):
    def build() -> float:
        calls.append(exe)
        time.sleep(0.3)                          # long enough for the other thread to reach the lock
        exe.write_bytes(b"binary")
        return 0.3
    return build


def test_concurrent_builders_of_one_key_build_once(tmp_path):
    entry = tmp_path / "cache" / "k"
    calls, results = [], {}

    def run(name):
        exe, stamp = tmp_path / name / "sim", tmp_path / name / "sim.digest"
        exe.parent.mkdir()
        results[name] = reuse_or_build(entry, exe, stamp, "digest", _builder(calls, exe), print)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1                                            # one build ...
    assert sorted(r[1] for r in results.values()) == [False, True]    # ... the other reused it
    for n in ("a", "b"):
        assert (tmp_path / n / "sim").read_bytes() == b"binary"
        assert (tmp_path / n / "sim.digest").read_text() == "digest"
    assert entry.read_bytes() == b"binary" and [p.name for p in entry.parent.iterdir()] == ["k"]   # binaries only


def test_cache_off_always_builds(tmp_path, monkeypatch):
    monkeypatch.setenv("BNNC_X_CACHE", "off")
    assert cache_dir("BNNC_X_CACHE", "x") is None
    monkeypatch.setenv("BNNC_X_CACHE", str(tmp_path / "c"))
    assert cache_dir("BNNC_X_CACHE", "x") == tmp_path / "c"
    calls = []
    exe = tmp_path / "sim"
    for _ in range(2):
        assert reuse_or_build(None, exe, tmp_path / "sim.digest", "d", _builder(calls, exe), print) == (0.3, False)
    assert len(calls) == 2
