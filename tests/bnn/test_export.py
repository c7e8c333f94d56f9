import numpy as np
import pytest
import torch

from bnn.export import ExportError, QonnxRunner, check_export, export_qonnx
from bnn.topologies import build


def _train_briefly(m, shape, steps=15):
    """Move BN statistics and weights off their initial values so the check is not trivial."""
    torch.manual_seed(0)
    opt = torch.optim.Adam(m.parameters(), 1e-2)
    m.train()
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(m(torch.rand(32, *shape)), torch.randint(0, 10, (32,)))
        opt.zero_grad(), loss.backward(), opt.step()
    return m.eval()


@pytest.mark.parametrize("name,bits", [("tfc", (1, 1)), ("sfc", (1, 2)), ("lfc", (2, 2)), ("cnv", (1, 1)), ("cnv", (2, 2))])
def test_qonnx_execution_equals_brevitas_exactly(tmp_path, name, bits, mnist_small):
    shape = (1, 32, 32) if name == "cnv" else (1, 28, 28)
    m = _train_briefly(build(name, *bits, width=0.25), shape)
    path = export_qonnx(m, tmp_path / "m.onnx", shape)
    x = mnist_small(64, pad_to=shape[-1])                     # real digits
    x = np.concatenate([x, np.random.default_rng(0).random((64, *shape), dtype=np.float32)])  # and random
    res = check_export(m, path, x)
    assert res.n_inputs == 128
    assert res.mismatches == 0 and res.max_abs_diff == 0.0
    assert not list(tmp_path.glob(".m.*"))  # no temp file left behind


def test_check_detects_a_different_model(tmp_path):
    shape = (1, 28, 28)
    m = _train_briefly(build("tfc", 1, 1, width=0.25), shape)
    path = export_qonnx(m, tmp_path / "m.onnx", shape)
    with torch.no_grad():
        m[-1].bias += 1.0
    assert check_export(m, path, np.random.default_rng(1).random((8, *shape), dtype=np.float32)).mismatches == 8


def test_export_errors_are_clear(tmp_path):
    with pytest.raises(ExportError, match="no such QONNX file"):
        QonnxRunner(tmp_path / "missing.onnx")
    m = build("tfc", 1, 1, width=0.25)
    with pytest.raises(ExportError, match="m.onnx"):
        export_qonnx(m, tmp_path / "m.onnx", (3, 5, 5))  # wrong input shape for the model
    assert not list(tmp_path.iterdir())
