"""Property: random small Brevitas networks of residual blocks, depthwise-separable blocks, average pools
(disjoint, truncating, overlapping with padding), Inception blocks (1x1 and 3x3 towers, or three towers with a
1x1 -> 3x3 one, concatenated) and DenseNet blocks (a skip concatenated with a conv path, then a 1x1 transition), on
images or 1-D signals (any order, 2..4 bits), lower to stream DAGs whose every integer layer equals QONNX execution;
the first few are also C-simulated bit-exactly. `inception_res` adds the block input to its towers' concatenation
(a join nested in another's branch, Inception-ResNet); `dense2` is torchvision's DenseNet block of two layers
(cat(x, y1) feeds y2, then cat(x, y1, y2): branches that cross). Inception towers and residual branches may end in float-scale
quantizers (`_scaled`: towers in the scale ratio 4 : 5, a residual branch 6 / (2^a - 1), not a power of two from
its skip), so concats and adds of unequal scales (integer multipliers) are drawn too."""
import tempfile
from pathlib import Path

import brevitas.nn as qnn
import numpy as np
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from torch import nn

from brevitas.quant import Uint8ActPerTensorFloatMaxInit

from brevitas_models import compile_and_verify, randomize_bn
from bnn.export import export_qonnx
from bnn.quant import act_quant, weight_quant

CSIM_EXAMPLES = 2
_seen = {"csim": 0}


def _q(bits):
    return qnn.QuantIdentity(act_quant=act_quant(bits), return_quant_tensor=True)


def _float_relu(bits: int, scale: float):
    """An unsigned float-scale quantizer of step `scale` (Brevitas concatenates and adds the floats of different
    scales as users write it: return_quant_tensor=False)."""
    return qnn.QuantReLU(act_quant=Uint8ActPerTensorFloatMaxInit, bit_width=bits, max_val=scale * (2**bits - 1),
                         return_quant_tensor=False)


class Block(nn.Module):
    def __init__(self, kind: str, c: int, w: int, a: int, dim: int = 2):
        super().__init__()
        kind, scaled = kind.removesuffix("_scaled"), kind.endswith("_scaled")
        self.kind = kind.removesuffix("3")
        qconv = qnn.QuantConv2d if dim == 2 else qnn.QuantConv1d
        bn = nn.BatchNorm2d if dim == 2 else nn.BatchNorm1d
        avg = nn.AvgPool2d if dim == 2 else nn.AvgPool1d
        conv = lambda ci, co, k, g=1: qconv(ci, co, k, padding=k // 2, groups=g, bias=False,  # noqa: E731
                                            weight_quant=weight_quant(w))
        if kind == "residual":                           # scaled: the branch ends 6 / (2^a - 1), a float scale
            self.f = nn.Sequential(conv(c, c, 3), bn(c), _q(a), conv(c, c, 3), bn(c),
                                   _float_relu(a, 6 / (2**a - 1)) if scaled else _q(a))
            self.out = _q(a)
        elif kind == "separable":
            self.f = nn.Sequential(conv(c, c, 3, g=c), bn(c), _q(a), conv(c, c, 1), bn(c), _q(a))
        elif kind.startswith("inception"):               # towers of c1, c - c1 (and c1) channels, concatenated
            c1 = max(1, c // 2)
            # scaled: steps 3/16 and 15/64 (4 : 5), the third tower a power of two
            act = (lambda n, s: _float_relu(a, s)) if scaled else (lambda n, s: _q(a))  # noqa: E731
            self.towers = nn.ModuleList([nn.Sequential(conv(c, c1, 1), bn(c1), act(c1, 3 / 16)),
                                         nn.Sequential(conv(c, c - c1, 3), bn(c - c1), act(c - c1, 15 / 64))])
            self.t = nn.Identity()
            if kind == "inception_res":                  # x + cat(towers of x): a concat nested in an add's branch
                self.out = _q(a)
            if kind == "inception3":                     # a deeper 1x1 -> 3x3 tower, a 1x1 transition back to c
                self.towers.append(nn.Sequential(conv(c, c1, 1), bn(c1), _q(a), conv(c1, c1, 3), bn(c1), _q(a)))
                self.t = nn.Sequential(conv(c + c1, c, 1), bn(c), _q(a))
        elif kind == "dense":                            # cat(x, conv path) then a 1x1 transition back to c
            self.f = nn.Sequential(conv(c, c, 3), bn(c), _q(a))
            self.t = nn.Sequential(conv(2 * c, c, 1), bn(c), _q(a))
        elif kind == "dense2":                           # torchvision's dense block of two layers: branches cross
            self.layers = nn.ModuleList([nn.Sequential(conv(c, 2, 3), bn(2), _q(a)),
                                         nn.Sequential(conv(c + 2, 2, 3), bn(2), _q(a))])
            self.t = nn.Sequential(conv(c + 4, c, 1), bn(c), _q(a))
        elif kind == "trunc_pool" and dim == 2:
            self.f = nn.Sequential(qnn.TruncAvgPool2d(2, stride=2, bit_width=a), _q(a))
        elif kind == "overlap_pool":                     # overlapping, zero-padded (count_include_pad=1)
            self.f = nn.Sequential(avg(3, stride=2, padding=1), _q(a))
        else:
            self.f = nn.Sequential(avg(2), _q(a))

    def forward(self, x):
        if self.kind == "residual":
            return self.out(self.f(x) + x)
        if self.kind == "inception":
            return self.t(torch.cat([t(x) for t in self.towers], dim=1))
        if self.kind == "inception_res":
            return self.out(x + torch.cat([t(x) for t in self.towers], dim=1))
        if self.kind == "dense":
            return self.t(torch.cat([x, self.f(x)], dim=1))
        if self.kind == "dense2":
            feats = [x]
            for layer in self.layers:
                feats.append(layer(torch.cat(feats, dim=1)))
            return self.t(torch.cat(feats, dim=1))
        return self.f(x)


class Net(nn.Module):
    def __init__(self, kinds, c, w, a, size, dim: int = 2):
        super().__init__()
        qconv = qnn.QuantConv2d if dim == 2 else qnn.QuantConv1d
        self.inq = _q(a)
        self.stem = nn.Sequential(qconv(2, c, 3, padding=1, bias=False, weight_quant=weight_quant(w)),
                                  (nn.BatchNorm2d if dim == 2 else nn.BatchNorm1d)(c), _q(a))
        self.blocks = nn.ModuleList(Block(k, c, w, a, dim) for k in kinds)
        self.gap = nn.Sequential(nn.AdaptiveAvgPool2d(1) if dim == 2 else nn.AdaptiveAvgPool1d(1), _q(a))
        self.fc = qnn.QuantLinear(c, 4, bias=False, weight_quant=weight_quant(w))

    def forward(self, x):
        x = self.stem(self.inq(x))
        for b in self.blocks:
            x = b(x)
        return self.fc(torch.flatten(self.gap(x), 1))


KINDS = ["residual", "separable", "trunc_pool", "pool", "overlap_pool", "inception", "dense", "inception3",
         "residual_scaled", "inception_scaled", "inception3_scaled", "inception_res", "dense2"]


@st.composite
def nets(draw):
    """(kinds, weight bits, activation bits, channels, 1 or 2 spatial dims, seed, the dynamo exporter or
    TorchScript's, ~5x faster here)."""
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3))
    kinds = [k for i, k in enumerate(kinds) if not (k.endswith("pool") and "pool" in "".join(kinds[:i]))]
    w, a = draw(st.sampled_from([(2, 2), (4, 4), (3, 4), (4, 2)]))
    return (kinds, w, a, draw(st.integers(2, 5)), draw(st.sampled_from([2, 1])), draw(st.integers(0, 10_000)),
            draw(st.booleans()))


# 8 examples in all: the two explicit ones (run first, so also C-simulated) hold a 3-tower concat of unequal
# scales, an unequal-scale residual add and a 2-layer DenseNet block on images, and unequal-scale, 3-tower and
# nested concats on 1-D signals
@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(nets())
@example((["inception3_scaled", "residual_scaled", "dense2"], 4, 4, 3, 2, 11, False))
@example((["inception_scaled", "inception3", "inception_res"], 3, 4, 2, 1, 12, False))
def test_random_dags_are_exact(spec):
    kinds, w, a, c, dim, seed, dynamo = spec
    torch.manual_seed(seed)
    model = randomize_bn(Net(kinds, c, w, a, 8, dim), seed)
    with tempfile.TemporaryDirectory() as d:
        path = str(export_qonnx(model, Path(d) / "m.onnx", (2, 8, 8) if dim == 2 else (2, 16), dynamo=dynamo))
        g, rep = compile_and_verify(path, Path(d) / "build", num_random=24)
        assert rep.ok, (rep.describe(), kinds)
        assert all(rep.layer_mismatches[n] == 0 for n in rep.integer_layers), (rep.layer_mismatches, kinds)
        count = lambda *ks: sum(k in ks for k in kinds)  # noqa: E731
        assert sum(l.kind == "AddStreams" for l in g.layers) == count("residual", "residual_scaled", "inception_res")
        assert sum(l.kind == "VVAU" for l in g.layers) == count("separable")
        # a 3-tower Concat is a chain of two 2-input ConcatStreams
        assert sum(l.kind == "ConcatStreams" for l in g.layers) == count("inception", "inception_scaled", "dense",
                                                                          "inception_res") + \
            2 * count("inception3", "inception3_scaled") + 3 * count("dense2")
        if _seen["csim"] < CSIM_EXAMPLES:
            from compiler.backends.hls.project import generate_project
            from compiler.backends.hls.csim import check_csim, compile_csim
            from compiler.sim.ir_inputs import random_inputs
            from compiler.estimate.folding import apply_folding, legal_values

            _seen["csim"] += 1
            rng = np.random.default_rng(len(g.layers))
            apply_folding(g, {l.name: {k: int(rng.choice(v)) for k, v in legal_values(l).items()} for l in g.layers
                              if legal_values(l)})
            proj = generate_project(g, Path(d) / "hls")
            compile_csim(proj.path)
            res = check_csim(g, proj.path, random_inputs(g, 12, seed=5))
            assert res.ok, (res.first_mismatch, kinds)

