"""compiler.workflow.explore: a boards x target-FPS sweep of a tiny model through the scaleout executors; the same entries
in-process and in a process pool, resume, failed points named, bad input refused before any work, and one point
through Verilator and Yosys."""
import json
import shutil

import pytest

import compiler.workflow.explore as ce
from brevitas_models import export, mlp
from compiler.workflow.explore import ExploreError, explore, parse_boards, parse_fps_list, sweep_results
from scaleout import LocalExecutor


@pytest.fixture(scope="module")
def onnx(tmp_path_factory):
    return export(mlp(1, 1, seed=8), tmp_path_factory.mktemp("m") / "m.onnx", (20,), dynamo=False)


def _quiet(workers):
    ex = LocalExecutor(workers)
    ex.verbose = False
    return ex


def test_sweep_in_process_and_in_a_pool_agree(onnx, tmp_path):
    a = explore(onnx, ["Pynq-Z2", "ZCU104"], [100000.0, "max"], tmp_path / "a", executor=_quiet(1))
    with _quiet(2) as pool:                 # closed: its processes end with the test
        b = explore(onnx, ["Pynq-Z2", "ZCU104"], [100000.0, "max"], tmp_path / "b", executor=pool)
    assert sweep_results(a) == sweep_results(b)
    assert [e["key"] for e in a["points"]] == ["Pynq-Z2_100000fps", "Pynq-Z2_maxfps", "ZCU104_100000fps",
                                                "ZCU104_maxfps"]
    assert a["failed"] == [] and a["executor"].startswith("local executor, in-process")
    on_disk = json.loads((tmp_path / "b" / "explore.json").read_text())
    assert sweep_results(on_disk) == sweep_results(b)
    for e in b["points"]:
        build = tmp_path / "b" / e["build"]
        assert (build / "graph.json").is_file() and (build / "report.json").is_file()
        rep = json.loads((build / "report.json").read_text())
        assert e["fps"] == {"estimate": rep["fps"], "simulation": None}
        assert e["resources"]["estimate"]["LUT"] == round(rep["total"]["lut"])
        assert e["resources"]["synthesis"] is None and e["flow"] == "hls"
        assert e["folding"] == {l["name"]: {"pe": l["pe"], "simd": l["simd"]} for l in rep["layers"]
                                if l["kind"] != "dma"}
        assert (tmp_path / "b" / "items" / f"{e['key']}.json").is_file()
    pts = {e["key"]: e for e in b["points"]}
    # 'max' folds wider than the 100k target on the same board: more FPS for more LUTs
    assert pts["Pynq-Z2_maxfps"]["fps"]["estimate"] > pts["Pynq-Z2_100000fps"]["fps"]["estimate"] >= 100000
    lut = {k: e["resources"]["estimate"]["LUT"] for k, e in pts.items()}
    assert lut["Pynq-Z2_maxfps"] > lut["Pynq-Z2_100000fps"]
    assert set(b["pareto_estimate"]) <= set(pts)
    assert {"Pynq-Z2_maxfps", "ZCU104_maxfps"} & set(b["pareto_estimate"])
    assert (tmp_path / "b" / "explore.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rerun_skips_finished_points_and_adds_new_ones(onnx, tmp_path):
    out = tmp_path / "s"
    explore(onnx, ["Pynq-Z2"], [100000.0], out, executor=_quiet(1))
    item = out / "items" / "Pynq-Z2_100000fps.json"
    before = item.stat().st_mtime_ns
    doc = explore(onnx, ["Pynq-Z2"], [100000.0, 200000.0], out, executor=_quiet(1))
    assert item.stat().st_mtime_ns == before                      # not run again
    assert [e["key"] for e in doc["points"]] == ["Pynq-Z2_100000fps", "Pynq-Z2_200000fps"]
    # another model (or other options) in the same folder is refused, nothing touched
    other = tmp_path / "other.onnx"
    shutil.copy(onnx, other)
    other.write_bytes(other.read_bytes() + b"\0")
    with pytest.raises(ExploreError, match="holds a sweep of another model or other options"):
        explore(other, ["Pynq-Z2"], [100000.0], out, executor=_quiet(1))
    with pytest.raises(ExploreError, match="other options"):
        explore(onnx, ["Pynq-Z2"], [100000.0], out, rtl=True, executor=_quiet(1))
    assert item.stat().st_mtime_ns == before


def _fails_on_zcu104(model, board, *args, **kwargs):
    if board == "ZCU104":
        raise ExploreError("synthetic failure for this board")
    return _real_point(model, board, *args, **kwargs)


_real_point = ce.explore_point


def test_a_failed_point_is_named_and_the_others_kept(onnx, tmp_path, monkeypatch):
    monkeypatch.setattr(ce, "explore_point", _fails_on_zcu104)     # in-process executor: no pickling
    doc = explore(onnx, ["Pynq-Z2", "ZCU104"], [100000.0], tmp_path / "f", executor=_quiet(1))
    assert [e["key"] for e in doc["points"]] == ["Pynq-Z2_100000fps"]
    assert doc["failed"] == [{"key": "ZCU104_100000fps", "board": "ZCU104", "target_fps": 100000.0,
                              "error": "ExploreError: synthetic failure for this board"}]
    assert "FAILED: ExploreError: synthetic failure" in ce.format_points(doc)
    monkeypatch.setattr(ce, "explore_point", _real_point)          # a rerun runs only the failed point
    doc = explore(onnx, ["Pynq-Z2", "ZCU104"], [100000.0], tmp_path / "f", executor=_quiet(1))
    assert doc["failed"] == [] and len(doc["points"]) == 2


def test_bad_input_is_refused_before_any_work(onnx, tmp_path):
    assert parse_boards("pynq-z2, ZCU104,Pynq-Z2") == ["Pynq-Z2", "ZCU104"]
    assert parse_fps_list("1e5, max,100000") == [100000.0, "max"]
    with pytest.raises(ExploreError, match="unknown board 'Nope'"):
        parse_boards("Pynq-Z2,Nope")
    with pytest.raises(ExploreError, match="--target-fps value '-5'"):
        parse_fps_list("100,-5")
    with pytest.raises(ExploreError, match="--target-fps value 'fast'"):
        parse_fps_list("fast")
    with pytest.raises(ExploreError, match="no such file"):
        explore(tmp_path / "missing.onnx", ["Pynq-Z2"], [100.0], tmp_path / "o1", executor=_quiet(1))
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(ExploreError, match="not a bnnc explore folder"):
        explore(onnx, ["Pynq-Z2"], [100.0], foreign, executor=_quiet(1))
    assert not (tmp_path / "o1").exists() and [p.name for p in foreign.iterdir()] == ["keep.txt"]


@pytest.mark.skipif(shutil.which("verilator") is None or shutil.which("yosys") is None,
                    reason="verilator and yosys not installed (make setup)")
def test_point_through_verilator_and_yosys(onnx, tmp_path):
    doc = explore(onnx, ["Pynq-Z2"], [100000.0], tmp_path / "r", rtl=True, synth=True, frames=8,
                  executor=_quiet(1))
    (e,) = doc["points"]
    build = tmp_path / "r" / e["build"]
    sim = json.loads((build / "rtlsim.json").read_text())
    syn = json.loads((build / "synth.json").read_text())
    assert e["flow"] == "rtl" and e["rtlsim"]["mismatches"] == 0 and e["rtlsim"]["frames"] == 8
    assert e["fps"]["simulation"] == pytest.approx(e["clock_mhz"] * 1e6 / sim["cycles_per_frame"])
    assert e["latency_cycles"]["simulation"] == sim["latency_cycles"]
    assert e["resources"]["synthesis"]["LUT"] == syn["total"]["LUT"] > 0
    assert e["resources"]["estimate_without_dma"] == syn["estimated_total"]
    assert set(e["seconds"]) == {"compile", "rtlsim", "synth"}
