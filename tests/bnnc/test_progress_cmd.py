"""Issue 13, 'a CLI that shows what it is doing': progress on stderr under `bnnc -v` (and on a terminal), nothing
when piped; exports without library banners; a demo rerun that says it reuses the trained run."""
import re

import pytest
from click.testing import CliRunner

from brevitas_models import export, mlp
from bnnc import main


def test_compile_progress_only_with_verbose_when_not_a_terminal(tmp_path):
    onnx = export(mlp(1, 1, seed=8), tmp_path / "m.onnx", (20,), dynamo=False)
    quiet = CliRunner().invoke(main, ["compile", onnx, "-o", str(tmp_path / "q"), "--verify", "--board", "pynq-z2"])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""                          # CliRunner's stderr is not a terminal
    loud = CliRunner().invoke(main, ["-v", "compile", onnx, "-o", str(tmp_path / "v"), "--verify",
                                     "--board", "pynq-z2"])
    assert loud.exit_code == 0, loud.output
    for step in ("lowering to the dataflow IR", "verifying against QONNX execution", "folding search"):
        assert step in loud.stderr
    assert "lowering" not in loud.stdout               # progress never mixes into the command's result
    assert "estimated hardware throughput (cost model, not measured)" in loud.stdout


def test_run_progress_counts_frames(tfc_deploy):
    r = CliRunner().invoke(main, ["-v", "run", str(tfc_deploy), "--input", str(tfc_deploy / "samples.npz"),
                                  "--batch-size", "8"])
    assert r.exit_code == 0, r.output
    assert re.search(r"sim accelerator run.*16/16", r.stderr)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, one_thread):
    from bnnc.train import run_train

    out = tmp_path_factory.mktemp("train") / "run"
    run_train(model_name="tfc", dataset="synthetic", epochs=1, limit=256, batch_size=64, width=0.5, out_dir=out,
              progress=False)
    return out


def test_export_is_quiet_by_default_and_shows_library_messages_under_verbose(run_dir):
    r = CliRunner().invoke(main, ["export", str(run_dir / "last.pt"), "--check-n", "16"])
    assert r.exit_code == 0, r.output
    assert r.output.strip().startswith("exported ") and len(r.output.strip().splitlines()) == 1, r.output
    v = CliRunner().invoke(main, ["-v", "export", str(run_dir / "last.pt"), "--check-n", "16"])
    assert v.exit_code == 0, v.output
    assert "[torch.onnx]" in v.output                 # the exporter's own banner, kept for -v


def test_demo_rerun_reuses_the_run_without_announcing_training(tmp_path, monkeypatch, one_thread):
    import bnnc.demo as demo

    monkeypatch.setattr(demo, "_dataset", lambda: "synthetic")
    monkeypatch.setattr(demo, "_later_stages", lambda: [])
    args = ["demo", "--model", "tfc", "--epochs", "1", "--out", str(tmp_path)]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "[1] train tfc-w1a1-in8 on synthetic for 1 epochs" in first.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert "already trained for 1 epochs" in again.output and "reusing it" in again.output
    assert "for 1 epochs" not in again.output.replace("already trained for 1 epochs", "")
    assert "training tfc" not in again.output
    more = CliRunner().invoke(main, [*args[:4], "2", *args[5:]])       # asking for more epochs continues the run
    assert more.exit_code == 0, more.output
    assert "for 2 epochs" in more.output and "continuing the run" in more.output and "from epoch 1" in more.output


def test_options_are_checked_before_work(tmp_path, monkeypatch):
    """Issue 13, 'check arguments before work': a bad --board fails before the demo trains; a folder that is
    not a deployment fails before `bnnc run` loads a dataset; --target-fps without --board before lowering."""
    import bnn.datasets
    import bnnc.demo as demo
    import compiler.frontend.ingest

    def started(*a, **k):
        raise AssertionError("work started before the options were checked")

    monkeypatch.setattr(demo, "_dataset", started)
    r = CliRunner().invoke(main, ["demo", "--board", "no-such-board", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "unknown board 'no-such-board'" in r.output, r.output
    monkeypatch.setattr(bnn.datasets, "load_dataset", started)
    r = CliRunner().invoke(main, ["run", str(tmp_path), "--dataset", "fashion-mnist"])
    assert r.exit_code == 1 and "not a deployment folder (no deploy.json)" in r.output, r.output
    monkeypatch.setattr(compiler.frontend.ingest, "load_model", started)
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"not read")
    r = CliRunner().invoke(main, ["compile", str(onnx), "-o", str(tmp_path / "b"), "--target-fps", "1000"])
    assert r.exit_code == 1 and "needs a board" in r.output and "--board" in r.output, r.output


def test_csim_labels_host_speed_and_the_hardware_estimate(tmp_path, monkeypatch):
    from boards.catalog import get_board
    from compiler.workflow.compile import compile_model
    from compiler.estimate.folding import estimate_for

    g = compile_model(export(mlp(1, 1, seed=8), tmp_path / "m.onnx", (20,), dynamo=False), tmp_path / "b")
    monkeypatch.setenv("BNNC_CSIM_CACHE", "off")      # a binary another test built would skip the g++ step shown
    r = CliRunner().invoke(main, ["-v", "csim", str(tmp_path / "b"), "--frames", "8"])
    assert r.exit_code == 0, r.output
    assert re.search(r"[\d,]+ frames/s host C-simulation speed \(g\+\+", r.stdout)
    board = get_board("pynq-z2")                      # csim's default board for a build compiled without one
    cost = estimate_for(g, board)
    assert (f"{cost.fps:,.0f} frames/s estimated hardware throughput (cost model, {board.name} at "
            f"{board.default_clock_mhz:g} MHz") in r.stdout
    assert "g++ build of the C simulation of b/hls" in r.stderr and "generating HLS C++" in r.stderr
