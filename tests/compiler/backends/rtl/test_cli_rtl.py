"""`bnnc rtlsim` and `bnnc synth` on compiled builds: a TFC-W1A1-like MLP (hidden width 16, so the Verilator
build stays short) through compile -> rtlsim bit for bit, and Yosys on one small layer."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import irgraphs
from bnnc import main
from rtl_check import requires_verilator, requires_yosys

FOLDING = {"MatMul_0_mvtu": {"pe": 4, "simd": 49}, "MatMul_1_mvtu": {"pe": 2, "simd": 8},
           "MatMul_2_mvtu": {"pe": 4, "simd": 4}, "MatMul_3_mvtu": {"pe": 5, "simd": 16}}


@pytest.fixture(scope="module")
def tfc_build(tmp_path_factory):
    from bnn.export import export_qonnx
    from bnn.topologies import build

    tmp = tmp_path_factory.mktemp("tfc")
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(build("tfc", 1, 1, width=0.25).eval(), tmp / "tfc.onnx", (1, 1, 28, 28), dynamo=False)
    (tmp / "folding.json").write_text(json.dumps(FOLDING))
    res = CliRunner().invoke(main, ["compile", str(tmp / "tfc.onnx"), "-o", str(tmp / "build"), "--topk", "1",
                                    "--board", "Pynq-Z2", "--folding", str(tmp / "folding.json")])
    assert res.exit_code == 0, res.output
    return tmp / "build"


@requires_verilator
def test_rtlsim_tfc_bit_exact(tfc_build, monkeypatch):
    res = CliRunner().invoke(main, ["rtlsim", str(tfc_build), "--frames", "50"])
    assert res.exit_code == 0, res.output
    doc = json.loads((tfc_build / "rtlsim.json").read_text())
    assert doc["frames"] == 50 and doc["mismatches"] == 0
    for key in ("cycles_per_frame", "latency_cycles", "estimated_cycles_per_frame", "estimated_latency_cycles"):
        assert isinstance(doc[key], int) and doc[key] > 0, key
    # an MVTU-bound pipeline: the RTL reaches the modelled initiation interval (cycles are simulated, exact)
    assert abs(doc["cycles_per_frame"] - doc["estimated_cycles_per_frame"]) <= 0.05 * doc["estimated_cycles_per_frame"]
    assert all(0 <= f["max_level"] <= f["depth"] for f in doc["fifos"])
    # throughput of the simulation itself, build time reported apart
    # (run_seconds is written rounded to the millisecond: the rate lies within that rounding of 50 / run_seconds)
    lo, hi = 50 / (doc["run_seconds"] + 0.0005), 50 / max(doc["run_seconds"] - 0.0005, 1e-9)
    assert lo * 0.999 <= doc["frames_per_second"] <= hi * 1.001, doc
    assert "simulated frames per host second" in res.output and "Verilator build:" in res.output, res.output
    # second run: same sources, the Verilator build is reused; random backpressure keeps it exact; BUILD given
    # relative to the working directory (the simulation binary runs inside BUILD/rtl)
    monkeypatch.chdir(tfc_build.parent)
    res = CliRunner().invoke(main, ["rtlsim", tfc_build.name, "--frames", "20", "--stall-seed", "3"])
    assert res.exit_code == 0, res.output
    assert "reused" in res.output
    assert json.loads((tfc_build / "rtlsim.json").read_text())["reused_build"] is True


def test_missing_tool_is_a_clear_error(tfc_build, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    for cmd in ("rtlsim", "synth"):
        res = CliRunner().invoke(main, [cmd, str(tfc_build)])
        assert res.exit_code == 1
        assert "is not on PATH" in res.output and "apt-get install" in res.output
        assert "Traceback" not in res.output


@requires_yosys
def test_synth_one_layer(tmp_path):
    """Yosys on a one-layer build: synth.json has the tool, part and both totals in the cost model's keys."""
    rng = np.random.default_rng(0)
    g = irgraphs.graph("one", [irgraphs.mvtu("fc0", rng, (), 32, 8, "BIPOLAR", "BIPOLAR", "BIPOLAR", pe=2, simd=8)])
    g.save(tmp_path / "build")
    from compiler.estimate.cost import estimate
    from compiler.workflow.report import build_report, write_report

    write_report(build_report(g.name, estimate(g)), tmp_path / "build")      # the folding report of the build
    res = CliRunner().invoke(main, ["synth", str(tmp_path / "build"), "--board", "Pynq-Z2"])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "build" / "synth.json").read_text())
    rep = json.loads((tmp_path / "build" / "report.json").read_text())     # rewritten: synthesized beside estimated
    assert rep["synth"]["layers"]["fc0"]["synth"] == {k: doc["layers"][0]["synth"][k] for k in ("LUT", "FF", "BRAM18", "DSP")}
    assert rep["synth"]["total"] == doc["total"]
    txt = (tmp_path / "build" / "report.txt").read_text()
    assert f"synthesized ({doc['tool']}" in txt and f"{doc['total']['LUT']:,}/{doc['estimated_total']['LUT']:,}" in txt
    assert doc["tool"].startswith("Yosys") and doc["part"].startswith("xc7z020") and doc["family"] == "xc7"
    keys = {"LUT", "FF", "LUTRAM", "BRAM18", "DSP"}
    assert set(doc["total"]) == keys and set(doc["estimated_total"]) == keys
    (layer,) = doc["layers"]
    assert layer["name"] == "fc0" and set(layer["synth"]) == keys and set(layer["estimated"]) == keys
    # 2 PEs x 8 XNOR lanes, popcounts, comparators, counters: some logic and registers, no DSP
    assert layer["synth"]["LUT"] > 16 and layer["synth"]["FF"] > 16 and layer["synth"]["DSP"] == 0
    assert all(layer["synth"][k] <= doc["total"][k] for k in keys)
