"""Build folders for the FINN tier: export TFC-W1A1, CNV-W1A1 and TFC-W2A2 (untrained, BatchNorm statistics
randomised so thresholds are spread) and the residual, MobileNet-style and average-pool models of tests/compiler,
and compile each with `bnnc compile --verify --board pynq-z2` (folded by the optimiser), saving the inputs FINN
replays; export three hand-built IR graphs (IR_GRAPHS) with bnnc's simulated outputs as their reference.

Runs in the project's own venv (torch/Brevitas/bnnc); tests/finn/finn_check.py then runs in the FINN venv.
Usage: python tests/finn/make_builds.py OUT_DIR [--frames 20] [--only tfc_w1a1,...]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from bnn.export import export_qonnx
from bnn.topologies import build
from bnnc import main as bnnc_main

# name -> (topology, weight bits, act bits, in_channels, per-frame input shape, top-k LabelSelect or None)
MODELS = {
    "tfc_w1a1": ("tfc", 1, 1, 1, (1, 28, 28), None),
    "tfc_w2a2": ("tfc", 2, 2, 1, (1, 28, 28), None),
    "cnv_w1a1": ("cnv", 1, 1, 3, (3, 32, 32), None),
    "tfc_w1a1_top2": ("tfc", 1, 1, 1, (1, 28, 28), 2),
}


# the branch, depthwise and pool models of tests/compiler (raw Brevitas, defined there): name -> (module, factory,
# per-frame input shape). residual: two 3x3 convs + skip add (DuplicateStreams / AddStreams); mobilenet: depthwise
# 3x3 (padded, one strided) + pointwise 1x1, 4-bit, global average pool (ReduceMean), FC; pools: TruncAvgPool2d
# (AveragePool + Trunc), AvgPool2d, a padded depthwise conv and a global average pool.
TEST_MODELS = {
    "residual": ("brevitas_models", lambda m: m.randomize_bn(m.ResBlock(4, 1), 1), (4, 6, 6)),
    "mobilenet": ("pool_models", lambda m: m.mobilenet_v1_style(), (3, 16, 16)),
    "pools": ("pool_models", lambda m: m.pools_model(), (2, 14, 14)),
    # 1-D signals (RadioML-style: QuantConv1d padded / dilated / strided, MaxPool1d, AvgPool1d, BatchNorm1d): FINN's
    # (1, L) window generators
    "radioml_1d": ("user_models", lambda m: m.radioml_1d(quant_out=True)[0], (2, 32)),
    # channel concatenation (StreamingConcat): an Inception block (1x1 and 3x3 towers, one shifted) and a DenseNet-style
    # skip concatenated with a two-conv path
    "inception": ("branch_models", lambda m: m.inception()[0], (4, 7, 7)),
    "densenet": ("branch_models", lambda m: m.densenet()[0], (2, 7, 7)),
    # the Inception block with float-scale towers in the ratio 4 : 5 (StreamingConcat after ElementwiseMul by 4 and 5)
    "scaled_inception": ("branch_models", lambda m: m.scaled_inception()[0], (4, 7, 7)),
    # four towers in one Concat: three DuplicateStreams, three StreamingConcat (shifts and multipliers)
    "inception4": ("branch_models", lambda m: m.inception4()[0], (3, 6, 6)),
    # a residual add of two branches whose scales are not a power of two apart (integer multipliers: ElementwiseMul)
    "unequal_residual": ("branch_models", lambda m: m.unequal_residual(quant_out=True)[0], (4, 5, 5)),
    # joins nested in another join's branch: an Inception split inside a DenseNet path (two StreamingConcat), and
    # x + cat(towers of x) (StreamingConcat then ElementwiseAdd)
    "nested_dense": ("branch_models", lambda m: m.nested_dense()[0], (2, 7, 7)),
    "inception_residual": ("branch_models", lambda m: m.inception_residual()[0], (2, 7, 7)),
    # a DenseNet block of three layers as torchvision writes it (branches that cross: six StreamingConcat)
    "dense_layers": ("branch_models", lambda m: m.dense_layers()[0], (2, 7, 7)),
    # a first layer on ImageNet-normalized float pixels (--input-bits 8 --input-mean/--input-std, RAW_INPUTS):
    # UINT8 pixels in, the per-channel stds as integer multipliers in the first layer's weights
    "imagenet_norm": ("normalized_models", lambda m: m.per_channel_cnn(quant_out=True), (3, 10, 10)),
}
# models compiled with a raw-pixel input declaration: their inputs are normalized random pixels
RAW_INPUTS = {"imagenet_norm": {"bits": 8, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}
# hand-built IR graphs of tests/compiler/irgraphs.py for what no Brevitas model lowers to (no original model: FINN is
# compared with bnnc's simulator): a residual add with shifts [1, 0] (ElementwiseMul) and a standalone Thresholding
# skip branch; standalone Thresholding layers with broadcast thresholds and a LabelSelect over ties; noact VVAU and
# pools, a pool over an odd image (floor mode).
IR_GRAPHS = {"ir_residual": "residual", "ir_ties": "ties", "ir_pools": "pools_depthwise", "ir_concat": "concat"}
TESTS = Path(__file__).parents[1]


def test_model(name: str) -> tuple[torch.nn.Module, tuple[int, ...]]:
    """One of TEST_MODELS, built by the compile tests' own code (tests/compiler) with their seeds."""
    import importlib

    sys.path.insert(0, str(TESTS / "compiler"))
    module, factory, shape = TEST_MODELS[name]
    torch.manual_seed(1 if name == "residual" else 0)
    return factory(importlib.import_module(module)), shape


def make_ir(name: str, out: Path, frames: int) -> Path:
    """finn_dataflow.onnx, finn_folding.json, integer inputs and bnnc's simulated outputs of an IR graph."""
    sys.path.insert(0, str(TESTS / "compiler"))
    import irgraphs

    from compiler.sim.ir_inputs import random_inputs
    from compiler.backends.finn.export import save_finn_onnx
    from compiler.backends.finn.folding import save_finn_folding
    from compiler.sim.simulate import simulate_layers

    g = getattr(irgraphs, IR_GRAPHS[name])()
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    g.save(folder)
    save_finn_onnx(g, folder / "finn_dataflow.onnx")
    save_finn_folding(g, folder / "finn_folding.json")
    x = random_inputs(g, frames, seed=2)
    np.save(folder / "finn_inputs.npy", x.astype(np.float32))
    np.save(folder / "finn_expected.npy", simulate_layers(g, x).astype(np.float32))
    save_layer_values(folder, g, x)
    return folder


def save_layer_values(folder: Path, g, ints: np.ndarray) -> None:
    """finn_layers.npz: every layer's output as bnnc's simulator computes it (checked against QONNX tensor by tensor
    by `bnnc compile --verify`), under the names of finn_dataflow.onnx, for finn_check.py to compare FINN's
    execution with layer by layer."""
    from compiler.backends.finn.export import finn_layer_values

    np.savez(folder / "finn_layers.npz", **finn_layer_values(g, ints))


def randomize_bn(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Non-trivial BatchNorm (some negative gammas) so an untrained model's thresholds are not all equal."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.weight.copy_((torch.rand(n, generator=g) + 0.2) * torch.where(torch.arange(n) % 3 == 0, -1.0, 1.0))
                m.bias.copy_(torch.randn(n, generator=g) * 0.3)
    return model.eval()


def make(name: str, out: Path, frames: int, board: str) -> Path:
    if name in IR_GRAPHS:
        return make_ir(name, out, frames)
    folder = out / name
    src = out / ".src"   # hidden, so `OUT/*/` globs only the build folders
    src.mkdir(parents=True, exist_ok=True)
    topk, extra = None, []
    if name in TEST_MODELS:   # built as the compile tests do; inputs in [-1, 1)
        model, shape = test_model(name)
        from brevitas_models import export

        # TorchScript's exporter: FINN reads bnnc's own finn_dataflow.onnx, so which exporter wrote the Brevitas
        # model is the frontend tests' subject, not this tier's (tests/README.md "Which exporter")
        onnx_path = export(model, src / f"{name}.onnx", shape, dynamo=False)
        x = np.random.default_rng(2).uniform(-1, 1, (frames, *shape)).astype(np.float32)
        if name in RAW_INPUTS:
            from compiler.frontend.raw_input import normalize

            raw = RAW_INPUTS[name]
            x = normalize(raw, np.random.default_rng(2).integers(0, 2 ** raw["bits"], (frames, *shape)))
            extra = ["--input-bits", str(raw["bits"]), "--input-mean", ",".join(map(str, raw["mean"])),
                     "--input-std", ",".join(map(str, raw["std"]))]
    else:
        topo, wb, ab, ch, shape, topk = MODELS[name]
        torch.manual_seed(0)
        model = randomize_bn(build(topo, wb, ab, in_channels=ch), seed=1)
        onnx_path = export_qonnx(model, src / f"{name}.onnx", shape, dynamo=False)
        x = np.random.default_rng(2).random((frames, *shape), dtype=np.float32)
    np.save(src / f"{name}_inputs.npy", x)
    # `bnnc compile` in this process (a subprocess would import bnnc, onnx and qonnx again for every model)
    rc = bnnc_main(["compile", str(onnx_path), "-o", str(folder), "--verify-inputs", str(src / f"{name}_inputs.npy"),
                    "--num-random", "4", "--board", board, *(["--topk", str(topk)] if topk else []), *extra],
                   standalone_mode=False)
    if rc:
        raise SystemExit(f"bnnc compile of {name} failed (exit {rc})")
    np.save(folder / "finn_inputs.npy", x)   # written after the atomic build: the inputs FINN replays
    from compiler.sim.hostops import run_pre
    from compiler.ir.graph import DataflowGraph

    g = DataflowGraph.load(folder)
    save_layer_values(folder, g, np.asarray(run_pre(g.input, x)).reshape(len(x), *g.layers[0].in_shape))
    return folder


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--board", default="pynq-z2", help="folded for this board by the optimiser (non-trivial PE/SIMD)")
    names = [*MODELS, *TEST_MODELS, *IR_GRAPHS]
    p.add_argument("--only", default=",".join(names), help="comma-separated subset of " + ", ".join(names))
    a = p.parse_args(argv)
    for name in a.only.split(","):
        if name not in names:
            raise SystemExit(f"unknown model {name!r}; choose from {', '.join(names)}")
        print(f"built {make(name, a.out, a.frames, a.board)}", flush=True)


if __name__ == "__main__":
    main()
