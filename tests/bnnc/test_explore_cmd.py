"""`bnnc explore` through the local executor: 2 boards x 2 FPS targets, its table and files, resume, clear errors
before any work (bad board or FPS, --cluster without Ray or without a cluster)."""
import json
import sys
import time

import pytest
from click.testing import CliRunner

from bnnc import main
from brevitas_models import export, mlp


@pytest.fixture(scope="module")
def onnx(tmp_path_factory):
    return export(mlp(1, 1, seed=8), tmp_path_factory.mktemp("m") / "m.onnx", (20,), dynamo=False)


def test_explore_two_boards_two_targets(onnx, tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    out = tmp_path / "dse"
    args = ["explore", str(onnx), "--boards", "Pynq-Z2,Ultra96-V2", "--target-fps", "50000,max", "--workers", "2",
            "-o", str(out)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "4 points (Pynq-Z2, Ultra96-V2 x 50000, max FPS) on the local executor, pool of 2 processes" in r.output
    for key in ("Pynq-Z2_50000fps", "Pynq-Z2_maxfps", "Ultra96-V2_50000fps", "Ultra96-V2_maxfps"):
        assert key in r.output and (out / "items" / f"{key}.json").is_file()
    assert "FPS est" in r.output and "est = compiler.estimate.cost estimate" in r.output
    doc = json.loads((out / "explore.json").read_text())
    assert [(e["board"], e["target_fps"]) for e in doc["points"]] == [
        ("Pynq-Z2", 50000.0), ("Pynq-Z2", "max"), ("Ultra96-V2", 50000.0), ("Ultra96-V2", "max")]
    assert all(e["fits"] and (out / e["build"] / "graph.json").is_file() for e in doc["points"])
    assert (out / "explore.png").is_file()
    again = CliRunner().invoke(main, args[:-4] + ["--workers", "1", "-o", str(out)])
    assert again.exit_code == 0, again.output
    assert "4 of 4 items already done" in again.output and "0 ran ok, 4 already done" in again.output
    assert json.loads((out / "explore.json").read_text())["points"] == doc["points"]


@pytest.mark.parametrize("opt, value, message", [
    ("--boards", "Pynq-Z2,NoSuchBoard", "--boards: unknown board 'NoSuchBoard'"),
    ("--target-fps", "1000,0", "--target-fps value '0'"),
])
def test_bad_values_are_refused_before_any_work(onnx, tmp_path, opt, value, message):
    args = {"--boards": "Pynq-Z2", "--target-fps": "1000", opt: value}
    r = CliRunner().invoke(main, ["explore", str(onnx), *sum(([k, v] for k, v in args.items()), []),
                                  "-o", str(tmp_path / "o")])
    assert r.exit_code == 1 and message in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()


def test_cluster_without_ray_is_a_clear_error(onnx, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)          # import ray -> ImportError, as without the extra
    r = CliRunner().invoke(main, ["explore", str(onnx), "--boards", "Pynq-Z2", "--target-fps", "1000",
                                  "--cluster", "auto", "-o", str(tmp_path / "o")])
    assert r.exit_code == 1 and "needs Ray, which is not installed: pip install 'bnnc[ray]'" in r.output
    assert not (tmp_path / "o").exists()


def test_unreachable_cluster_is_a_clear_error_within_seconds(onnx, tmp_path):
    pytest.importorskip("ray", reason="ray not installed (pip install 'bnnc[ray]')")
    base = ["explore", str(onnx), "--boards", "Pynq-Z2", "--target-fps", "1000", "-o", str(tmp_path / "o")]
    t0 = time.monotonic()
    r = CliRunner().invoke(main, base + ["--cluster", "127.0.0.1:1"])
    assert r.exit_code == 1 and "Ray cluster at 127.0.0.1:1 cannot be reached" in r.output
    assert time.monotonic() - t0 < 10 and not (tmp_path / "o").exists()
