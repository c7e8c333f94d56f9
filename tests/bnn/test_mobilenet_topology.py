"""The reduced-width MobileNet-v1 W4A4 topology (32x32 input) builds, exports and compiles exactly: its depthwise
convs become VVAU layers, its global average pool an AvgPool layer, and every integer layer equals QONNX."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compiler"))
from brevitas_models import compile_and_verify, export, randomize_bn  # noqa: E402

from bnn.topologies import MOBILENET_BLOCKS, build, hidden_widths, make_spec  # noqa: E402


def test_mobilenet_w4a4_compiles_exactly(tmp_path):
    import torch

    torch.manual_seed(0)
    model = randomize_bn(build("mobilenet", 4, 4, width=0.125, in_channels=3, in_size=32), seed=0)
    assert hidden_widths(make_spec("mobilenet", 4, 4, width=0.125, in_channels=3)) == [4, 8, 16, 16, 32, 32]
    p = export(model, tmp_path / "m.onnx", (3, 32, 32))
    x = np.random.default_rng(0).uniform(0, 1, (16, 3, 32, 32)).astype(np.float32)
    g, rep = compile_and_verify(p, tmp_path / "b", inputs=x, num_random=4)
    kinds = [l.kind for l in g.layers]
    assert kinds.count("VVAU") == len(MOBILENET_BLOCKS) and kinds.count("AvgPool") == 1
    assert rep.output_mismatches == 0 and rep.elements_over_bound == 0
    assert all(rep.layer_mismatches[n] == 0 for n in rep.integer_layers), rep.layer_mismatches


def test_mobilenet_activations_rectify():
    """k-bit MobileNet activations are unsigned QuantReLUs: signed ones leave the stack nearly linear, and a linear
    conv stack under the global average pool cannot separate the classes (it trained to ~20 % on Fashion-MNIST)."""
    import brevitas.nn as qnn
    import torch

    model = build("mobilenet", 4, 4, width=0.125, in_channels=1, in_size=32)
    acts = [m for m in model if isinstance(m, (qnn.QuantReLU, qnn.QuantIdentity))]
    assert len(acts) == 1 + 1 + 2 * len(MOBILENET_BLOCKS) + 1   # input quantizer, stem, blocks, after the pool
    assert all(isinstance(m, qnn.QuantReLU) for m in acts[1:])
    out = torch.nn.Sequential(*list(model)[:5]).eval()(torch.rand(2, 1, 32, 32))
    assert out.min() >= 0 and out.max() > 0
