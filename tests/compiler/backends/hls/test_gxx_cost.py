"""A C simulation estimated to need minutes/GB of g++ is announced, with the estimate, before g++ starts."""
import pytest

import compiler.backends.hls.gxx_cost as gxx_cost
from brevitas_models import export, mlp
from compiler.workflow.compile import compile_model
from compiler.backends.hls.project import generate_project
from compiler.backends.hls.csim import compile_csim
from diagnostics.errors import CompileError
from compiler.backends.hls.gxx_cost import estimate_gxx


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    d = tmp_path_factory.mktemp("p")
    g = compile_model(export(mlp(1, 1, seed=8), d / "m.onnx", (20,), dynamo=False), d / "b")
    return generate_project(g, d / "b" / "hls", "Pynq-Z2").path


def test_estimate_grows_with_the_constant_memories(project, tmp_path):
    small = estimate_gxx(project)
    assert not small.heavy and small.source_mb > 0
    big = tmp_path / "big"
    (big / "src" / "params").mkdir(parents=True)
    (big / "src" / "params" / "l00.hpp").write_text("0x1ULL,\n" * 4_000_000)      # ~32 MB of initializers
    est = estimate_gxx(big)
    assert est.heavy and est.seconds > small.seconds and est.memory_mb > small.memory_mb


def test_heavy_build_is_announced_before_gxx_runs(project, monkeypatch):
    monkeypatch.setattr(gxx_cost, "WARN_SECONDS", 0.0)
    events = []
    with pytest.raises(CompileError, match="exit 1"):
        compile_csim(project, cxx="false", warn=lambda m: events.append(m))   # `false`: g++ that fails at once
    assert len(events) == 1 and "g++ needs roughly" in events[0] and "GB of memory" in events[0]


def test_light_build_is_not_announced(project):
    events = []
    with pytest.raises(CompileError):
        compile_csim(project, cxx="false", warn=events.append)
    assert events == []
