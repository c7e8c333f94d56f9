import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bnnc import main

pytestmark = pytest.mark.usefixtures("one_thread")     # it trains: one torch thread (conftest.py)


@pytest.fixture(scope="module")
def teacher_ckpt(tmp_path_factory):
    """A float TFC teacher trained for one epoch on the synthetic set, saved as a bnnc checkpoint."""
    out = tmp_path_factory.mktemp("teacher")
    r = CliRunner().invoke(main, ["train", "--model", "tfc", "--bits", "float", "--dataset", "synthetic", "--epochs",
                                  "1", "--batch-size", "64", "--width", "0.5", "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    return out / "last.pt"


def test_compress_end_to_end_and_the_chosen_student_compiles(teacher_ckpt, tmp_path):
    out = tmp_path / "c"
    args = ["compress", "--teacher", str(teacher_ckpt), "--board", "pynq-z2", "--target-fps", "20000",
            "--student", "tfc", "--widths", "0.25,0.5", "--dataset", "synthetic", "--limit", "256",
            "--verify-samples", "32", "--epochs", "1", "--batch-size", "64", "--method", "distill", "--method",
            "morphnet", "--method", "prune", "--method", "lowrank", "--rank", "8", "--granularity", "4", "-o", str(out)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output + repr(r.exception)
    summary = json.loads((out / "summary.json").read_text())
    names = {s["name"] for s in summary["students"]}
    assert {"tfc-x0.25", "tfc-x0.5", "morphnet", "prune", "lowrank-r8"} <= names
    for s in summary["students"]:
        assert 0.0 <= s["accuracy"] <= 1.0 and s["lut"] > 0 and s["fps"] > 0
        assert (out / "students" / s["name"] / "student.pt").is_file()
    assert summary["budget_fits"]["prune"]["met"] and summary["budget_fits"]["prune"]["cost"] <= summary["lut_budget"]
    chosen = next(s for s in summary["students"] if s["name"] == summary["chosen"])
    assert chosen["met"] and chosen["accuracy"] == max(s["accuracy"] for s in summary["students"] if s["met"])
    assert (out / "pareto.png").stat().st_size > 1000 and (out / "family.png").stat().st_size > 1000
    # every student is compiled and verified now (before: only the chosen one, in chosen/build)
    for s in summary["students"]:
        assert (Path(s["build"]) / "graph.json").is_file()
        assert json.loads((Path(s["build"]) / "verify.json").read_text())["output_mismatches"] == 0
    assert summary["chosen_build"] == str(out / "students" / summary["chosen"] / "build")
    family = json.loads((out / "family.json").read_text())
    assert family["recommended"] == summary["chosen"] and len(family["students"]) == len(summary["students"])
    assert (Path(family["deploy"]) / "deploy.json").is_file()
    # and the exported student compiles with `bnnc compile` itself
    r = CliRunner().invoke(main, ["compile", summary["chosen_onnx"], "-o", str(tmp_path / "b"), "--verify",
                                  "--board", "pynq-z2", "--target-fps", "20000"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "b" / "report.json").is_file()


def test_compress_reports_an_unreachable_target(teacher_ckpt, tmp_path):
    r = CliRunner().invoke(main, ["compress", "--teacher", str(teacher_ckpt), "--board", "pynq-z2", "--target-fps",
                                  "1e9", "--student", "tfc", "--widths", "0.25", "--dataset", "synthetic",
                                  "--limit", "256", "--verify-samples", "32", "--epochs", "1", "--batch-size", "64",
                                  "-o", str(tmp_path / "c")])
    assert r.exit_code != 0
    assert "no student meets" in r.output
    assert json.loads((tmp_path / "c" / "summary.json").read_text())["chosen"] is None
    assert json.loads((tmp_path / "c" / "family.json").read_text())["recommended"] is None


def test_compress_checks_options_before_training(teacher_ckpt, tmp_path):
    base = ["compress", "--teacher", str(teacher_ckpt), "--board", "pynq-z2", "--target-fps", "1000", "--student", "tfc",
            "--epochs", "1", "-o", str(tmp_path / "c")]
    r = CliRunner().invoke(main, base + ["--dataset", str(tmp_path / "none.npz")])
    assert r.exit_code != 0 and "none.npz: no such file" in r.output
    r = CliRunner().invoke(main, base + ["--dataset", "synthetic", "--search", "bits,depth"])
    assert r.exit_code != 0 and "--search takes bits and/or width" in r.output
    r = CliRunner().invoke(main, base + ["--dataset", "synthetic", "--dsp-budget", "0"])
    assert r.exit_code != 0 and "--dsp-budget and --bram-budget limit the searched student" in r.output
    r = CliRunner().invoke(main, base + ["--dataset", "synthetic", "--dsp-budget", "-1"])
    assert r.exit_code != 0 and "--dsp-budget" in r.output
    import importlib

    try:
        has_search = hasattr(importlib.import_module("bnn.compress.search"), "choose_students")
    except ImportError:
        has_search = False
    if not has_search:
        r = CliRunner().invoke(main, base + ["--dataset", "synthetic", "--search", "bits,width"])
        assert r.exit_code != 0 and "--search bits,width is not available" in r.output
    import torch

    if not torch.cuda.is_available():
        r = CliRunner().invoke(main, base + ["--dataset", "synthetic", "--device", "cuda"])
        assert r.exit_code != 0 and "--device cuda: this torch has no CUDA device" in r.output
    assert not (tmp_path / "c").exists()      # nothing written before the checks pass


def test_sigterm_then_rerun_continues_from_the_last_finished_epoch(teacher_ckpt, tmp_path):
    """SIGTERM mid-training stops like Ctrl-C; the same command continues from the supernet's last checkpoint."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "c"
    args = ["compress", "--teacher", str(teacher_ckpt), "--board", "pynq-z2", "--target-fps", "5000", "--student",
            "tfc", "--widths", "0.25,0.5", "--dataset", "synthetic", "--epochs", "10", "--batch-size", "64",
            "--verify-samples", "32", "--threads", "1", "--no-progress", "-o", str(out)]
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    p = subprocess.Popen([sys.executable, "-c", "from bnnc import main; main()", *args], env=env, cwd=tmp_path,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ckpt = out / "supernet" / "last.pt"
    deadline = time.monotonic() + 240
    while not ckpt.exists() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    output = p.communicate(timeout=120)[0]
    assert p.returncode != 0 and "interrupted; rerun the same command" in output, output
    assert not (out / "family.json").exists()
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    training = json.loads((out / "training.json").read_text())
    assert 1 <= training["resumed_epochs"] < 10
    fam = json.loads((out / "family.json").read_text())
    assert [s["verify"]["output_mismatches"] for s in fam["students"]] == [0, 0]
