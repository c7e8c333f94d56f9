"""compiler.workflow.pipeline.build and the saved BuildConfig that later steps read."""
import json

import pytest

from brevitas_models import export, mlp
from compiler.workflow.builds import project_for_build
from compiler.workflow.config import BuildConfig, ConfigError, load_config
from compiler.workflow.pipeline import build


@pytest.fixture(scope="module")
def onnx(tmp_path_factory):
    return export(mlp(1, 1, seed=8), tmp_path_factory.mktemp("m") / "m.onnx", (20,), dynamo=False)


def test_build_saves_the_resolved_config_and_hls_uses_its_board(onnx, tmp_path):
    res = build(onnx, BuildConfig(board="zcu104", target_fps="max"), tmp_path / "b")
    cfg = load_config(tmp_path / "b")
    assert cfg == res.config
    assert cfg.board == "ZCU104" and cfg.folding_source == "optimizer" and cfg.clock_mhz > 0
    assert res.report["board"]["name"] == "ZCU104"
    _, proj = project_for_build(tmp_path / "b")                    # no --board: the build's board, not Pynq-Z2
    assert proj.board.name == "ZCU104" and proj.clock_mhz == cfg.clock_mhz
    _, proj = project_for_build(tmp_path / "b", "pynq-z2")         # an explicit board still wins
    assert proj.board.name == "Pynq-Z2"


def test_build_without_board_writes_graph_and_config(onnx, tmp_path):
    res = build(onnx, BuildConfig(topk=1), tmp_path / "b")
    assert res.report is None and [l.kind for l in res.graph.layers][-1] == "LabelSelect"
    doc = json.loads((tmp_path / "b" / "build_config.json").read_text())
    assert doc["board"] is None and doc["topk"] == 1 and doc["folding_source"] is None
    assert (tmp_path / "b" / "finn_dataflow.onnx").is_file()


def test_config_errors_name_file_and_field(tmp_path):
    with pytest.raises(ConfigError, match="field 'margin'"):
        BuildConfig(margin=1.5)
    with pytest.raises(ConfigError, match="not both"):
        BuildConfig(folding_file="f.json", target_fps=100)
    (tmp_path / "build_config.json").write_text(json.dumps({"board": "x", "colour": 1}))
    with pytest.raises(ConfigError, match=r"build_config.json: unknown fields \['colour'\]"):
        load_config(tmp_path)
    assert BuildConfig.from_dict(BuildConfig(board="kv260").to_dict()) == BuildConfig(board="kv260")


def test_finn_folding_config_comes_back_through_the_library(onnx, tmp_path):
    """Every build writes finn_folding.json; as BuildConfig.folding_file it is read as a FINN config (compiler.workflow
    .folding_file.read_folding_file) and gives the same folding. A FINN config naming an unknown node fails naming it."""
    from compiler.estimate.folding import FoldingError, current_folding

    first = build(onnx, BuildConfig(board="pynq-z2", target_fps="max"), tmp_path / "a")
    cfg = tmp_path / "a" / "finn_folding.json"
    doc = json.loads(cfg.read_text())
    assert "Defaults" in doc and any(v.get("PE", 1) > 1 or v.get("SIMD", 1) > 1 for k, v in doc.items() if k != "Defaults")
    again = build(onnx, BuildConfig(folding_file=str(cfg)), tmp_path / "b")
    assert again.config.folding_source == "file"
    assert current_folding(again.graph) == current_folding(first.graph)
    assert json.loads((tmp_path / "b" / "finn_folding.json").read_text()) == doc
    (tmp_path / "bad.json").write_text(json.dumps({"Defaults": {}, "no_such_node": {"PE": 2}}))
    with pytest.raises(FoldingError, match="FINN folding config .*bad.json.*'no_such_node'"):
        build(onnx, BuildConfig(folding_file=str(tmp_path / "bad.json")), tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_every_step_takes_the_boards_catalog_clock(onnx, tmp_path, monkeypatch):
    """Issue 13: the board's default clock comes from the catalog everywhere (folding estimate, report, saved
    config, HLS project and its Tcl, deployment), not a built-in 100 MHz. A catalog entry at another clock shows
    any place that assumes 100."""
    from dataclasses import replace

    from boards.catalog import _catalog
    from compiler.workflow.deploy import assemble_deploy

    cat = _catalog()
    clock = 187.5
    monkeypatch.setitem(cat, "ZCU104", replace(cat["ZCU104"], default_clock_mhz=clock))
    res = build(onnx, BuildConfig(board="zcu104"), tmp_path / "b")
    assert res.config.clock_mhz == clock and load_config(tmp_path / "b").clock_mhz == clock
    assert res.report["clock_mhz"] == clock and f"at {clock:g} MHz" in (tmp_path / "b" / "report.txt").read_text()
    assert res.report["fps"] == pytest.approx(clock * 1e6 / res.report["ii_cycles"])
    _, proj = project_for_build(tmp_path / "b")
    assert proj.clock_mhz == clock and json.loads((proj.path / "project.json").read_text())["clock_mhz"] == clock
    assert f"create_clock -period {1000 / clock:.3f}" in (proj.path / "hls.tcl").read_text()
    assert f"{{{clock:g}}}" in (proj.path / "vivado.tcl").read_text()
    meta = assemble_deploy(tmp_path / "b", tmp_path / "d")
    assert meta["clock_mhz"] == clock


def test_target_fps_without_a_board_is_refused_before_any_work(onnx, tmp_path, monkeypatch):
    """Issue 13: `--target-fps` without `--board` failed after the whole lowering; the config refuses it first."""
    import compiler.frontend.ingest as frontend

    def boom(*a, **k):
        raise AssertionError("lowering started")

    monkeypatch.setattr(frontend, "load_model", boom)
    with pytest.raises(ConfigError, match="needs a board"):
        build(onnx, BuildConfig(target_fps="1000"), tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_report_is_titled_with_the_model_not_the_folder(onnx, tmp_path):
    """Issue 13: the demo's plot said 'dataflow' (its build folder). A graph named after its folder carries the
    model's name beside it; an explicit --name is used alone."""
    from compiler.workflow.report import plot_title

    res = build(onnx, BuildConfig(board="pynq-z2"), tmp_path / "dataflow")
    assert plot_title(res.report).startswith("dataflow (m): estimated ")
    named = build(onnx, BuildConfig(board="pynq-z2", name="tfc-w1a1"), tmp_path / "dataflow2")
    assert plot_title(named.report).startswith("tfc-w1a1: estimated ") and "Pynq-Z2" in plot_title(named.report)
