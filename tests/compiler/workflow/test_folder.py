"""Output folders are never lost: foreign folders refused, rebuilds keep user files and still-valid tool
outputs, temporary folders cleaned on SIGTERM / swept after SIGKILL, one writer at a time, umask respected."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from brevitas_models import export, mlp
from bnnc.compile import compile_cmd
from bnnc.deploy import deploy_cmd
from compiler.workflow.compile import compile_model, load, lower, run_steps, write
from compiler.workflow.config import BuildConfig
from compiler.workflow.folder import STAGING_MARK, FolderError, folder_kind, staged_folder
from compiler.workflow.builds import project_for_build

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def onnx(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    return Path(export(mlp(1, 1, seed=8), d / "m.onnx", (20,), dynamo=False)), Path(export(mlp(1, 1, seed=9), d / "m2.onnx", (20,), dynamo=False))


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.glob(f".{name}.*"))


def test_compile_refuses_foreign_folder(tmp_path, onnx):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "train.py").write_text("print('mine')\n")
    model = proj / "model.onnx"
    model.write_bytes(onnx[0].read_bytes())
    r = CliRunner().invoke(compile_cmd, [str(model), "-o", str(proj)])
    assert r.exit_code != 0 and "contains the input" in r.output, r.output
    r = CliRunner().invoke(compile_cmd, [str(onnx[0]), "-o", str(proj)])
    assert r.exit_code != 0 and "not empty and not a bnnc build folder" in r.output and "--force" in r.output
    assert sorted(p.name for p in proj.iterdir()) == ["model.onnx", "train.py"]
    assert leftovers(tmp_path, "proj") == []
    r = CliRunner().invoke(compile_cmd, [str(onnx[0]), "-o", str(proj), "--force"])
    assert r.exit_code == 0, r.output
    assert folder_kind(proj) == "build" and not (proj / "train.py").exists()


def test_deploy_refuses_its_own_build_and_foreign_folders(tmp_path, onnx):
    build = tmp_path / "build"
    compile_model(onnx[0], build)
    before = sorted(p.name for p in build.iterdir())
    r = CliRunner().invoke(deploy_cmd, [str(build), "-o", str(build), "--samples", "0"])
    assert r.exit_code != 0 and "contains the input" in r.output, r.output
    r = CliRunner().invoke(deploy_cmd, [str(build), "-o", str(tmp_path), "--samples", "0", "--force"])
    assert r.exit_code != 0 and "contains the input" in r.output, r.output
    assert folder_kind(build) == "build"
    assert set(before) <= {p.name for p in build.iterdir()}          # (deploy may add hls/ to the build)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("x")
    r = CliRunner().invoke(deploy_cmd, [str(build), "-o", str(other), "--samples", "0"])
    assert r.exit_code != 0 and "not a bnnc deploy folder" in r.output and "--force" in r.output
    assert (other / "todo.txt").read_text() == "x"
    dep = tmp_path / "dep"
    r = CliRunner().invoke(deploy_cmd, [str(build), "-o", str(dep), "--samples", "0"])
    assert r.exit_code == 0, r.output
    (dep / "notebook.ipynb").write_text("{}")
    r = CliRunner().invoke(deploy_cmd, [str(build), "-o", str(dep), "--samples", "0"])
    assert r.exit_code == 0 and "kept notebook.ipynb" in r.output, r.output
    assert (dep / "notebook.ipynb").read_text() == "{}" and folder_kind(dep) == "deploy"


def _fake_tool_outputs(build: Path) -> None:
    graph, proj = project_for_build(build, "Pynq-Z2")
    (proj.path / "output").mkdir()
    (proj.path / "output" / "net.bit").write_bytes(b"hours of vivado")
    (proj.path / "hls_prj").mkdir()
    (proj.path / "vivado.log").write_text("log")


def test_recompile_keeps_user_files_and_unchanged_tool_outputs(tmp_path, onnx):
    build = tmp_path / "b"
    compile_model(onnx[0], build)
    _fake_tool_outputs(build)
    (build / "NOTES.md").write_text("mine")
    r = CliRunner().invoke(compile_cmd, [str(onnx[0]), "-o", str(build)])
    assert r.exit_code == 0, r.output
    for what in ("kept hls/output", "kept hls/hls_prj", "kept hls/vivado.log", "kept NOTES.md"):
        assert what in r.output, r.output
    assert (build / "hls" / "output" / "net.bit").read_bytes() == b"hours of vivado"
    assert (build / "NOTES.md").read_text() == "mine" and (build / "hls" / "src" / "top.cpp").is_file()
    # a different model changes the HLS sources: the outputs built from the old ones are stale and go
    r = CliRunner().invoke(compile_cmd, [str(onnx[1]), "-o", str(build)])
    assert r.exit_code == 0, r.output
    assert "dropped hls/hls_prj, hls/output, hls/vivado.log" in r.output and "changes the HLS sources" in r.output, r.output
    assert not (build / "hls" / "output").exists() and (build / "NOTES.md").read_text() == "mine"
    assert leftovers(tmp_path, "b") == []


def test_failed_compile_leaves_old_build_and_no_temp(tmp_path, onnx):
    build = tmp_path / "b"
    compile_model(onnx[0], build)
    before = (build / "graph.json").read_text()

    def boom(state, cfg):          # a step of its own between lowering and writing (compiler.workflow.compile)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_steps(onnx[1], BuildConfig(), build, steps=(load, lower, boom, write))
    assert (build / "graph.json").read_text() == before and leftovers(tmp_path, "b") == []


# The child sets its own signal handlers: started under `nohup ... &` (or any shell that runs background jobs with
# SIGINT ignored) it inherits SIG_IGN for SIGINT, and Python then installs no KeyboardInterrupt handler at start.
SLOW_COMPILE = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path
    from compiler.workflow.compile import load, lower, run_steps, write
    from compiler.workflow.config import BuildConfig

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def slow(state, cfg):
        Path(sys.argv[3]).write_text("started")
        time.sleep(60)

    run_steps(sys.argv[1], BuildConfig(), sys.argv[2], steps=(load, lower, slow, write))
""")


def _start_slow_compile(tmp_path: Path, model: Path, out: Path) -> subprocess.Popen:
    marker = tmp_path / f"started-{out.name}"
    script = tmp_path / "slow_compile.py"
    script.write_text(SLOW_COMPILE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.Popen([sys.executable, str(script), str(model), str(out), str(marker)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not marker.exists():
        if p.poll() is not None or time.monotonic() > deadline:
            p.kill()
            raise AssertionError(f"slow compile did not start: {p.communicate()}")
        time.sleep(0.1)
    return p


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_compile_removes_temp_folder(tmp_path, onnx, sig):
    out = tmp_path / "net"
    p = _start_slow_compile(tmp_path, onnx[0], out)
    assert leftovers(tmp_path, "net")          # the staging folder and the lock exist while it works
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    if sig == signal.SIGTERM:
        assert p.returncode == 128 + signal.SIGTERM, err
    else:
        assert "KeyboardInterrupt" in err
    assert leftovers(tmp_path, "net") == [] and not out.exists()


def test_sigkill_leftovers_are_swept_by_the_next_compile(tmp_path, onnx):
    out = tmp_path / "net"
    p = _start_slow_compile(tmp_path, onnx[0], out)
    p.kill()
    p.communicate(timeout=60)
    orphans = [n for n in leftovers(tmp_path, "net") if not n.endswith(".lock")]
    assert orphans and all((tmp_path / n / STAGING_MARK).is_file() for n in orphans)
    compile_model(onnx[0], out)
    assert leftovers(tmp_path, "net") == [] and folder_kind(out) == "build"


def test_second_compile_into_a_locked_folder_fails_clearly(tmp_path, onnx):
    out = tmp_path / "net"
    p = _start_slow_compile(tmp_path, onnx[0], out)
    try:
        with pytest.raises(FolderError, match=rf"being written by another bnnc process \(pid {p.pid}\)"):
            compile_model(onnx[1], out)
    finally:
        p.terminate()
        p.communicate(timeout=60)
    assert leftovers(tmp_path, "net") == []


def test_unwritable_target_fails_before_any_work(tmp_path, onnx, monkeypatch):
    import compiler.frontend.ingest

    def no_work(*a, **k):
        raise AssertionError("lowering started before the output folder was checked")

    monkeypatch.setattr(compiler.frontend.ingest, "load_model", no_work)
    (tmp_path / "afile").write_text("")
    r = CliRunner().invoke(compile_cmd, [str(onnx[0]), "-o", str(tmp_path / "afile" / "build")])
    assert r.exit_code != 0 and "cannot create" in r.output and "Traceback" not in r.output, r.output
    with pytest.raises(FolderError, match="exists and is not a folder"):
        compile_model(onnx[0], tmp_path / "afile")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_parent_fails_before_any_work(tmp_path, onnx):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(FolderError, match="cannot write"):
            with staged_folder(ro / "b", "build"):
                raise AssertionError("work started")
    finally:
        ro.chmod(0o755)


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_outputs_follow_umask(tmp_path, onnx, mask):
    old = os.umask(mask)
    try:
        out = tmp_path / "b"
        compile_model(onnx[0], out)
        project_for_build(out, "Pynq-Z2")
    finally:
        os.umask(old)
    for p in (out, out / "hls", out / "graph.json", out / "hls" / "src"):
        want = (0o777 if p.is_dir() else 0o666) & ~mask
        assert p.stat().st_mode & 0o777 == want, (p, oct(p.stat().st_mode))


def test_failure_mid_swap_restores_the_old_folder(tmp_path, onnx, monkeypatch):
    """A crash between parking the old folder and moving the new one in gives the old one back, kept entries
    included."""
    build = tmp_path / "b"
    compile_model(onnx[0], build)
    (build / "NOTES.md").write_text("mine")
    real = os.replace

    def flaky(src, dst):
        if Path(dst) == build and ".b.build." in str(src):
            raise OSError("disk full")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(Exception, match="disk full"):
        compile_model(onnx[1], build)
    monkeypatch.setattr(os, "replace", real)
    assert folder_kind(build) == "build" and (build / "NOTES.md").read_text() == "mine"
    assert leftovers(tmp_path, "b") == []
