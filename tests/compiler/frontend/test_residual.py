"""Residual blocks (two 3x3 convs + skip add) written with raw Brevitas: lowered to a stream DAG
(DuplicateStreams -> conv branch / skip -> AddStreams), every integer layer equal to QONNX execution, folded
for a board with the skip FIFO sized from the cycle model, C-simulated bit-exactly; graph.json keeps the streams
and a linear graph.json keeps its old form."""
import json

import numpy as np
import pytest
import torch

from brevitas_models import ResBlock, compile_and_verify, export, randomize_bn
from diagnostics.errors import IRError
from compiler.ir.graph import DataflowGraph


@pytest.fixture(scope="module", params=[1, 2], ids=["one_block", "two_blocks"])
def residual(request, tmp_path_factory):
    torch.manual_seed(request.param)
    d = tmp_path_factory.mktemp(f"res{request.param}")
    onnx_path = export(randomize_bn(ResBlock(4, request.param), request.param), d / "m.onnx", (4, 6, 6))
    x = np.random.default_rng(0).uniform(-1, 1, (48, 4, 6, 6)).astype(np.float32)
    g, rep = compile_and_verify(onnx_path, d / "build", inputs=x, num_random=16)
    return d, onnx_path, g, rep, x, request.param


def test_residual_block_is_exact(residual):
    from compiler.sim.simulate import simulate

    _, _, g, rep, x, blocks = residual
    assert sum(l.kind == "DuplicateStreams" for l in g.layers) == blocks
    assert sum(l.kind == "AddStreams" for l in g.layers) == blocks
    assert not g.is_linear()
    assert rep.output_mismatches == 0 and rep.elements_over_bound == 0
    adds = [l.name for l in g.layers if l.kind == "AddStreams"]
    assert set(adds) <= set(rep.integer_layers)
    assert all(rep.layer_mismatches[n] == 0 for n in rep.integer_layers), rep.layer_mismatches
    _, outs = simulate(g, x, return_all=True)
    for l, y in zip(g.layers, outs):
        if l.kind == "AddStreams":
            assert len(np.unique(y)) > 2, f"{l.name} is (nearly) constant"


def test_wrong_add_threshold_is_detected(residual):
    from compiler.frontend.ingest import load_model
    from compiler.sim.verify import verify_graph

    _, onnx_path, g, _, x, _ = residual
    add = next(l for l in g.layers if l.kind == "AddStreams")
    t = add.arrays["thresholds"]
    add.arrays["thresholds"] = t - 1
    try:
        bad = verify_graph(onnx_path, g, inputs=x, num_random=0, cleaned=load_model(onnx_path))
    finally:
        add.arrays["thresholds"] = t
    assert bad.layer_mismatches[add.name] > 0


def test_graph_json_keeps_the_streams(residual, tmp_path):
    _, _, g, _, x, _ = residual
    g.save(tmp_path / "g")
    doc = json.loads((tmp_path / "g" / "graph.json").read_text())
    assert all("inputs" in l and "outputs" in l for l in doc["layers"])
    g2 = DataflowGraph.load(tmp_path / "g")
    assert g2.streams() == g.streams()
    from compiler.sim.simulate import simulate

    np.testing.assert_array_equal(simulate(g2, x[:8]), simulate(g, x[:8]))


def test_folded_csim_and_skip_fifo(residual):
    from boards.catalog import get_board
    from compiler.backends.hls.project import generate_project
    from compiler.backends.plan import make_plan
    from compiler.backends.hls.csim import check_csim, compile_csim
    from compiler.sim.ir_inputs import random_inputs
    from compiler.estimate.folding import fold_graph
    from compiler.sim.hostops import run_pre
    from compiler.workflow.report import build_report, format_table

    d, _, g, _, x, blocks = residual
    board = get_board("Pynq-Z1")
    cost, _, notes = fold_graph(g, board, target_fps="max")
    text = format_table(build_report(g.name, cost, board, notes=notes))
    plan = make_plan(g)
    proj_path = generate_project(g, d / f"hls{blocks}").path
    top = (proj_path / "src" / "top.cpp").read_text()
    # the skip input of every add holds at least the KH rows the conv branch's first window needs
    for add in (l for l in g.layers if l.kind == "AddStreams"):
        skip = max((f for f in plan.branch_fifos if f[2].startswith(f"{add.name} input")), key=lambda f: f[1])
        swg = next(l for l in g.layers if l.kind == "SlidingWindow")
        (h, w), c, (kh, _) = swg.attrs["ifm_dim"], swg.attrs["channels"], swg.attrs["kernel"]
        assert skip[1] * add.pe >= min(h, kh) * w * c
        assert f"variable={skip[0]} depth={skip[1]}" in top
        assert f"branch FIFO: input 1 of {add.name} is {skip[1]} words deep" in text or \
            f"branch FIFO: input 0 of {add.name} is {skip[1]} words deep" in text
    compile_csim(proj_path)
    ints = np.asarray(run_pre(g.input, x[:8])).reshape(8, *g.layers[0].in_shape).astype(np.int64)
    res = check_csim(g, proj_path, np.concatenate([ints, random_inputs(g, 8, seed=2)]))
    assert res.frames == 16 and res.ok, res.first_mismatch


def _linear_graph():
    import sys
    from pathlib import Path

    import irgraphs

    return irgraphs


def test_linear_graph_json_unchanged_and_stream_errors(tmp_path):
    irgraphs = _linear_graph()
    g = irgraphs.conv_int()
    g.save(tmp_path / "lin")
    doc = json.loads((tmp_path / "lin" / "graph.json").read_text())
    assert not any("inputs" in l or "outputs" in l for l in doc["layers"])
    assert DataflowGraph.load(tmp_path / "lin").is_linear()

    r = irgraphs.residual()
    r.layers[3].inputs = ["dup0:0"]                      # the skip reads the conv branch's copy too
    with pytest.raises(IRError, match="stream 'dup0:0' is read by more than one layer"):
        r.validate()
    r = irgraphs.residual()
    r.layers[4].inputs = ["mvtu2", "nowhere"]
    with pytest.raises(IRError, match="reads stream 'nowhere', which no earlier layer writes"):
        r.validate()
    r = irgraphs.residual()
    r.layers[4].inputs = ["mvtu2"]
    with pytest.raises(IRError, match="add4.*reads 1 and writes 1 streams, expected 2 and 1"):
        r.validate()
