"""`bnnc --help`, `bnnc boards`, `bnnc compile` and `bnnc explore` never import torch or brevitas (they took 12-15 s
to load); checked in fresh interpreters whose import system refuses them, so a lazy import that slips fails here."""
import json
import subprocess
import sys

import pytest

from brevitas_models import export, mlp

BLOCKER = r"""
import sys

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "brevitas", "torchvision"):
            raise ImportError(f"{name} is blocked: this command must not import it")
        return None

sys.meta_path.insert(0, Blocker())
from bnnc import main
main(ARGS)
"""


def _bnnc(*args: str) -> subprocess.CompletedProcess:
    code = BLOCKER.replace("ARGS", repr(list(args)))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("args", [["--help"], ["boards"], ["boards", "--json"], ["compile", "--help"],
                                  ["hls", "--help"], ["deploy", "--help"], ["run", "--help"], ["explore", "--help"]])
def test_commands_load_without_torch(args):
    r = _bnnc(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "blocked" not in r.stderr


def test_compile_runs_without_torch(tmp_path):
    onnx = export(mlp(1, 1, seed=8), tmp_path / "m.onnx", (20,), dynamo=False)
    out = tmp_path / "build"
    r = _bnnc("compile", str(onnx), "-o", str(out), "--board", "zcu104", "--verify", "--num-random", "4")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "verified:" in r.stdout and (out / "graph.json").is_file()
    assert json.loads((out / "build_config.json").read_text())["board"] == "ZCU104"


def test_explore_runs_without_torch(tmp_path):
    """The sweep's points run where only the compiler is installed (a Ray worker): here in-process (--workers 1)."""
    onnx = export(mlp(1, 1, seed=8), tmp_path / "m.onnx", (20,), dynamo=False)
    r = _bnnc("explore", str(onnx), "--boards", "Pynq-Z2", "--target-fps", "max", "--workers", "1",
              "-o", str(tmp_path / "dse"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(json.loads((tmp_path / "dse" / "explore.json").read_text())["points"]) == 1


def test_the_blocker_blocks():
    r = _bnnc("train", "--out", "x", "--dataset", "synthetic", "--epochs", "1")
    assert r.returncode != 0 and "torch is blocked" in r.stderr
