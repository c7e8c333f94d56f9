"""compiler.pipeline.build and the saved BuildConfig that later steps read."""
import json

import pytest

from brevitas_models import export, mlp
from compiler.codegen import project_for_build
from compiler.config import BuildConfig, ConfigError, load_config
from compiler.pipeline import build


@pytest.fixture(scope="module")
def onnx(tmp_path_factory):
    return export(mlp(1, 1, seed=8), tmp_path_factory.mktemp("m") / "m.onnx", (20,))


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
