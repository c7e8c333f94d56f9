"""A first layer on ImageNet-normalized float pixels (per-channel mean and std), as users write it in raw Brevitas:
shared by tests/compiler/frontend/test_raw_input.py (verification, C-sim, runtime) and the RTL test
(tests/compiler/backends/rtl/test_rtl_normalized_input.py)."""
from __future__ import annotations

from pathlib import Path

import brevitas.nn as qnn
import torch
from torch import nn

from user_models import _bn, export_raw

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
IMAGENET_RAW = {"bits": 8, "mean": IMAGENET_MEAN, "std": IMAGENET_STD}


class Normalize(nn.Module):
    """A user's normalization inside the model (exported as Sub / Div before the first conv)."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).reshape(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).reshape(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


def per_channel_cnn(norm: nn.Module | None = None, weight_bits: int = 4, quant_out: bool = False) -> nn.Module:
    """A first QuantConv2d of `weight_bits`-bit weights on float input, unpadded (a per-channel mean needs no pad
    value), BN, QuantReLU 4-bit, a second conv, an FC head: what ImageNet-normalized models feed their stem
    (`quant_out`: an 8-bit QuantIdentity after the head, so the outputs are integer levels: exact in FINN too)."""
    torch.manual_seed(7)
    layers = ([norm] if norm is not None else []) + [
        qnn.QuantConv2d(3, 8, 3, bias=False, weight_bit_width=weight_bits), nn.BatchNorm2d(8),
        qnn.QuantReLU(bit_width=4), qnn.QuantConv2d(8, 8, 3, stride=2, bias=False, weight_bit_width=4),
        nn.BatchNorm2d(8), qnn.QuantReLU(bit_width=4), nn.Flatten(), qnn.QuantLinear(8 * 3 * 3, 4, bias=True),
        *([qnn.QuantIdentity()] if quant_out else [])]
    return _bn(nn.Sequential(*layers), 8)


def imagenet_normalized_build(work: Path, board: str = "Pynq-Z1"):
    """(folded DataflowGraph, QONNX path): per_channel_cnn on (3, 10, 10) compiled with `--input-bits 8` and
    ImageNet's --input-mean/--input-std into the build folder work/build, verified against QONNX, folded for
    `board` at its maximum frame rate."""
    from boards.catalog import get_board
    from compiler.estimate.folding import fold_graph
    from compiler.workflow.compile import load, lower, run_steps, verify, write
    from compiler.workflow.config import BuildConfig

    def fold(state, cfg):        # a step of its own (compiler.workflow.compile): the maximum rate, no report
        fold_graph(state.graph, get_board(board), target_fps="max")

    work.mkdir(parents=True, exist_ok=True)
    path = export_raw(per_channel_cnn(), work / "imagenet_norm.onnx", (3, 10, 10), False)
    state = run_steps(path, BuildConfig(verify=True, num_random=48), work / "build", raw_input=IMAGENET_RAW,
                      steps=(load, lower, verify, fold, write), save_config=False)
    return state.graph, path
