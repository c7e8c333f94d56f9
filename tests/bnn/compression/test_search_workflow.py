"""`bnn.compress.run` with the hardware-aware search (`bnnc compress --search bits,width --rtl`): the searched
student's family.json entry matches its checkpoint and its verified RTL-flow build, and stays within the budget."""
import json
from pathlib import Path

import pytest

from bnn.compress.budget import ResourceBudget
from bnn.compress.workflow import CompressConfig, CompressError, run
from bnn.topologies import ModelSpec, hidden_widths, layer_bits, make_spec
from bnn.train import load_checkpoint


def test_searched_student_entry_matches_its_build(tmp_path, one_thread):
    budget = ResourceBudget("pynq-z2", 20000, lut=1.0).estimate(
        make_spec("tfc", 1, 1, hidden=[16, 16, 16], input_bits=8)).lut + 60
    cfg = CompressConfig(teacher="tfc", teacher_epochs=1, dataset="synthetic", limit=256, board="pynq-z2",
                         target_fps=20000, lut_budget=budget, student="tfc", widths=(0.25,), input_bits=8, epochs=2,
                         batch_size=64, search=("bits", "width"), rtl=True, verify_samples=32, progress=False,
                         threads=1, deploy=False, dsp_budget=0)           # multipliers in LUTs (--dsp-budget 0)
    run(cfg, tmp_path / "f", log=lambda m: None)
    doc = json.loads((tmp_path / "f" / "family.json").read_text())
    names = [s["name"] for s in doc["students"]]
    assert names[0] == "search-bits+width" and names[1].startswith("uniform-")
    s = doc["students"][0]
    spec = ModelSpec(**load_checkpoint(s["checkpoint"])["model_spec"])
    wb, ab = layer_bits(spec)
    assert s["widths"] == hidden_widths(spec) and s["bits"]["weight"] == wb and s["bits"]["act"] == ab
    build = Path(s["build"])
    report = json.loads((build / "report.json").read_text())
    assert report["flow"] == "rtl" and s["estimate"]["lut"] == report["total"]["lut"]
    assert s["verify"]["output_mismatches"] == 0 and s["rtlsim"]["mismatches"] == 0
    searched = json.loads((tmp_path / "f" / "search.json").read_text())
    assert searched["spec"] == spec.to_dict() and searched["estimate"]["lut"] <= budget
    assert searched["budget"]["dsp"] == 0 and searched["key"]["dsp_budget"] == 0
    assert all(st["estimate"]["dsp"] == 0 for st in doc["students"])      # the builds of both students too
    with pytest.raises(CompressError, match="--lut-budget"):
        run(CompressConfig(**{**cfg.to_dict(), "lut_budget": None}), tmp_path / "g", log=lambda m: None)
    assert not (tmp_path / "g").exists()                   # refused before any work (no teacher trained)
