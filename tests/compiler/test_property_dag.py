"""Property: random small Brevitas networks of residual blocks, depthwise-separable blocks, average pools
(disjoint, truncating, overlapping with padding), Inception blocks (1x1 and 3x3 towers concatenated) and DenseNet
blocks (a skip concatenated with a conv path, then a 1x1 transition), on images or 1-D signals (any order, 2..4
bits), lower to stream DAGs whose every integer layer equals QONNX execution; the first few are also C-simulated
bit-exactly."""
import tempfile
from pathlib import Path

import brevitas.nn as qnn
import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from brevitas_models import compile_and_verify, export, randomize_bn
from bnn.quant import act_quant, weight_quant

CSIM_EXAMPLES = 2
_seen = {"csim": 0}


def _q(bits):
    return qnn.QuantIdentity(act_quant=act_quant(bits), return_quant_tensor=True)


class Block(nn.Module):
    def __init__(self, kind: str, c: int, w: int, a: int, dim: int = 2):
        super().__init__()
        self.kind = kind
        qconv = qnn.QuantConv2d if dim == 2 else qnn.QuantConv1d
        bn = nn.BatchNorm2d if dim == 2 else nn.BatchNorm1d
        avg = nn.AvgPool2d if dim == 2 else nn.AvgPool1d
        conv = lambda ci, co, k, g=1: qconv(ci, co, k, padding=k // 2, groups=g, bias=False,  # noqa: E731
                                            weight_quant=weight_quant(w))
        if kind == "residual":
            self.f = nn.Sequential(conv(c, c, 3), bn(c), _q(a), conv(c, c, 3), bn(c), _q(a))
            self.out = _q(a)
        elif kind == "separable":
            self.f = nn.Sequential(conv(c, c, 3, g=c), bn(c), _q(a), conv(c, c, 1), bn(c), _q(a))
        elif kind == "inception":                        # towers of c1 and c - c1 channels, concatenated
            c1 = max(1, c // 2)
            self.t1 = nn.Sequential(conv(c, c1, 1), bn(c1), _q(a))
            self.t3 = nn.Sequential(conv(c, c - c1, 3), bn(c - c1), _q(a))
        elif kind == "dense":                            # cat(x, conv path) then a 1x1 transition back to c
            self.f = nn.Sequential(conv(c, c, 3), bn(c), _q(a))
            self.t = nn.Sequential(conv(2 * c, c, 1), bn(c), _q(a))
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
            return torch.cat([self.t1(x), self.t3(x)], dim=1)
        if self.kind == "dense":
            return self.t(torch.cat([x, self.f(x)], dim=1))
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


@st.composite
def nets(draw):
    kinds = draw(st.lists(st.sampled_from(["residual", "separable", "trunc_pool", "pool", "overlap_pool", "inception",
                                           "dense"]), min_size=1, max_size=3))
    kinds = [k for i, k in enumerate(kinds) if not (k.endswith("pool") and "pool" in "".join(kinds[:i]))]
    w, a = draw(st.sampled_from([(2, 2), (4, 4), (3, 4), (4, 2)]))
    c = draw(st.integers(2, 5))
    dim = draw(st.sampled_from([2, 1]))
    seed = draw(st.integers(0, 10_000))
    torch.manual_seed(seed)
    return randomize_bn(Net(kinds, c, w, a, 8, dim), seed), kinds, dim


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(nets())
def test_random_dags_are_exact(spec):
    model, kinds, dim = spec
    with tempfile.TemporaryDirectory() as d:
        path = export(model, Path(d) / "m.onnx", (2, 8, 8) if dim == 2 else (2, 16))
        g, rep = compile_and_verify(path, Path(d) / "build", num_random=24)
        assert rep.ok, (rep.describe(), kinds)
        assert all(rep.layer_mismatches[n] == 0 for n in rep.integer_layers), (rep.layer_mismatches, kinds)
        assert sum(l.kind == "AddStreams" for l in g.layers) == kinds.count("residual")
        assert sum(l.kind == "VVAU" for l in g.layers) == kinds.count("separable")
        assert sum(l.kind == "ConcatStreams" for l in g.layers) == kinds.count("inception") + kinds.count("dense")
        if _seen["csim"] < CSIM_EXAMPLES:
            from compiler.backends.hls.project import generate_project
            from compiler.backends.hls.csim import check_csim, compile_csim, random_inputs
            from compiler.estimate.folding import apply_folding, legal_values

            _seen["csim"] += 1
            rng = np.random.default_rng(len(g.layers))
            apply_folding(g, {l.name: {k: int(rng.choice(v)) for k, v in legal_values(l).items()} for l in g.layers
                              if legal_values(l)})
            proj = generate_project(g, Path(d) / "hls")
            compile_csim(proj.path)
            res = check_csim(g, proj.path, random_inputs(g, 12, seed=5))
            assert res.ok, (res.first_mismatch, kinds)
