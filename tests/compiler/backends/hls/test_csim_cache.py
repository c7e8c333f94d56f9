"""C-sim binaries are shared by content: the same sources, headers, compiler and flags are never built twice."""
import shutil

import numpy as np

from brevitas_models import export, mlp
from compiler.workflow.compile import compile_model
from compiler.backends.hls.project import generate_project
from compiler.backends.hls.csim import compile_csim, csim_cache_dir, run_csim


def test_identical_projects_share_one_build_and_edits_rebuild(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("BNNC_CSIM_CACHE", str(cache))
    assert csim_cache_dir() == cache
    g = compile_model(export(mlp(1, 1, seed=8), tmp_path / "m.onnx", (20,), dynamo=False), tmp_path / "b")
    a = generate_project(g, tmp_path / "a", "Pynq-Z2").path
    exe_a, _, reused = compile_csim(a)
    assert not reused and len(list(cache.iterdir())) == 1
    b = shutil.copytree(a, tmp_path / "b2", ignore=shutil.ignore_patterns("csim"))   # same sources, no binary
    exe_b, seconds, reused = compile_csim(b)
    assert reused and seconds == 0.0 and exe_b.read_bytes() == exe_a.read_bytes()
    x = np.ones((3, *g.layers[0].in_shape), np.int64)
    assert np.array_equal(run_csim(b, x)[0], run_csim(a, x)[0])
    hdr = next((b / "src" / "params").glob("*.hpp"))
    hdr.write_text(hdr.read_text() + "\n// edited\n")                  # other sources: another key, a real build
    assert not compile_csim(b)[2] and len(list(cache.iterdir())) == 2
    monkeypatch.setenv("BNNC_CSIM_CACHE", "off")                       # disabled: nothing shared
    assert csim_cache_dir() is None
    c = shutil.copytree(a, tmp_path / "c", ignore=shutil.ignore_patterns("csim"))
    assert not compile_csim(c)[2]
