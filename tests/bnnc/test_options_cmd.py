"""Options spelled one way across commands: --clock-mhz (old --clock still accepted, hidden), and the build's
saved board/clock used when --board is not given."""
import json
import sys
from pathlib import Path

from click.testing import CliRunner

from bnnc import main
from compiler.workflow.config import BuildConfig

import irgraphs  # noqa: E402


def _project(d: Path) -> dict:
    return json.loads((d / "hls" / "project.json").read_text())


def test_clock_mhz_and_its_deprecated_alias(tmp_path):
    d = tmp_path / "ties"
    irgraphs.ties().save(d)
    r = CliRunner().invoke(main, ["hls", str(d), "--clock-mhz", "125", "--no-synth"])
    assert r.exit_code == 0, r.output
    assert _project(d)["clock_mhz"] == 125
    help_text = CliRunner().invoke(main, ["hls", "--help"]).output
    assert "--clock-mhz" in help_text and "--clock " not in help_text      # the old spelling is hidden
    r = CliRunner().invoke(main, ["bitstream", str(d), "--clock", "150"])
    assert "deprecated" in r.output and _project(d)["clock_mhz"] == 150
    r = CliRunner().invoke(main, ["hls", str(d), "--clock", "100", "--clock-mhz", "110", "--no-synth"])
    assert r.exit_code != 0 and "give the clock once" in r.output


def test_later_steps_use_the_build_board(tmp_path):
    d = tmp_path / "ties"
    irgraphs.ties().save(d)
    BuildConfig(board="ZCU104", clock_mhz=187.5).save(d)
    r = CliRunner().invoke(main, ["hls", str(d), "--no-synth"])
    assert r.exit_code == 0, r.output
    assert "ZCU104" in r.output and _project(d)["board"] == "ZCU104" and _project(d)["clock_mhz"] == 187.5
    r = CliRunner().invoke(main, ["deploy", str(d), "-o", str(tmp_path / "dep"), "--samples", "0"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "dep" / "deploy.json").read_text())["board"] == "ZCU104"


def test_weights_in_is_checked_before_work_and_saved(tmp_path):
    """--weights-in uram on a board without URAM fails at once (no model is even read); the choice is saved in
    build_config.json and read back (older files without it mean 'auto')."""
    r = CliRunner().invoke(main, ["compile", str(tmp_path / "missing.onnx"), "-o", str(tmp_path / "b"),
                                  "--board", "Pynq-Z2", "--weights-in", "uram"])
    assert r.exit_code != 0 and "Pynq-Z2 has no URAM" in r.output and not (tmp_path / "b").exists()
    r = CliRunner().invoke(main, ["compile", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "b"), "--weights-in", "rom"])
    assert r.exit_code != 0 and "'rom' is not one of" in r.output
    BuildConfig(board="ZCU104", weights_in="bram").save(tmp_path)
    from compiler.workflow.config import load_config

    assert load_config(tmp_path).weights_in == "bram"
    doc = json.loads((tmp_path / "build_config.json").read_text())
    del doc["weights_in"]
    (tmp_path / "build_config.json").write_text(json.dumps(doc))
    assert load_config(tmp_path).weights_in == "auto"
