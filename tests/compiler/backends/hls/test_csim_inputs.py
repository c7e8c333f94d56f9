"""`bnnc csim --inputs` refuses non-finite inputs like the runtime does (same wording), before any g++ run."""
import numpy as np
from click.testing import CliRunner

from brevitas_models import export, mlp
from bnnc import main
from compiler.workflow.compile import compile_model


def test_nan_inputs_are_refused_like_the_runtime(tmp_path, monkeypatch):
    import compiler.backends.hls.csim

    compile_model(export(mlp(1, 1, seed=8), tmp_path / "m.onnx", (20,), dynamo=False), tmp_path / "b")
    x = np.random.default_rng(0).random((3, 20)).astype(np.float32)
    x[1, 4] = np.nan
    np.save(tmp_path / "x.npy", x)
    monkeypatch.setattr(compiler.backends.hls.csim, "check_csim", lambda *a, **k: (_ for _ in ()).throw(AssertionError("ran")))
    r = CliRunner().invoke(main, ["csim", str(tmp_path / "b"), "--inputs", str(tmp_path / "x.npy")])
    assert r.exit_code == 1 and "image value nan at index (1, 4) is not finite" in r.output, r.output
