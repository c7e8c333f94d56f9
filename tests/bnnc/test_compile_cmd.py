"""`bnnc compile` through click's CliRunner: success with verification, clean failures."""
import importlib.util
import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from brevitas_models import export, mlp
from bnnc.compile import compile_cmd
from compiler.ir.graph import DataflowGraph


@pytest.fixture
def sim_available(monkeypatch):
    """The CLI verifies with compiler.sim.simulate; before that module exists, use the tests' naive reading."""
    if importlib.util.find_spec("compiler.sim.simulate") is None:
        import naive_ir

        monkeypatch.setitem(sys.modules, "compiler.sim.simulate", naive_ir)


def test_compile_verify_with_inputs(tmp_path, sim_available):
    onnx = export(mlp(1, 1, seed=8), tmp_path / "m.onnx", (20,), dynamo=False)
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((7, 20)).astype(np.float32))
    out = tmp_path / "build" / "tiny"
    r = CliRunner().invoke(compile_cmd, [onnx, "-o", str(out), "--verify-inputs", str(tmp_path / "x.npy"),
                                         "--num-random", "8"])
    assert r.exit_code == 0, r.output
    assert "verified: 20 inputs, 0 output mismatches" in r.output   # 7 real + 8 random + 5 structured
    g = DataflowGraph.load(out)
    assert [l.kind for l in g.layers] == ["MVTU"] * 3 and g.name == "tiny"
    assert json.loads((out / "verify.json").read_text())["ok"] is True
    assert (out / "model.onnx").is_file()
    from compiler.backends.finn.export import from_finn_onnx

    finn = from_finn_onnx(out / "finn_dataflow.onnx")
    assert [l.name for l in finn.layers] == [l.name for l in g.layers]


def test_compile_without_verify(tmp_path):
    onnx = export(mlp(2, 2, seed=9), tmp_path / "m.onnx", (20,), dynamo=False)
    r = CliRunner().invoke(compile_cmd, [onnx, "-o", str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "b" / "verify.json").exists() and (tmp_path / "b" / "graph.json").is_file()


def test_compile_missing_model(tmp_path):
    r = CliRunner().invoke(compile_cmd, [str(tmp_path / "none.onnx"), "-o", str(tmp_path / "b")])
    assert r.exit_code != 0 and "none.onnx" in r.output and "no such file" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "b").exists()


def test_compile_bad_verify_inputs(tmp_path):
    onnx = export(mlp(1, 1, seed=8), tmp_path / "m.onnx", (20,), dynamo=False)
    np.save(tmp_path / "x.npy", np.zeros((3, 5), np.float32))
    r = CliRunner().invoke(compile_cmd, [onnx, "-o", str(tmp_path / "b"), "--verify-inputs", str(tmp_path / "x.npy")])
    assert r.exit_code != 0 and "per-frame shape" in r.output and not (tmp_path / "b").exists()
