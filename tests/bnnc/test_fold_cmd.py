"""`bnnc boards` and `bnnc compile --board/--target-fps/--folding` end to end on a small TFC."""
import json

import pytest
import torch
from click.testing import CliRunner

from bnn.export import export_qonnx
from bnn.topologies import build
from bnnc import main
from compiler.ir.graph import DataflowGraph


@pytest.fixture(scope="module")
def tfc_onnx(tmp_path_factory):
    torch.manual_seed(0)
    return str(export_qonnx(build("tfc", 1, 1, width=0.25), tmp_path_factory.mktemp("m") / "tfc.onnx", (1, 28, 28), dynamo=False))


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_boards_table_and_json():
    r = run("boards")
    assert r.exit_code == 0, r.output
    for name, part in [("Pynq-Z1", "xc7z020clg400-1"), ("Pynq-Z2", "xc7z020clg400-1"),
                       ("Ultra96-V2", "xczu3eg-sbva484-1-i"), ("ZCU104", "xczu7ev-ffvc1156-2-e"),
                       ("KV260", "xck26-sfvc784-2LV-c")]:
        line = next(l for l in r.output.splitlines() if l.startswith(name + " "))
        assert part in line
    assert "53,200" in r.output and "axi_dma on S_AXI_HP0" in r.output
    rows = json.loads(run("boards", "--json").output)
    assert [b["board"] for b in rows][:2] == ["Pynq-Z1", "Pynq-Z2"] and all(b["sources"] for b in rows)


def test_compile_for_board_and_target(tmp_path, tfc_onnx):
    out = tmp_path / "b"
    r = run("compile", tfc_onnx, "-o", out, "--board", "pynq-z2", "--target-fps", "200000")
    assert r.exit_code == 0, r.output
    assert "target 200,000 FPS met on Pynq-Z2" in r.output and "fits" in r.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["fps"] >= 200_000 and rep["fits"] and rep["board"]["name"] == "Pynq-Z2"
    assert (out / "report.png").stat().st_size > 1000 and (out / "report.txt").is_file()
    g = DataflowGraph.load(out)
    assert {l.name: l.folding for l in g.layers} == {l["name"]: {"pe": l["pe"], "simd": l["simd"]}
                                                     for l in rep["layers"] if l["kind"] == "MVTU"}
    assert any(l.pe > 1 or l.simd > 1 for l in g.layers)


def test_unreachable_target_writes_nothing(tmp_path, tfc_onnx):
    r = run("compile", tfc_onnx, "-o", tmp_path / "b", "--board", "Pynq-Z1", "--target-fps", "1e9")
    assert r.exit_code != 0 and "not reachable on Pynq-Z1" in r.output and "best achievable" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "b").exists()


def test_folding_file(tmp_path, tfc_onnx):
    g0 = DataflowGraph.load(run_ok(tmp_path / "plain", tfc_onnx))
    first = g0.layers[0].name
    good = tmp_path / "good.json"
    good.write_text(json.dumps({first: {"PE": 4, "SIMD": 16}}))
    r = run("compile", tfc_onnx, "-o", tmp_path / "f", "--board", "kv260", "--folding", good)
    assert r.exit_code == 0, r.output
    assert DataflowGraph.load(tmp_path / "f").layer(first).folding == {"pe": 4, "simd": 16}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({first: {"pe": 3}}))
    r = run("compile", tfc_onnx, "-o", tmp_path / "x", "--board", "kv260", "--folding", bad)
    assert r.exit_code != 0 and f"layer '{first}' (MVTU): pe=3 does not divide MH=16" in r.output
    assert "legal values: 1, 2, 4, 8, 16" in r.output and not (tmp_path / "x").exists()


def test_bad_board_and_conflicting_options(tmp_path, tfc_onnx):
    r = run("compile", tfc_onnx, "-o", tmp_path / "b", "--board", "zedboard")
    assert r.exit_code != 0 and "unknown board 'zedboard'" in r.output and "ZCU104" in r.output
    f = tmp_path / "f.json"
    f.write_text("{}")
    r = run("compile", tfc_onnx, "-o", tmp_path / "b", "--board", "zcu104", "--folding", f, "--target-fps", "10")
    assert r.exit_code != 0 and "not both" in r.output and not (tmp_path / "b").exists()


def run_ok(out, onnx):
    r = run("compile", onnx, "-o", out)
    assert r.exit_code == 0, r.output
    assert not (out / "report.json").exists()       # without --board the build is unchanged
    return out


def test_compile_rtl_folds_by_the_rtl_estimate(tmp_path, tfc_onnx):
    """--rtl: the report and build_config.json say the RTL flow, and the report's figures are the RTL estimate of
    the folded graph (compiler.estimate.cost target 'rtl'), which fits the board's budget."""
    from boards.catalog import get_board
    from compiler.estimate.cost import estimate

    out = tmp_path / "r"
    r = run("compile", tfc_onnx, "-o", out, "--board", "pynq-z1", "--rtl")
    assert r.exit_code == 0, r.output
    assert "resources: cost model of the RTL library" in r.output
    assert json.loads((out / "build_config.json").read_text())["flow"] == "rtl"
    rep = json.loads((out / "report.json").read_text())
    g = DataflowGraph.load(out)
    cost = estimate(g, rep["clock_mhz"], get_board("pynq-z1").shell.dma_bits, target="rtl")
    assert rep["flow"] == "rtl" and rep["total"] == cost.total.as_dict() and rep["ii_cycles"] == cost.ii_cycles
    assert not cost.total.over(get_board("pynq-z1").budget(0.85))
    r = run("compile", tfc_onnx, "-o", tmp_path / "u", "--board", "zcu104", "--rtl", "--weights-in", "uram")
    assert r.exit_code != 0 and "no run-time URAM loader" in r.output and "Traceback" not in r.output
