"""Small Brevitas models for front-end tests, exported to QONNX, plus the compile-and-compare helper."""
from __future__ import annotations

import importlib.util
import warnings

import brevitas.nn as qnn
import numpy as np
import torch
from torch import nn

from bnn.calibrate import calibrate_bn  # noqa: F401  (re-exported: the tests import it from here)
from bnn.export import export_qonnx
from bnn.quant import act_quant, weight_quant


def simulator():
    """compiler.sim.simulate.simulate once it exists; until then the naive reading of docs/ir.md in naive_ir."""
    if importlib.util.find_spec("compiler.sim.simulate") is not None:
        from compiler.sim.simulate import simulate

        return simulate
    from naive_ir import simulate

    return simulate


def randomize_bn(model: nn.Module, seed: int, negative: bool = False) -> nn.Module:
    """Non-trivial BatchNorm statistics/affine so thresholds are not all at zero (optionally some gamma < 0)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(n, generator=g) * 2)
                m.running_var.copy_(torch.rand(n, generator=g) * 4 + 0.2)
                w = torch.rand(n, generator=g) + 0.2
                if negative:
                    w = w * torch.where(torch.arange(n) % 2 == 0, -1.0, 1.0)
                m.weight.copy_(w)
                m.bias.copy_(torch.randn(n, generator=g) * 0.5)
    return model.eval()


def quant_act(bits: int):
    return qnn.QuantIdentity(act_quant=act_quant(bits))


def mlp(w: int, a: int, sizes=(16, 12), n_in=20, n_out=5, bias=False, bn=True, in_bits=None, seed=0, negative=False):
    torch.manual_seed(seed)
    layers: list[nn.Module] = [quant_act(in_bits or a)]
    for n in sizes:
        layers += [qnn.QuantLinear(n_in, n, bias=bias, weight_quant=weight_quant(w))]
        layers += [nn.BatchNorm1d(n)] if bn else []
        layers += [quant_act(a)]
        n_in = n
    layers += [qnn.QuantLinear(n_in, n_out, bias=bias, weight_quant=weight_quant(w))]
    return randomize_bn(nn.Sequential(*layers), seed, negative)


def cnn(w: int, a: int, chans=(4, 6), in_ch=2, size=8, pad=0, pool_before_act=False, pool=True, in_bits=None,
        bias=False, seed=0, negative=False, n_out=5):
    torch.manual_seed(seed)
    layers: list[nn.Module] = [quant_act(in_bits or a)]
    c_in = in_ch
    for i, c in enumerate(chans):
        layers += [qnn.QuantConv2d(c_in, c, 3, padding=pad, bias=bias, weight_quant=weight_quant(w)), nn.BatchNorm2d(c)]
        size = size - 2 + 2 * pad
        do_pool = pool and i == 0
        if do_pool and pool_before_act:
            layers += [nn.MaxPool2d(2), quant_act(a)]
        elif do_pool:
            layers += [quant_act(a), nn.MaxPool2d(2)]
        else:
            layers += [quant_act(a)]
        size = size // 2 if do_pool else size
        c_in = c
    layers += [nn.Flatten(), qnn.QuantLinear(c_in * size * size, n_out, bias=bias, weight_quant=weight_quant(w))]
    return randomize_bn(nn.Sequential(*layers), seed, negative)


class ResBlock(nn.Module):
    """Residual blocks on a `size` x `size` image, 4-bit: x -> [conv3x3 -> BN -> q -> conv3x3 -> BN -> q] + x ->
    QuantReLU, `blocks` times, then an FC to 5 classes (tests/compiler/frontend/test_residual.py, the RTL residual tests,
    the FINN tier and benchmarks/rtl_branch_fifos.py)."""

    def __init__(self, c: int, blocks: int = 1, size: int = 6):
        super().__init__()
        q = lambda: qnn.QuantIdentity(act_quant=act_quant(4), return_quant_tensor=True)  # noqa: E731
        self.inq = q()
        self.body = nn.ModuleList()
        for _ in range(blocks):
            self.body.append(nn.ModuleDict({
                "c1": qnn.QuantConv2d(c, c, 3, padding=1, bias=False, weight_quant=weight_quant(4)),
                "b1": nn.BatchNorm2d(c), "q1": q(),
                "c2": qnn.QuantConv2d(c, c, 3, padding=1, bias=False, weight_quant=weight_quant(4)),
                "b2": nn.BatchNorm2d(c), "q2": q(),
                "out": qnn.QuantReLU(act_quant=act_quant(4), return_quant_tensor=True)}))
        self.fc = qnn.QuantLinear(c * size * size, 5, bias=False, weight_quant=weight_quant(4))

    def forward(self, x):
        x = self.inq(x)
        for b in self.body:
            y = b["q2"](b["b2"](b["c2"](b["q1"](b["b1"](b["c1"](x))))))
            x = b["out"](y + x)
        return self.fc(torch.flatten(x, 1))


def export(model: nn.Module, path, in_shape, dynamo: bool = True) -> str:
    """bnn.export.export_qonnx, quietly. The frontend tests lower what Brevitas's default exporter writes (dynamo,
    as users' exports are); tests whose subject comes after the frontend (simulator, verification, workflow,
    backends) pass dynamo=False: torch's TorchScript exporter, ~0.1 s against ~1.3 s per model, the same QONNX
    semantics (tests/compiler/frontend/test_user_models.py lowers models from both)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, path, in_shape, dynamo=dynamo)
    return str(path)


def compile_and_verify(onnx_path, out_dir, inputs=None, num_random=32, **kw):
    """Compile, then verify against QONNX execution; returns (graph, report)."""
    from compiler.workflow.compile import compile_model
    from compiler.frontend.ingest import load_model
    from compiler.sim.verify import verify_graph

    g = compile_model(onnx_path, out_dir, **kw)
    rep = verify_graph(onnx_path, g, inputs=inputs, num_random=num_random, cleaned=load_model(onnx_path),
                       simulate=simulator())
    return g, rep
