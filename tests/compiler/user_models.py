"""Models as users write them: raw brevitas.nn with its default float-scale quantizers, exported straight with
brevitas.export.export_qonnx (TorchScript or the default exporter), without bnn/ or any cleanup."""
from __future__ import annotations

import warnings

import brevitas.nn as qnn
import torch
from brevitas.quant import Int8WeightPerChannelFloat
from brevitas.quant.binary import SignedBinaryWeightPerTensorConst
from torch import nn


def _bn(model: nn.Module, seed: int) -> nn.Module:
    """Non-trivial BatchNorm statistics, a third of the gammas negative."""
    g = torch.Generator().manual_seed(seed)
    for b in model.modules():
        if isinstance(b, nn.modules.batchnorm._BatchNorm):
            n = b.num_features
            with torch.no_grad():
                b.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
                b.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                b.weight.copy_((torch.rand(n, generator=g) + 0.5) * torch.where(torch.arange(n) % 3 == 0, -1.0, 1.0))
                b.bias.copy_(torch.randn(n, generator=g) * 0.2)
    return model.eval()


def defaults8() -> tuple[nn.Module, tuple[int, ...]]:
    """Brevitas defaults: 8-bit input, 8-bit per-tensor float weights with float bias, BatchNorm, 8-bit QuantReLU,
    and an 8-bit classifier head without activation."""
    torch.manual_seed(0)
    return _bn(nn.Sequential(qnn.QuantIdentity(), qnn.QuantLinear(24, 16, bias=True), nn.BatchNorm1d(16),
                             qnn.QuantReLU(), qnn.QuantLinear(16, 6, bias=True)), 1), (24,)


def lowbit_mlp() -> tuple[nn.Module, tuple[int, ...]]:
    """1-bit float-scale weights, QuantHardTanh 2-bit, 3-bit weights with bias, QuantReLU 3-bit, per-channel 4-bit
    weights, BatchNorm1d after the last linear."""
    torch.manual_seed(1)
    return _bn(nn.Sequential(
        qnn.QuantIdentity(bit_width=4),
        qnn.QuantLinear(24, 16, bias=False, weight_quant=SignedBinaryWeightPerTensorConst.let(scaling_const=0.37)),
        nn.BatchNorm1d(16), qnn.QuantHardTanh(bit_width=2, max_val=1.0, min_val=-1.0),
        qnn.QuantLinear(16, 12, bias=True, weight_bit_width=3), qnn.QuantReLU(bit_width=3),
        qnn.QuantLinear(12, 6, bias=False, weight_quant=Int8WeightPerChannelFloat.let(bit_width=4)),
        nn.BatchNorm1d(6)), 2), (24,)


def cnn() -> tuple[nn.Module, tuple[int, ...]]:
    """Per-channel 2-bit conv with padding=1, bias and BatchNorm, QuantReLU 2-bit, MaxPool, a 4-bit stride-2 conv
    with bias and no BatchNorm, QuantReLU 4-bit, 8-bit default linear head."""
    torch.manual_seed(2)
    return _bn(nn.Sequential(
        qnn.QuantIdentity(),
        qnn.QuantConv2d(3, 8, 3, padding=1, bias=True, weight_quant=Int8WeightPerChannelFloat.let(bit_width=2)),
        nn.BatchNorm2d(8), qnn.QuantReLU(bit_width=2), nn.MaxPool2d(2),
        qnn.QuantConv2d(8, 8, 3, stride=2, bias=True, weight_bit_width=4), qnn.QuantReLU(bit_width=4),
        nn.Flatten(), qnn.QuantLinear(8 * 2 * 2, 5, bias=True)), 3), (3, 10, 10)


def radioml_1d(quant_out: bool = False) -> tuple[nn.Module, tuple[int, ...]]:
    """A RadioML-style 1-D CNN on (2, 32) I/Q signals (QuantConv1d, BatchNorm1d, MaxPool1d, AvgPool1d): a padded
    4-bit conv with bias, a dilated one, a strided one, then a 4-bit FC + BatchNorm1d and an 8-bit head (followed by
    an 8-bit QuantIdentity with `quant_out`, so that the output is integer levels: exact in FINN too)."""
    torch.manual_seed(4)
    tail = [qnn.QuantIdentity()] if quant_out else []
    return _bn(nn.Sequential(
        qnn.QuantIdentity(),
        qnn.QuantConv1d(2, 8, 3, padding=1, bias=True, weight_bit_width=4), nn.BatchNorm1d(8),
        qnn.QuantReLU(bit_width=4), nn.MaxPool1d(2),
        qnn.QuantConv1d(8, 8, 3, padding=2, dilation=2, bias=False, weight_bit_width=4), nn.BatchNorm1d(8),
        qnn.QuantReLU(bit_width=4), nn.AvgPool1d(2), qnn.QuantIdentity(bit_width=4),
        qnn.QuantConv1d(8, 8, 3, stride=2, bias=False, weight_bit_width=4), nn.BatchNorm1d(8),
        qnn.QuantReLU(bit_width=4),
        nn.Flatten(), qnn.QuantLinear(8 * 3, 12, bias=False, weight_bit_width=4), nn.BatchNorm1d(12),
        qnn.QuantReLU(bit_width=4), qnn.QuantLinear(12, 5, bias=True), *tail), 5), (2, 32)


def signal_dw_gap() -> tuple[nn.Module, tuple[int, ...]]:
    """A depthwise QuantConv1d (groups = channels), a pointwise one, AdaptiveAvgPool1d(1) (the dynamo exporter writes
    it as Unsqueeze -> ReduceMean -> Squeeze) and an 8-bit head, on (4, 20) signals."""
    torch.manual_seed(5)
    return _bn(nn.Sequential(
        qnn.QuantIdentity(), qnn.QuantConv1d(4, 4, 3, padding=1, groups=4, weight_bit_width=4), nn.BatchNorm1d(4),
        qnn.QuantReLU(bit_width=4), qnn.QuantConv1d(4, 6, 1, weight_bit_width=4), nn.BatchNorm1d(6),
        qnn.QuantReLU(bit_width=4), nn.AdaptiveAvgPool1d(1), qnn.QuantIdentity(bit_width=4), nn.Flatten(),
        qnn.QuantLinear(6, 3, bias=True)), 6), (4, 20)


USER_MODELS = {"defaults8": defaults8, "lowbit_mlp": lowbit_mlp, "cnn": cnn, "radioml_1d": radioml_1d,
               "signal_dw_gap": signal_dw_gap}


def export_raw(model: nn.Module, path, in_shape: tuple[int, ...], dynamo: bool) -> str:
    """brevitas.export.export_qonnx as a user calls it: the file is not cleaned up."""
    from brevitas.export import export_qonnx

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        export_qonnx(model.eval(), torch.rand(1, *in_shape), export_path=str(path), dynamo=dynamo)
    return str(path)
