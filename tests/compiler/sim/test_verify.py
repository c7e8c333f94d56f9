"""verify_graph finds a wrong layer and names it; user inputs are used; the report is honest."""
import numpy as np
import pytest

from brevitas_models import cnn, compile_and_verify, export, mlp, simulator
from diagnostics.errors import CompileError
from compiler.sim.verify import random_inputs, verify_graph


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    d = tmp_path_factory.mktemp("v")
    path = export(mlp(1, 2, seed=21), d / "m.onnx", (20,), dynamo=False)
    g, rep = compile_and_verify(path, d / "build")
    assert rep.ok, rep.describe()
    return path, g


def test_corrupted_threshold_is_located(compiled):
    path, g = compiled
    bad = g.layers[1]
    bad.arrays["thresholds"] = bad.arrays["thresholds"].copy()
    bad.arrays["thresholds"][:, 0] -= 3            # shifts some outputs of the 2nd layer
    try:
        rep = verify_graph(path, g, num_random=64, simulate=simulator())
    finally:
        bad.arrays["thresholds"][:, 0] += 3
    assert not rep.ok
    assert rep.first_layer == bad.name and rep.layer_mismatches[g.layers[0].name] == 0
    assert bad.name in rep.describe()


def test_user_inputs_are_checked(compiled):
    path, g = compiled
    x = np.random.default_rng(1).normal(size=(10, 20)).astype(np.float32)
    rep = verify_graph(path, g, inputs=x, num_random=0, simulate=simulator())
    assert rep.ok and rep.n_inputs == 10
    with pytest.raises(CompileError, match="per-frame shape"):
        verify_graph(path, g, inputs=x[:, :5], simulate=simulator())


def test_layer_outputs_compared_for_conv(tmp_path):
    path = export(cnn(1, 2, seed=4), tmp_path / "c.onnx", (2, 8, 8), dynamo=False)
    g, rep = compile_and_verify(path, tmp_path / "b", num_random=16)
    assert rep.ok, rep.describe()
    assert set(rep.checked_layers) >= {l.name for l in g.layers if l.kind == "MaxPool"}


def test_random_inputs_deterministic():
    a, b = random_inputs((3, 4), 6, seed=2), random_inputs((3, 4), 6, seed=2)
    assert np.array_equal(a, b) and a.shape[1:] == (3, 4) and len(a) > 6
