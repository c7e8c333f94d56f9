"""FINN folding configs both ways: finn_folding_config names finn_dataflow.onnx's nodes with their PE/SIMD, and
from_finn_config (bnnc compile --folding) reads it back to the same folding."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from onnx import helper

from brevitas_models import cnn, export
from compiler.workflow.compile import compile_model
from compiler.backends.finn.export import FINN_DOMAIN, to_finn_onnx
from compiler.backends.finn.folding import finn_folding_config, from_finn_config, is_finn_config
from compiler.estimate.folding import FoldingError, current_folding, folded_dims


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    path = export(cnn(2, 2, pad=1, seed=7), tmp_path_factory.mktemp("ff") / "cnn.onnx", (2, 8, 8), dynamo=False)
    g = compile_model(path, None, topk=2)
    for l in g.layers:   # largest legal non-trivial values, so each key is exercised
        for key, (_, size) in folded_dims(l).items():
            l.folding[key] = next(v for v in (4, 3, 2, 1) if size % v == 0)
    return path, g


def test_config_matches_the_onnx_nodes(graph):
    _, g = graph
    cfg = finn_folding_config(g)
    assert cfg["Defaults"] == {} and is_finn_config(cfg)
    df = [n for n in to_finn_onnx(g).graph.node if n.domain == FINN_DOMAIN]
    nodes = {n.name: {a.name: helper.get_attribute_value(a) for a in n.attribute} for n in df}
    for name, entry in cfg.items():
        if name == "Defaults":
            continue
        assert name in nodes, name
        assert {k: nodes[name][k] for k in entry} == entry, name
    # every folded dataflow node is in the config (bnnc folds neither the flatten Reshape nor LabelSelect)
    folded = {n.name for n in df if n.op_type not in ("Reshape", "LabelSelect")
              and ({"PE", "SIMD"} & set(nodes[n.name]))}
    assert folded == set(cfg) - {"Defaults"}


def test_round_trip(graph):
    _, g = graph
    want = current_folding(g)
    assert any(v != 1 for e in want.values() for v in e.values())
    assert from_finn_config(g, json.loads(json.dumps(finn_folding_config(g)))) == want


def test_defaults_and_overrides(graph):
    _, g = graph
    mv = [l for l in g.layers if l.kind == "MVTU"]
    got = from_finn_config(g, {"Defaults": {"PE": [1, ["MVAU_hls", "MVAU_rtl"]]}, mv[0].name: {"PE": 2}})
    assert got[mv[0].name] == {"pe": 2} and all(got[l.name] == {"pe": 1} for l in mv[1:])
    assert not any(l.kind != "MVTU" and l.name in got for l in g.layers)


def test_errors_name_node_and_key(graph):
    _, g = graph
    pool = next(l for l in g.layers if l.kind == "MaxPool")
    with pytest.raises(FoldingError, match="node 'nope' is not in finn_dataflow.onnx"):
        from_finn_config(g, {"Defaults": {}, "nope": {"PE": 1}})
    with pytest.raises(FoldingError, match=f"layer {pool.name!r}: its FINN nodes ask for pe=1 and pe=2"):
        from_finn_config(g, {f"{pool.name}_swg": {"SIMD": 1}, pool.name: {"PE": 2}})
    with pytest.raises(FoldingError, match=f"node {pool.name!r} has no SIMD"):
        from_finn_config(g, {pool.name: {"SIMD": 2}})


def test_cli_compile_takes_its_own_finn_folding(graph, tmp_path):
    """Every build writes finn_folding.json; `bnnc compile --folding` of it rebuilds the same folding."""
    path, g = graph
    bnnc = str(Path(sys.executable).with_name("bnnc"))
    cfg = tmp_path / "finn_config.json"
    cfg.write_text(json.dumps(finn_folding_config(g)))
    subprocess.run([bnnc, "compile", str(path), "-o", str(tmp_path / "a"), "--topk", "2", "--folding", str(cfg)],
                   check=True, capture_output=True)
    written = json.loads((tmp_path / "a" / "finn_folding.json").read_text())
    assert written == finn_folding_config(g)
    from compiler.ir.graph import DataflowGraph

    assert current_folding(DataflowGraph.load(tmp_path / "a")) == current_folding(g)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Defaults": {}, "conv9": {"PE": 1}}))
    r = subprocess.run([bnnc, "compile", str(path), "-o", str(tmp_path / "b"), "--folding", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "node 'conv9' is not in finn_dataflow.onnx" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "b").exists()


def test_finn_builder_names_matched_by_order(graph):
    """FINN's builder renames nodes <op type>[_hls|_rtl]_<i> per op type in graph order (final_hw_config.json)."""
    _, g = graph
    mv = [l for l in g.layers if l.kind == "MVTU"]
    pools = [l for l in g.layers if l.kind == "MaxPool"]
    got = from_finn_config(g, {"Defaults": {}, "MVAU_hls_1": {"PE": 1, "SIMD": 1, "ram_style": "auto"},
                               "StreamingFIFO_rtl_0": {"depth": 32}, "Pool_hls_0": {"PE": 1}})
    assert got[mv[1].name] == {"pe": 1, "simd": 1} and got[pools[0].name] == {"pe": 1} and mv[0].name not in got
    # several implementations of one op type (FINN numbers each separately): matched by the file's graph order
    got = from_finn_config(g, {"MVAU_hls_0": {"PE": 1, "SIMD": 2}, "MVAU_rtl_0": {"PE": 1, "SIMD": 1}})
    assert got[mv[0].name] == {"pe": 1, "simd": 2} and got[mv[1].name] == {"pe": 1, "simd": 1}
    with pytest.raises(FoldingError, match="several implementations.*not listed in FINN's graph order"):
        from_finn_config(g, {"MVAU_hls_1": {"PE": 1}, "MVAU_rtl_0": {"PE": 1}, "MVAU_hls_0": {"PE": 1}})
    with pytest.raises(FoldingError, match=f"node 'MVAU_hls_9': the model has {len(mv)} MVAU nodes"):
        from_finn_config(g, {"MVAU_hls_9": {"PE": 1}})
