"""FINN's per-node estimate summed onto our layers (the nodes of a layer: its name and `<name>_*`)."""
import json

from compiler.backends.finn.compare import finn_comparison, format_comparison
from compiler.workflow.finn_report import attach
from compiler.workflow.report import format_table


def _report():
    res = lambda lut, bram: {"lut": lut, "ff": 0, "bram18": bram, "uram": 0, "dsp": 0}  # noqa: E731
    layers = [{"name": "Conv_0", "kind": "SlidingWindow", "pe": 1, "simd": 1, "cycles": 10, "resources": res(5, 0)},
              {"name": "Conv_0_mvtu", "kind": "MVTU", "pe": 1, "simd": 1, "cycles": 10, "resources": res(100, 2)},
              {"name": "MaxPool_0", "kind": "MaxPool", "pe": 1, "simd": 1, "cycles": 10, "resources": res(7, 0)}]
    return {"graph": "g", "clock_mhz": 100, "folding_source": "graph", "target_fps": None, "ii_cycles": 10,
            "fps": 1e7, "latency_cycles": 30, "latency_us": 0.3, "bottleneck": "Conv_0_mvtu", "layers": layers,
            "total": res(112, 2), "notes": [], "board": None}


def test_nodes_summed_per_layer_longest_name_first():
    est = {"fpgapart": "xc7z020clg400-1", "nodes": {
        "Conv_0_pad": {"LUT": 1, "BRAM_18K": 0}, "Conv_0": {"LUT": 2, "BRAM_18K": 0},
        "Conv_0_mvtu": {"LUT": 90, "BRAM_18K": 3},            # not Conv_0's although it starts with "Conv_0_"
        "MaxPool_0_swg": {"LUT": 4}, "MaxPool_0": {"LUT": 8}, "stray": {"LUT": 1}}}
    c = finn_comparison(_report(), est)
    finn = {r["name"]: r["finn"]["lut"] for r in c["layers"]}
    assert finn == {"Conv_0": 3, "Conv_0_mvtu": 90, "MaxPool_0": 12}
    assert c["unmatched_nodes"] == ["stray"] and c["total"]["finn"]["lut"] == 105 and c["total"]["ours"]["lut"] == 112
    assert "90" in format_comparison(c) and "FINN" in format_table({**_report(), "finn": c})


def test_attach_writes_both_into_the_report(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps(_report()))
    (tmp_path / "finn_estimate.json").write_text(json.dumps({"fpgapart": "p", "nodes": {"Conv_0_mvtu": {"LUT": 9}}}))
    attach(tmp_path)
    assert json.loads((tmp_path / "report.json").read_text())["finn"]["total"]["finn"]["lut"] == 9
    assert "ours/FINN" in (tmp_path / "report.txt").read_text()
