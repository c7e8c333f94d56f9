"""The residual block of tests/compiler (brevitas_models.ResBlock, raw Brevitas: x -> [conv3x3 -> BN -> q ->
conv3x3 -> BN -> q] + x -> QuantReLU, one or two blocks, then an FC), compiled and folded for a board; shared by
the RTL residual test and benchmarks/rtl_branch_fifos.py."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from brevitas_models import ResBlock    # tests/compiler (on sys.path: tests/compiler/backends/rtl/conftest.py, the benchmark)


def residual_graph(work: Path, blocks: int = 1, channels: int = 4, size: int = 6, board: str = "Pynq-Z1"):
    """Export, compile (exactness checked against QONNX by compiler.sim.verify), fold for `board` at its maximum
    frame rate; returns the folded DataflowGraph."""
    import warnings

    import numpy as np

    from bnn.export import export_qonnx
    from boards.catalog import get_board
    from compiler.workflow.compile import compile_model
    from compiler.estimate.folding import fold_graph
    from compiler.frontend.ingest import load_model
    from compiler.sim.verify import verify_graph

    torch.manual_seed(blocks)
    model = ResBlock(channels, blocks, size)
    gen = torch.Generator().manual_seed(blocks)
    for m in model.modules():         # non-trivial BatchNorm statistics, so the adds see varied values
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5, generator=gen)
            m.running_var.uniform_(0.5, 2.0, generator=gen)
            m.weight.data.uniform_(0.5, 1.5, generator=gen)
            m.bias.data.uniform_(-0.5, 0.5, generator=gen)
    model.eval()
    work.mkdir(parents=True, exist_ok=True)
    onnx = work / f"res{blocks}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, onnx, (channels, size, size), dynamo=False)
    g = compile_model(str(onnx), work / f"build{blocks}")
    x = np.random.default_rng(0).uniform(-1, 1, (16, channels, size, size)).astype(np.float32)
    rep = verify_graph(str(onnx), g, inputs=x, num_random=8, cleaned=load_model(str(onnx)))
    if rep.output_mismatches or any(rep.layer_mismatches[n] for n in rep.integer_layers):
        raise AssertionError(f"the residual model does not verify against QONNX: {rep.layer_mismatches}")
    fold_graph(g, get_board(board), target_fps="max")
    return g
