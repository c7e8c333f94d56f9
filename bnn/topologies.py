"""The standard BNN topologies (TFC, SFC, LFC, CNV after FINN / BNN-PYNQ) and user models.

Each model takes images in [0, 1] (N, C, H, W) and maps them to [-1, 1] inside the model, so the exported
QONNX graph holds the whole input path and the compiler can reproduce it exactly on the host.
"""
from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import brevitas.nn as qnn
import torch
from torch import nn

from bnn.quant import act_quant, relu_act_quant, weight_quant

FC_HIDDEN = {"tfc": (64, 64, 64), "sfc": (256, 256, 256), "lfc": (1024, 1024, 1024)}
# CNV from BNN-PYNQ: (out_channels, max-pool after) for six 3x3 unpadded convs, then three FC layers.
CNV_CONVS = ((64, False), (64, True), (128, False), (128, True), (256, False), (256, False))
CNV_FC = (512, 512)
# CNV for 28x28 inputs (Fashion-MNIST, MNIST) without padding them to 32: the same layers up to the fifth conv
# (28 -> 26 -> 24 -> pool 12 -> 10 -> 8 -> pool 4 -> 2), whose 2x2x256 output feeds CNV's two FC layers.
CNV28_CONVS = CNV_CONVS[:5]
CNV_PLANS = {"cnv": CNV_CONVS, "cnv28": CNV28_CONVS}
CNV_INPUT_BITS = 8
# MobileNet-v1 reduced for 32x32 inputs: a 3x3 stem, then depthwise-separable blocks (pointwise channels,
# depthwise stride), then a global average pool and the classifier (Howard et al. 2017, first stages only).
MOBILENET_STEM = 32
MOBILENET_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1))


@dataclass
class ModelSpec:
    """Everything needed to rebuild a model (stored in checkpoints)."""

    name: str
    weight_bits: int | None = 1
    act_bits: int | None = 1
    width: float = 1.0
    in_channels: int = 1
    in_size: int = 28
    num_classes: int = 10
    extra: dict = field(default_factory=dict)
    dropout: float = 0.0      # FC topologies: on the input and after every hidden activation (training only)
    input_bits: int | None = None   # input quantizer width; None: the activation width (MLPs, as in FINN), 8 for CNV
    # Per-layer widths overriding `width` (e.g. after a width search or pruning): the MLPs take any number of
    # hidden widths; CNV takes 8 (its six convs, then its two hidden FCs). None: the topology's widths x `width`.
    hidden: list[int] | None = None
    # Per-layer precision (mixed-precision search, bnn.compress.bits), overriding weight_bits / act_bits:
    # `layer_weight_bits` has one entry per weight layer (every hidden layer, then the classifier), `layer_act_bits`
    # one per hidden activation (the quantizer after each hidden layer). The input quantizer stays `input_bits`.
    # None: every layer uses weight_bits / act_bits. FC topologies and CNV only.
    layer_weight_bits: list[int] | None = None
    layer_act_bits: list[int] | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("hidden", "layer_weight_bits", "layer_act_bits"):
            if d[k] is None:      # keep the dict of a plain spec as it was before these fields existed
                del d[k]          # (checkpoints, `bnnc train --resume` compares them)
        return d


class InputScale(nn.Module):
    """[0, 1] -> [-1, 1]; exported as a Mul and an Add the compiler folds into the host-side input step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2.0 - 1.0


class ScaleBias(nn.Module):
    """Per-class affine after the last layer: keeps logits in a trainable range (FINN's TensorNorm role),
    written as an explicit Mul then Add so torch and ONNX round identically."""

    def __init__(self, n: int, init_scale: float = 1.0):
        super().__init__()
        self.scale = nn.Parameter(torch.full((n,), float(init_scale)))
        self.bias = nn.Parameter(torch.zeros(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.bias


def _head(n_in: int, n_out: int, bits: int | None) -> list[nn.Module]:
    """Last layer + affine; quantized logits are sums of n_in integer products, so start them at unit scale."""
    return [_linear(n_in, n_out, bits), ScaleBias(n_out, 1.0 if bits is None else n_in ** -0.5)]


def _scaled(n: int, width: float) -> int:
    return max(1, int(round(n * width)))


def _act(bits: int | None) -> nn.Module:
    return nn.ReLU() if bits is None else qnn.QuantIdentity(act_quant=act_quant(bits))


def _relu_act(bits: int | None) -> nn.Module:
    """A rectifying activation: ReLU (float), unsigned k-bit QuantReLU (k >= 2), the bipolar sign at 1 bit."""
    if bits is None:
        return nn.ReLU()
    if bits == 1:
        return qnn.QuantIdentity(act_quant=act_quant(1))
    return qnn.QuantReLU(act_quant=relu_act_quant(bits))


def _linear(i: int, o: int, bits: int | None) -> nn.Module:
    if bits is None:
        return nn.Linear(i, o, bias=False)
    return qnn.QuantLinear(i, o, bias=False, weight_quant=weight_quant(bits))


def _conv(i: int, o: int, bits: int | None) -> nn.Module:
    if bits is None:
        return nn.Conv2d(i, o, 3, bias=False)
    return qnn.QuantConv2d(i, o, 3, bias=False, weight_quant=weight_quant(bits))


def _input_quant(bits: int | None) -> nn.Module:
    return nn.Identity() if bits is None else qnn.QuantIdentity(act_quant=act_quant(bits))


def hidden_widths(spec: ModelSpec) -> list[int]:
    """The layer widths a spec builds: `spec.hidden` when given, else the topology's widths x `spec.width`."""
    if spec.hidden is not None:
        widths = [int(n) for n in spec.hidden]
        if spec.name == "mobilenet" and len(widths) != 1 + len(MOBILENET_BLOCKS):
            raise ValueError(f"mobilenet takes {1 + len(MOBILENET_BLOCKS)} hidden widths (stem, 5 blocks), got "
                             f"{len(widths)}")
        if spec.name in CNV_PLANS and not 0 <= len(widths) - len(CNV_PLANS[spec.name]) <= len(CNV_FC):
            # its convs fix the spatial size, so they all stay; the FC layers after them may be fewer (MorphNet's
            # topology morphing removes an FC layer that lost all its channels)
            n_conv = len(CNV_PLANS[spec.name])
            raise ValueError(f"{spec.name} takes {n_conv} to {n_conv + len(CNV_FC)} hidden widths ({n_conv} convs, "
                             f"then up to {len(CNV_FC)} FCs), got {len(widths)}")
        if not widths or any(n < 1 for n in widths):
            raise ValueError(f"hidden widths must be a non-empty list of positive integers, got {spec.hidden}")
        return widths
    if spec.name in CNV_PLANS:
        return [_scaled(c, spec.width) for c, _ in CNV_PLANS[spec.name]] + [_scaled(n, spec.width) for n in CNV_FC]
    if spec.name == "mobilenet":
        return [_scaled(c, spec.width) for c in (MOBILENET_STEM, *(c for c, _ in MOBILENET_BLOCKS))]
    return [_scaled(n, spec.width) for n in FC_HIDDEN[spec.name]]


def layer_bits(spec: ModelSpec) -> tuple[list[int | None], list[int | None]]:
    """(weight bits per weight layer incl. the classifier, activation bits per hidden activation) of a spec:
    its per-layer lists when given, else `weight_bits` / `act_bits` for every layer."""
    n = len(hidden_widths(spec))
    wb = list(spec.layer_weight_bits) if spec.layer_weight_bits is not None else [spec.weight_bits] * (n + 1)
    ab = list(spec.layer_act_bits) if spec.layer_act_bits is not None else [spec.act_bits] * n
    if spec.layer_weight_bits is not None or spec.layer_act_bits is not None:
        if spec.name not in ("tfc", "sfc", "lfc", "cnv", "cnv28"):
            raise ValueError(f"per-layer bits are supported for the MLPs and CNV, not {spec.name!r}")
        if len(wb) != n + 1:
            raise ValueError(f"layer_weight_bits needs {n + 1} entries ({n} hidden layers + the classifier), got "
                             f"{len(wb)}: {wb}")
        if len(ab) != n:
            raise ValueError(f"layer_act_bits needs {n} entries (one per hidden layer), got {len(ab)}: {ab}")
        if spec.weight_bits is None or spec.act_bits is None:
            raise ValueError("per-layer bits need a quantized spec (weight_bits and act_bits not None)")
        for what, lst in (("layer_weight_bits", wb), ("layer_act_bits", ab)):
            if any(not isinstance(b, int) or not 1 <= b <= 8 for b in lst):
                raise ValueError(f"{what} entries must be integers in 1..8, got {lst}")
    return wb, ab


def build_fc(spec: ModelSpec) -> nn.Sequential:
    hidden = hidden_widths(spec)
    wbits, abits = layer_bits(spec)
    dropout = spec.dropout
    layers: list[nn.Module] = [nn.Flatten(), InputScale()]
    if dropout:  # before the input quantizer, like BNN-PYNQ's in_dropout
        layers.append(nn.Dropout(dropout))
    layers.append(_input_quant(None if spec.act_bits is None else (spec.input_bits or spec.act_bits)))
    n_in = spec.in_channels * spec.in_size * spec.in_size
    for n, wb, ab in zip(hidden, wbits, abits):
        layers += [_linear(n_in, n, wb), nn.BatchNorm1d(n), _act(ab)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        n_in = n
    layers += _head(n_in, spec.num_classes, wbits[-1])
    return nn.Sequential(*layers)


def build_cnv(spec: ModelSpec) -> nn.Sequential:
    in_bits = None if spec.act_bits is None else (spec.input_bits or CNV_INPUT_BITS)
    layers: list[nn.Module] = [InputScale(), _input_quant(in_bits)]
    c_in, size = spec.in_channels, spec.in_size
    widths = hidden_widths(spec)
    wbits, abits = layer_bits(spec)
    convs = CNV_PLANS[spec.name]
    for i, ((_, pool), c) in enumerate(zip(convs, widths)):
        layers += [_conv(c_in, c, wbits[i]), nn.BatchNorm2d(c), _act(abits[i])]
        size -= 2
        if pool:
            layers.append(nn.MaxPool2d(2))
            size //= 2
        c_in = c
    if size < 1:
        least = 32 if spec.name == "cnv" else 24
        raise ValueError(f"{spec.name} needs inputs of at least {least}x{least}, got {spec.in_size}x{spec.in_size}")
    layers.append(nn.Flatten())
    n_in = c_in * size * size
    for i, n in enumerate(widths[len(convs):], len(convs)):
        layers += [_linear(n_in, n, wbits[i]), nn.BatchNorm1d(n), _act(abits[i])]
        n_in = n
    layers += _head(n_in, spec.num_classes, wbits[-1])
    return nn.Sequential(*layers)


def _conv_k(i: int, o: int, bits: int | None, k: int, stride: int = 1, groups: int = 1) -> nn.Module:
    kw = dict(stride=stride, padding=k // 2, groups=groups, bias=False)
    if bits is None:
        return nn.Conv2d(i, o, k, **kw)
    return qnn.QuantConv2d(i, o, k, weight_quant=weight_quant(bits), **kw)


def build_mobilenet(spec: ModelSpec) -> nn.Sequential:
    """MobileNet-v1 style (MOBILENET_BLOCKS): depthwise 3x3 + pointwise 1x1 blocks, global average pool, FC.
    The compiler lowers the depthwise convs to VVAU layers and the pool to an AvgPool layer. Its activations are
    unsigned QuantReLUs (as in MobileNet and FINN's W4A4 MobileNet): with signed k-bit quantizers the stack is
    nearly linear, and a linear conv stack under a global average pool cannot tell the classes apart."""
    in_bits = None if spec.act_bits is None else (spec.input_bits or CNV_INPUT_BITS)
    widths = hidden_widths(spec)
    c = widths[0]
    layers: list[nn.Module] = [InputScale(), _input_quant(in_bits), _conv_k(spec.in_channels, c, spec.weight_bits, 3),
                               nn.BatchNorm2d(c), _relu_act(spec.act_bits)]
    for (_, stride), c_out in zip(MOBILENET_BLOCKS, widths[1:]):
        layers += [_conv_k(c, c, spec.weight_bits, 3, stride, groups=c), nn.BatchNorm2d(c), _relu_act(spec.act_bits),
                   _conv_k(c, c_out, spec.weight_bits, 1), nn.BatchNorm2d(c_out), _relu_act(spec.act_bits)]
        c = c_out
    layers += [nn.AdaptiveAvgPool2d(1), _relu_act(spec.act_bits), nn.Flatten(),
               *_head(c, spec.num_classes, spec.weight_bits)]
    return nn.Sequential(*layers)


TOPOLOGIES: dict[str, Callable[[ModelSpec], nn.Module]] = {
    "tfc": build_fc, "sfc": build_fc, "lfc": build_fc, "cnv": build_cnv, "cnv28": build_cnv,
    "mobilenet": build_mobilenet,
}


def build(
    name: str,
    weight_bits: int | None = 1,
    act_bits: int | None = 1,
    width: float = 1.0,
    in_channels: int = 1,
    in_size: int | None = None,
    num_classes: int = 10,
) -> nn.Module:
    """A standard topology, or a user model given as 'path/to/file.py:factory' (factory(**spec) -> nn.Module)."""
    spec = make_spec(name, weight_bits, act_bits, width, in_channels, in_size, num_classes)
    return from_spec(spec)


def make_spec(name, weight_bits=1, act_bits=1, width=1.0, in_channels=1, in_size=None, num_classes=10,
              dropout: float = 0.0, input_bits: int | None = None, hidden: list[int] | None = None,
              layer_weight_bits: list[int] | None = None, layer_act_bits: list[int] | None = None) -> ModelSpec:
    """`input_bits=None`: the MLPs quantize their input like their activations (binary for W1A1, as FINN's
    LFC does), CNV to 8 bits; a wider input keeps the grey levels a 1-bit input throws away."""
    key = name.lower()
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if input_bits is not None and not 1 <= input_bits <= 8:
        raise ValueError(f"input_bits must be in 1..8, got {input_bits}")
    if in_size is None:
        in_size = 32 if key in ("cnv", "mobilenet") else 28
    if width <= 0:
        raise ValueError(f"width multiplier must be > 0, got {width}")
    spec = ModelSpec(key if key in TOPOLOGIES else name, weight_bits, act_bits, width, in_channels, in_size, num_classes,
                     dropout=dropout, input_bits=input_bits, hidden=None if hidden is None else [int(n) for n in hidden],
                     layer_weight_bits=None if layer_weight_bits is None else [int(b) for b in layer_weight_bits],
                     layer_act_bits=None if layer_act_bits is None else [int(b) for b in layer_act_bits])
    if spec.hidden is not None and spec.name in TOPOLOGIES:
        hidden_widths(spec)   # validate now rather than at build time
    if (spec.layer_weight_bits is not None or spec.layer_act_bits is not None) and spec.name in TOPOLOGIES:
        layer_bits(spec)
    return spec


def from_spec(spec: ModelSpec | dict) -> nn.Module:
    """Rebuild a model from a ModelSpec (or its dict form, as stored in checkpoints)."""
    if isinstance(spec, dict):
        spec = ModelSpec(**spec)
    if spec.name in TOPOLOGIES:
        return TOPOLOGIES[spec.name](spec)
    if ":" in spec.name:
        return _user_model(spec)
    raise ValueError(
        f"unknown model {spec.name!r}: choose one of {sorted(TOPOLOGIES)} or give 'file.py:factory' for your own"
    )


def _user_model(spec: ModelSpec) -> nn.Module:
    path, _, factory = spec.name.rpartition(":")
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"user model file {file} not found (from model spec {spec.name!r})")
    mod_spec = importlib.util.spec_from_file_location(f"bnnc_user_{file.stem}", file)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    fn = getattr(module, factory, None)
    if not callable(fn):
        raise ValueError(f"{file} has no callable {factory!r}")
    kwargs = {k: v for k, v in spec.to_dict().items()
              if k != "name" and not (k in ("dropout", "input_bits", "hidden", "layer_weight_bits", "layer_act_bits")
                                      and not v)}
    model = fn(**kwargs)
    if not isinstance(model, nn.Module):
        raise ValueError(f"{file}:{factory} returned {type(model).__name__}, not a torch.nn.Module")
    return model
