"""The standard topologies (bnn.topologies) at small width compile to IRs equal to QONNX execution."""
import pytest
import torch

from brevitas_models import compile_and_verify, export, randomize_bn
from bnn.topologies import build


@pytest.mark.parametrize("name,w,a", [("tfc", 1, 1), ("sfc", 1, 2), ("tfc", 2, 2)])
def test_fc_topologies(tmp_path, mnist_small, name, w, a):
    torch.manual_seed(0)
    model = randomize_bn(build(name, w, a, width=0.0625), seed=1, negative=(w == 1))
    path = export(model, tmp_path / "m.onnx", (1, 28, 28))
    g, rep = compile_and_verify(path, tmp_path / "b", inputs=mnist_small(40), num_random=16)
    assert rep.ok, rep.describe()
    assert [l.kind for l in g.layers] == ["MVTU"] * 4
    assert g.input.shape == (1, 28, 28) and g.output.post[-1]["op"] == "add"


def test_cnv(tmp_path, mnist_small):
    torch.manual_seed(0)
    model = randomize_bn(build("cnv", 1, 1, width=0.0625, in_channels=1), seed=2)
    path = export(model, tmp_path / "c.onnx", (1, 32, 32))
    g, rep = compile_and_verify(path, tmp_path / "b", inputs=mnist_small(16, pad_to=32), num_random=8)
    assert rep.ok, rep.describe()
    kinds = [l.kind for l in g.layers]
    assert kinds.count("SlidingWindow") == 6 and kinds.count("MaxPool") == 2 and kinds.count("MVTU") == 9
    assert g.input.dtype == "INT8" and g.layers[1].in_dtype == "INT8"


@pytest.mark.parametrize("w,a", [(1, 1), (2, 2)])
def test_cnv28(tmp_path, mnist_small, w, a):
    """CNV for 28x28 inputs (no padding): 5 convs, 2 pools, 3 FCs, exact against QONNX."""
    torch.manual_seed(0)
    model = randomize_bn(build("cnv28", w, a, width=0.0625), seed=2, negative=(w == 1))
    path = export(model, tmp_path / "c.onnx", (1, 28, 28))
    g, rep = compile_and_verify(path, tmp_path / "b", inputs=mnist_small(16), num_random=8)
    assert rep.ok, rep.describe()
    kinds = [l.kind for l in g.layers]
    assert kinds.count("SlidingWindow") == 5 and kinds.count("MaxPool") == 2 and kinds.count("MVTU") == 8
    assert g.input.shape == (1, 28, 28)
