"""A checkpoint never makes bnnc import code: user models are rebuilt only from --model-code."""
import torch
from click.testing import CliRunner

from bnn.topologies import ModelSpec
from bnn.train import CHECKPOINT_FORMAT, CHECKPOINT_VERSION
from bnnc.export import export_cmd

GOOD = """
from bnn.topologies import build

def factory(weight_bits, act_bits, width, **kw):
    return build("tfc", weight_bits, act_bits, width=width)
"""
EVIL = """
from pathlib import Path
Path(__file__).with_name("PWNED").write_text("imported")

def factory(**kw):
    raise SystemExit("ran")
"""


def _checkpoint(tmp_path, spec_name):
    (tmp_path / "good.py").write_text(GOOD)
    ns = {}
    exec(GOOD, ns)
    spec = ModelSpec(spec_name, 1, 1, width=0.25)
    model = ns["factory"](weight_bits=1, act_bits=1, width=0.25)
    ckpt = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "model_spec": spec.to_dict(),
            "model_state": model.state_dict(), "preprocess": None, "dataset": None}
    torch.save(ckpt, tmp_path / "c.pt")
    return tmp_path / "c.pt"


def test_export_refuses_code_named_by_the_checkpoint(tmp_path):
    (tmp_path / "evil.py").write_text(EVIL)
    ckpt = _checkpoint(tmp_path, f"{tmp_path / 'evil.py'}:factory")
    r = CliRunner().invoke(export_cmd, [str(ckpt), "--check-n", "4"])
    assert r.exit_code != 0 and "never allowed to name code" in r.output and "--model-code" in r.output, r.output
    assert not (tmp_path / "PWNED").exists()


def test_export_user_model_from_the_command_line(tmp_path):
    (tmp_path / "evil.py").write_text(EVIL)
    ckpt = _checkpoint(tmp_path, f"{tmp_path / 'evil.py'}:factory")
    r = CliRunner().invoke(export_cmd, [str(ckpt), "--check-n", "8", "--model-code",
                                        f"{tmp_path / 'good.py'}:factory"])
    assert r.exit_code == 0, r.output
    assert "0 mismatches" in r.output and not (tmp_path / "PWNED").exists() and (tmp_path / "c.onnx").is_file()
