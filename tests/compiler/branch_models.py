"""Channel-concatenating blocks written with raw Brevitas (power-of-two-scale quantizers, as FINN users train them),
for tests/compiler/frontend/test_concat.py, the RTL concat tests and the FINN tier: an Inception block (a branch split into a
1x1 and a 3x3 tower, concatenated) and a DenseNet-style block (a skip concatenated with a deeper path), each
followed by a strided conv and an FC head. The towers use different bit widths and scales, so the concatenation
rescales one input (a shift) as a residual add does."""
from __future__ import annotations

import brevitas.nn as qnn
import torch
from brevitas.quant import (Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint, Uint8ActPerTensorFixedPoint,
                            Uint8ActPerTensorFloatMaxInit)
from torch import nn


def _w(bits: int):
    return Int8WeightPerTensorFixedPoint.let(bit_width=bits)


def _relu(bits: int, max_val: float = 6.0, qt: bool = True):
    """A power-of-two-scale QuantReLU; qt=False returns plain floats (Brevitas concatenates QuantTensors only when
    their scales are equal, so towers of different scales are concatenated as floats, as users write it)."""
    return qnn.QuantReLU(act_quant=Uint8ActPerTensorFixedPoint.let(bit_width=bits), max_val=max_val,
                         return_quant_tensor=qt)


def _randomize_bn(model: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.5 + 0.5)
    return model.eval()


class _Head(nn.Module):
    def __init__(self, c: int, size: int):
        super().__init__()
        self.conv = qnn.QuantConv2d(c, 8, 3, stride=2, bias=False, weight_quant=_w(4))
        self.bn = nn.BatchNorm2d(8)
        self.act = _relu(4)
        o = (size - 3) // 2 + 1
        self.fc = qnn.QuantLinear(8 * o * o, 5, bias=False, weight_quant=_w(4))

    def forward(self, x):
        return self.fc(torch.flatten(self.act(self.bn(self.conv(x))), 1))


class Inception(nn.Module):
    """x -> [1x1 conv -> BN -> 4-bit ReLU] ++ [3x3 conv (padded) -> BN -> 3-bit ReLU] -> head."""

    def __init__(self, c: int = 4, size: int = 7):
        super().__init__()
        self.inq = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint.let(bit_width=4), return_quant_tensor=True)
        self.c1, self.b1, self.a1 = (qnn.QuantConv2d(c, 4, 1, bias=False, weight_quant=_w(4)), nn.BatchNorm2d(4),
                                     _relu(4, qt=False))
        self.c3, self.b3, self.a3 = (qnn.QuantConv2d(c, 6, 3, padding=1, bias=False, weight_quant=_w(4)),
                                     nn.BatchNorm2d(6), _relu(3, qt=False))
        self.head = _Head(10, size)

    def forward(self, x):
        x = self.inq(x)
        y = torch.cat([self.a1(self.b1(self.c1(x))), self.a3(self.b3(self.c3(x)))], dim=1)
        return self.head(y)


class ScaledInception(Inception):
    """The Inception block with towers ending in Brevitas's float-scale QuantReLU (a learned scale initialised from
    max_val): 4-bit 2.8125 / 15 = 3/16 and 3-bit 1.640625 / 7 = 15/64, not a power of two apart (ratio 4 : 5, common
    unit 3/64), concatenated as floats: ConcatStreams with integer multipliers [4, 5]."""

    def __init__(self, c: int = 4, size: int = 7):
        super().__init__(c, size)
        self.a1 = qnn.QuantReLU(act_quant=Uint8ActPerTensorFloatMaxInit, bit_width=4, max_val=2.8125)
        self.a3 = qnn.QuantReLU(act_quant=Uint8ActPerTensorFloatMaxInit, bit_width=3, max_val=1.640625)


class DenseBlock(nn.Module):
    """x (4-bit ReLU) -> [3x3 conv -> BN -> 4-bit ReLU -> 3x3 conv -> BN -> 4-bit ReLU]; cat(x, that) -> head."""

    def __init__(self, c: int = 4, growth: int = 4, size: int = 7):
        super().__init__()
        self.inq = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint.let(bit_width=4), return_quant_tensor=True)
        self.c0, self.b0, self.a0 = (qnn.QuantConv2d(2, c, 1, bias=False, weight_quant=_w(4)), nn.BatchNorm2d(c),
                                     _relu(4, qt=False))
        self.c1, self.b1, self.a1 = (qnn.QuantConv2d(c, growth, 3, padding=1, bias=False, weight_quant=_w(4)),
                                     nn.BatchNorm2d(growth), _relu(4, 3.0))
        self.c2, self.b2, self.a2 = (qnn.QuantConv2d(growth, growth, 3, padding=1, bias=False, weight_quant=_w(4)),
                                     nn.BatchNorm2d(growth), _relu(4, 3.0, qt=False))
        self.head = _Head(c + growth, size)

    def forward(self, x):
        x = self.a0(self.b0(self.c0(self.inq(x))))
        y = self.a2(self.b2(self.c2(self.a1(self.b1(self.c1(x))))))
        return self.head(torch.cat([x, y], dim=1))


class _Towers(nn.Module):
    """An Inception split inside another branch: [1x1 conv -> BN -> 4-bit ReLU] ++ [3x3 conv -> BN -> 4-bit ReLU]."""

    def __init__(self, ci: int, c1: int, c3: int):
        super().__init__()
        self.t1 = nn.Sequential(qnn.QuantConv2d(ci, c1, 1, bias=False, weight_quant=_w(4)), nn.BatchNorm2d(c1),
                                _relu(4, 3.0, qt=False))
        self.t3 = nn.Sequential(qnn.QuantConv2d(ci, c3, 3, padding=1, bias=False, weight_quant=_w(4)),
                                nn.BatchNorm2d(c3), _relu(4, 3.0, qt=False))

    def forward(self, x):
        return torch.cat([self.t1(x), self.t3(x)], dim=1)


class NestedDense(nn.Module):
    """A concat nested in a branch of another concat: x (4-bit ReLU) ++ [3x3 conv -> BN -> 4-bit ReLU -> Inception
    towers (1x1 ++ 3x3) -> 1x1 transition conv -> BN -> 4-bit ReLU] -> head. The outer skip waits for the deep
    path's two rows of 3x3 windows. (Without the transition the exporter merges the two torch.cat into one Concat
    of three tensors from two branch points.)"""

    def __init__(self, c: int = 4, growth: int = 4, size: int = 7):
        super().__init__()
        self.inq = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint.let(bit_width=4), return_quant_tensor=True)
        self.stem = nn.Sequential(qnn.QuantConv2d(2, c, 1, bias=False, weight_quant=_w(4)), nn.BatchNorm2d(c),
                                  _relu(4, qt=False))
        self.conv = nn.Sequential(qnn.QuantConv2d(c, growth, 3, padding=1, bias=False, weight_quant=_w(4)),
                                  nn.BatchNorm2d(growth), _relu(4, 3.0))
        self.towers = _Towers(growth, growth // 2, growth - growth // 2)
        self.transition = nn.Sequential(qnn.QuantConv2d(growth, growth, 1, bias=False, weight_quant=_w(4)),
                                        nn.BatchNorm2d(growth), _relu(4, 3.0, qt=False))
        self.head = _Head(c + growth, size)

    def forward(self, x):
        x = self.stem(self.inq(x))
        return self.head(torch.cat([x, self.transition(self.towers(self.conv(x)))], dim=1))


class InceptionResidual(nn.Module):
    """A concat nested in a branch of a residual add: x (4-bit ReLU) + Inception towers (1x1 ++ 3x3) of x, then a
    4-bit ReLU and the head. The skip waits for the 3x3 tower's first row of windows."""

    def __init__(self, c: int = 4, size: int = 7):
        super().__init__()
        self.inq = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint.let(bit_width=4), return_quant_tensor=True)
        self.stem = nn.Sequential(qnn.QuantConv2d(2, c, 1, bias=False, weight_quant=_w(4)), nn.BatchNorm2d(c),
                                  _relu(4, 3.0, qt=False))
        self.towers = _Towers(c, c // 2, c - c // 2)
        self.out = _relu(4)
        self.head = _Head(c, size)

    def forward(self, x):
        x = self.stem(self.inq(x))
        return self.head(self.out(x + self.towers(x)))


class DenseLayers(nn.Module):
    """A DenseNet block of `layers` layers as torchvision writes it: each reads the concatenation of the block input
    and every earlier layer's output (3x3 conv -> BN -> 4-bit ReLU, `growth` channels) and the block ends in the
    concatenation of all of them, then the head. Branches cross: y1 feeds cat(x, y1) and cat(x, y1, y2)."""

    def __init__(self, c: int = 4, growth: int = 2, layers: int = 2, size: int = 7):
        super().__init__()
        self.inq = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint.let(bit_width=4), return_quant_tensor=True)
        self.stem = nn.Sequential(qnn.QuantConv2d(2, c, 1, bias=False, weight_quant=_w(4)), nn.BatchNorm2d(c),
                                  _relu(4, 3.0, qt=False))
        self.layers = nn.ModuleList(
            nn.Sequential(qnn.QuantConv2d(c + i * growth, growth, 3, padding=1, bias=False, weight_quant=_w(4)),
                          nn.BatchNorm2d(growth), _relu(4, 3.0, qt=False)) for i in range(layers))
        self.head = _Head(c + layers * growth, size)

    def forward(self, x):
        feats = [self.stem(self.inq(x))]
        for layer in self.layers:
            feats.append(layer(torch.cat(feats, dim=1)))
        return self.head(torch.cat(feats, dim=1))


def dense_layers(seed: int = 0, layers: int = 3) -> tuple[nn.Module, tuple[int, ...]]:
    torch.manual_seed(seed)
    return _randomize_bn(DenseLayers(layers=layers), seed + 1), (2, 7, 7)


def nested_dense(seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    torch.manual_seed(seed)
    return _randomize_bn(NestedDense(), seed + 1), (2, 7, 7)


def inception_residual(seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    torch.manual_seed(seed)
    return _randomize_bn(InceptionResidual(), seed + 1), (2, 7, 7)


def inception(seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    torch.manual_seed(seed)
    return _randomize_bn(Inception(), seed + 1), (4, 7, 7)


def scaled_inception(seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    torch.manual_seed(seed)
    return _randomize_bn(ScaledInception(), seed + 1), (4, 7, 7)


def densenet(seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    torch.manual_seed(seed)
    return _randomize_bn(DenseBlock(), seed + 1), (2, 7, 7)


class UnequalResidual(nn.Module):
    """A residual add of two float-scale branches (Brevitas defaults): the 4-bit block input and a 3x3 conv -> BN ->
    3-bit QuantReLU branch with its own scale (6/7, not a power of two from the input's), added as floats, then a
    4-bit QuantReLU and an FC head (the shape of issue 27's 'unequal residual scales')."""

    def __init__(self, c: int = 4, size: int = 5, quant_out: bool = False):
        super().__init__()
        self.tail = qnn.QuantIdentity() if quant_out else nn.Identity()   # integer outputs: exact in FINN too
        self.q = qnn.QuantIdentity(bit_width=4)         # floats: Brevitas adds QuantTensors only at equal scales
        self.conv = qnn.QuantConv2d(c, c, 3, padding=1, bias=False, weight_bit_width=4)
        self.bn = nn.BatchNorm2d(c)
        self.r = qnn.QuantReLU(bit_width=3)
        self.out = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.fc = qnn.QuantLinear(c * size * size, 3)

    def forward(self, x):
        x = self.q(x)
        return self.tail(self.fc(torch.flatten(self.out(x + self.r(self.bn(self.conv(x)))), 1)))


def unequal_residual(seed: int = 0, quant_out: bool = False) -> tuple[nn.Module, tuple[int, ...]]:
    torch.manual_seed(seed)
    return _randomize_bn(UnequalResidual(quant_out=quant_out), seed + 1), (4, 5, 5)


class Inception4(nn.Module):
    """Four towers concatenated by one Concat (GoogLeNet's block without the pool tower): 1x1 (float scale 3/16),
    3x3 (float scale 15/64), 1x1 -> 3x3 and 1x1 (power-of-two scales), each conv -> BN -> QuantReLU; lowered as a
    chain of three DuplicateStreams and three two-input ConcatStreams (shifts and multipliers)."""

    def __init__(self, c: int = 3, size: int = 6):
        super().__init__()
        self.inq = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint.let(bit_width=4), return_quant_tensor=True)

        def unit(ci, co, k, act):
            return nn.Sequential(qnn.QuantConv2d(ci, co, k, padding=k // 2, bias=False, weight_quant=_w(4)),
                                 nn.BatchNorm2d(co), act)

        float_relu = lambda bits, mv: qnn.QuantReLU(act_quant=Uint8ActPerTensorFloatMaxInit, bit_width=bits,  # noqa
                                                    max_val=mv)
        self.towers = nn.ModuleList([
            unit(c, 2, 1, float_relu(4, 2.8125)),
            unit(c, 2, 3, float_relu(3, 1.640625)),
            nn.Sequential(unit(c, 2, 1, _relu(4)), unit(2, 2, 3, _relu(3, qt=False))),
            unit(c, 2, 1, _relu(4, 3.0, qt=False)),
        ])
        self.head = _Head(8, size)

    def forward(self, x):
        x = self.inq(x)
        return self.head(torch.cat([t(x) for t in self.towers], dim=1))


def inception4(seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    torch.manual_seed(seed)
    return _randomize_bn(Inception4(), seed + 1), (3, 6, 6)
