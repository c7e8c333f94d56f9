"""compiler.workflow.compile: the compile as named steps, run in order, stopped early (--to-step) and resumed from a
build folder (--from-step) with the same bytes as one compile; steps that cannot be resumed from are refused."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from brevitas_models import export, mlp
from bnnc.compile import compile_cmd
from compiler.workflow.compile import STEP_NAMES, run_steps
from compiler.workflow.config import BuildConfig, ConfigError, load_config
from compiler.workflow.pipeline import build

SAME = ("graph.json", "finn_dataflow.onnx", "finn_folding.json", "report.json", "report.txt", "verify.json",
        "build_config.json", "model.onnx")


@pytest.fixture(scope="module")
def onnx(tmp_path_factory):
    d = tmp_path_factory.mktemp("m")
    return export(mlp(1, 1, seed=8), d / "m.onnx", (20,), dynamo=False), export(mlp(1, 1, seed=9), d / "m2.onnx", (20,), dynamo=False)


@pytest.fixture(scope="module")
def full(onnx, tmp_path_factory):
    """One compile of every step, the reference for the resumed ones (same folder name: same graph name)."""
    out = tmp_path_factory.mktemp("full") / "net"
    build(onnx[0], BuildConfig(board="zcu104", verify=True, num_random=8), out)
    return out


def _same_build(a, b):
    for f in SAME:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    with np.load(a / "arrays.npz") as x, np.load(b / "arrays.npz") as y:
        assert sorted(x) == sorted(y) and all(np.array_equal(x[k], y[k]) for k in x)


def test_to_step_verify_then_from_step_fold_is_one_compile(onnx, full, tmp_path):
    out = tmp_path / "net"
    res = build(onnx[0], BuildConfig(board="zcu104", verify=True, num_random=8), out, to_step="verify")
    assert res.report is None and (out / "verify.json").is_file() and load_config(out).folding_source is None
    assert not (out / "report.json").exists() and not (out / "finn_dataflow.onnx").exists()
    assert all(not l.folding or set(l.folding.values()) == {1} for l in res.graph.layers)
    # the skipped steps' options (verify, num_random) come from the build's build_config.json
    res = build(onnx[0], BuildConfig(board="zcu104"), out, from_step="fold")
    assert res.config.verify and res.config.folding_source == "optimizer"
    _same_build(full, out)


def test_from_step_fold_takes_the_options_given_and_the_builds_others(onnx, tmp_path):
    out = tmp_path / "net"
    build(onnx[0], BuildConfig(board="zcu104", clock_mhz=150.0, margin=0.6), out, to_step="lower")
    res = build(onnx[0], BuildConfig(margin=0.3), out, from_step="fold")
    assert (res.config.board, res.config.clock_mhz, res.config.margin, res.config.target_fps) == \
        ("ZCU104", 150.0, 0.3, "max")
    assert res.report["clock_mhz"] == 150.0 and res.report["board"]["margin"] == 0.3


def test_to_step_lower_then_from_step_verify(onnx, full, tmp_path):
    out = tmp_path / "net"
    build(onnx[0], BuildConfig(board="zcu104"), out, to_step="lower")
    assert not (out / "verify.json").exists() and (out / "graph.json").is_file()
    build(onnx[0], BuildConfig(board="zcu104", verify=True, num_random=8), out, from_step="verify")
    _same_build(full, out)


def test_from_step_finn_export_keeps_the_reports(onnx, full, tmp_path):
    import shutil

    out = tmp_path / "net"
    shutil.copytree(full, out)
    (out / "finn_dataflow.onnx").unlink()
    res = build(onnx[0], BuildConfig(), out, from_step="finn_export")
    assert res.config == load_config(full) and res.report == json.loads((full / "report.json").read_text())
    _same_build(full, out)


def test_steps_that_cannot_be_resumed_are_refused_clearly(onnx, full, tmp_path):
    before = {f: (full / f).read_bytes() for f in SAME}
    cases = [
        (dict(from_step="lower"), "cannot resume from this step .*cleaned QONNX model"),
        (dict(from_step="report"), "cannot resume from this step .*cost report that fold computes"),
        (dict(from_step="write"), "cannot resume from this step .*write always runs last"),
        (dict(from_step="fold"), "already folded"),
        (dict(from_step="nope"), "no such step; the steps are load, lower"),
        (dict(to_step="load"), "no graph to write before lower"),
        (dict(from_step="finn_export", to_step="fold"), "comes after --to-step fold"),
    ]
    for kw, msg in cases:
        with pytest.raises(ConfigError, match=msg):
            build(onnx[0], BuildConfig(), full, **kw)
    with pytest.raises(ConfigError, match=r"topk 2 differs from the build's None; step lower uses it"):
        build(onnx[0], BuildConfig(topk=2), full, from_step="finn_export")
    with pytest.raises(ConfigError, match="compiled from another model"):
        build(onnx[1], BuildConfig(), full, from_step="finn_export")
    with pytest.raises(ConfigError, match="holds no build to resume"):
        build(onnx[0], BuildConfig(), tmp_path / "empty", from_step="fold")
    with pytest.raises(ConfigError, match="resuming needs the build folder"):
        build(onnx[0], BuildConfig(), None, from_step="fold")
    assert {f: (full / f).read_bytes() for f in SAME} == before and not (tmp_path / "empty").exists()


def test_custom_steps_run_in_the_order_given(onnx, tmp_path):
    """A library caller's own list: here a step that reads the lowered graph, between lower and write."""
    from compiler.workflow.compile import load, lower, write

    seen = []
    state = run_steps(onnx[0], BuildConfig(), tmp_path / "b",
                      steps=(load, lower, lambda st, cfg: seen.append(len(st.graph.layers)), write))
    assert seen == [len(state.graph.layers)] and (tmp_path / "b" / "graph.json").is_file()
    assert (tmp_path / "b" / "build_config.json").is_file() and not (tmp_path / "b" / "finn_dataflow.onnx").exists()


def test_cli_lists_the_steps_and_takes_from_and_to(onnx, tmp_path):
    r = CliRunner().invoke(compile_cmd, ["--help"])
    assert r.exit_code == 0 and all(f"    {n} " in r.output for n in STEP_NAMES), r.output
    assert "--from-step" in r.output and "--to-step" in r.output
    out = tmp_path / "net"
    r = CliRunner().invoke(compile_cmd, [str(onnx[0]), "-o", str(out), "--board", "pynq-z2", "--verify",
                                         "--num-random", "4", "--to-step", "lower"])
    assert r.exit_code == 0 and "report:" not in r.output and not (out / "report.json").exists(), r.output
    assert not (out / "verify.json").exists()
    r = CliRunner().invoke(compile_cmd, [str(onnx[0]), "-o", str(out), "--from-step", "verify", "--to-step", "verify"])
    assert r.exit_code == 0 and "verified: 9 inputs" in r.output, r.output       # the build's 4 random + 5 structured
    r = CliRunner().invoke(compile_cmd, [str(onnx[0]), "-o", str(out), "--from-step", "fold"])   # the build's board
    assert r.exit_code == 0 and "report:" in r.output and (out / "report.json").is_file(), r.output
    assert json.loads((out / "report.json").read_text())["board"]["name"] == "Pynq-Z2"
    r = CliRunner().invoke(compile_cmd, [str(onnx[0]), "-o", str(out), "--from-step", "lower"])
    assert r.exit_code == 1 and "cannot resume from this step" in r.output and "Traceback" not in r.output


def test_a_rebuild_compares_hls_sources_without_a_throwaway_project(onnx, tmp_path, monkeypatch):
    """The rebuild generates the new HLS sources once, in memory, compares their digest with the old hls/ and
    writes them as the new build's hls/; generate_project (which writes a folder) is not called."""
    import compiler.backends.hls.project as project
    from compiler.workflow.builds import project_for_build
    from compiler.workflow.compile import compile_model

    out = tmp_path / "b"
    compile_model(onnx[0], out)
    _, proj = project_for_build(out)
    (proj.path / "hls_prj").mkdir()                              # as if Vitis HLS had run
    monkeypatch.setattr(project, "generate_project", lambda *a, **k: pytest.fail("a project was generated"))
    notes = []
    compile_model(onnx[0], out, folder_notes=notes)
    assert "kept hls/hls_prj (its HLS sources are unchanged)" in notes and (out / "hls" / "src" / "top.cpp").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]        # no staging or temporary project left
