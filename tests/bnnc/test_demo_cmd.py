"""`bnnc demo` end to end on a small model: every stage runs and the bit-exactness claims it prints hold."""
import re

from click.testing import CliRunner

from bnnc import main


def test_demo_tfc_one_epoch(tmp_path):
    r = CliRunner().invoke(main, ["demo", "--model", "tfc", "--epochs", "1", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "0 mismatches" in r.output                      # export: QONNX == Brevitas
    assert re.search(r"verified: \d+ inputs, 0 output mismatches", r.output)
    m = re.search(r"simulator ([\d.]+)%  PyTorch ([\d.]+)% .* predictions differ on (\d+) images", r.output)
    assert m and m.group(1) == m.group(2) and m.group(3) == "0"
    assert float(m.group(1)) > 50                          # one epoch already learns (10 classes: chance is 10%)
    assert re.search(r"\b0 mismatch", r.output.split("[5]")[1].split("[6]")[0])   # g++ C-sim == simulator
    assert "DMA output bytes of sim and csim identical" in r.output.split("[6]")[1]
    run = tmp_path / "tfc-w1a1-in8"
    assert (run / "dataflow" / "report.json").is_file() and (run / "dataflow" / "finn_dataflow.onnx").is_file()
