"""The RadioML-style 1-D CNN of user_models (raw Brevitas QuantConv1d / MaxPool1d / AvgPool1d / BatchNorm1d), exported,
compiled with verification against QONNX and folded for a board: shared by tests/compiler/frontend/test_signals_1d.py and the
RTL test (tests/compiler/backends/rtl/test_rtl_1d.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from user_models import export_raw, radioml_1d


def radioml_graph(work: Path, board: str = "Pynq-Z1"):
    """(folded DataflowGraph, verify report, QONNX path): export, compile, verify (zero tolerance on every integer
    layer), fold for `board` at its maximum frame rate."""
    from boards.catalog import get_board
    from compiler.workflow.compile import compile_model
    from compiler.estimate.folding import fold_graph
    from compiler.frontend.ingest import load_model
    from compiler.sim.verify import verify_graph

    model, shape = radioml_1d()
    work.mkdir(parents=True, exist_ok=True)
    path = export_raw(model, work / "radioml_1d.onnx", shape, False)
    g = compile_model(path, work / "build")
    x = np.random.default_rng(0).uniform(-1, 1, (32, *shape)).astype(np.float32)
    rep = verify_graph(path, g, inputs=x, num_random=16, cleaned=load_model(path))
    fold_graph(g, get_board(board), target_fps="max")
    return g, rep, path
