"""bnn.compress.run end to end on small synthetic data: a user's .npz dataset and ONNX teacher in, a verified family
out whose family.json matches the builds it names; an interrupted run continues where it stopped."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from bnn.compress import student_build
from bnn.compress.workflow import CompressConfig, CompressError, run
from bnn.datasets import load_npz, synthetic
from bnn.evaluate import evaluate
from bnn.loader import ImageDataset
from bnn.topologies import ModelSpec, hidden_widths
from bnn.train import model_from_checkpoint


@pytest.fixture(scope="module")
def user_files(tmp_path_factory):
    """A dataset as a user's .npz (uint8 images, 4 classes) and a teacher trained elsewhere, exported to ONNX."""
    d = tmp_path_factory.mktemp("user")
    tr, te = synthetic(384, seed=2, num_classes=4), synthetic(96, seed=2, split="test", num_classes=4)
    np.savez(d / "data.npz", x_train=tr.images[:, 0], y_train=tr.labels, x_test=te.images[:, 0], y_test=te.labels)
    torch.manual_seed(0)
    t = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.Adam(t.parameters(), 1e-2)
    x, y = torch.from_numpy(tr.images).float() / 255, torch.from_numpy(tr.labels)
    for _ in range(30):
        opt.zero_grad()
        nn.functional.cross_entropy(t(x), y).backward()
        opt.step()
    torch.onnx.export(t.eval(), x[:1], str(d / "teacher.onnx"), input_names=["x"], dynamic_axes={"x": {0: "n"}},
                      dynamo=False)
    return d


def _cfg(d, **kw):
    base = dict(teacher=str(d / "teacher.onnx"), dataset=str(d / "data.npz"), board="pynq-z2", target_fps=5000,
                student="tfc", input_bits=8, widths=(0.25, 1.0), epochs=2, batch_size=16, verify_samples=40,
                progress=False, device="cpu", threads=1)
    base.update(kw)
    return CompressConfig(**base)


def test_family_from_npz_and_onnx_teacher_matches_its_builds(user_files, tmp_path, one_thread):
    fam = run(_cfg(user_files), tmp_path / "f", log=lambda m: None)
    doc = json.loads((tmp_path / "f" / "family.json").read_text())
    assert doc["teacher"]["kind"] == "ONNX (onnxruntime)" and doc["teacher"]["accuracy"] > 0.5
    assert doc["dataset"]["num_classes"] == 4 and doc["dataset"]["test_size"] == 96
    test_set = ImageDataset(load_npz(user_files / "data.npz", "test"))
    assert [s["name"] for s in doc["students"]] == ["tfc-x0.25", "tfc-x1"] == [s.name for s in fam.students]
    for s in doc["students"]:
        build = Path(s["build"])
        report = json.loads((build / "report.json").read_text())
        verify = json.loads((build / "verify.json").read_text())
        assert s["estimate"]["lut"] == report["total"]["lut"] and s["estimate"]["fps"] == report["fps"]
        assert s["verify"]["output_mismatches"] == verify["output_mismatches"] == 0
        assert s["verify"]["inputs"] == verify["n_inputs"] and s["verify"]["dataset_inputs"] == 40
        assert s["export_check"]["mismatches"] == 0
        trained = json.loads((build.parent / "trained.json").read_text())
        assert s["widths"] == hidden_widths(ModelSpec(**trained["spec"]))
        assert s["bits"] == {"weight": [1, 1, 1, 1], "act": [1, 1, 1], "input": 8} and s["method"] == "supernet-anchor"
        assert s["lut_source"] == "estimated" and s["accuracy"]["n"] == 96
        # the accuracy is that of the checkpoint the build was made from, on the whole test set
        acc = evaluate(model_from_checkpoint(s["checkpoint"]), test_set).accuracy
        assert s["accuracy"]["value"] == acc
        state = torch.load(s["checkpoint"], weights_only=True)["model_state"]
        assert any(k.endswith("scaling_impl.value") for k in state)      # the learned 8-bit input scale
    assert doc["recommended"] in ("tfc-x0.25", "tfc-x1")
    assert (Path(doc["deploy"]) / "deploy.json").is_file() and (tmp_path / "f" / "family.png").stat().st_size > 1000


def test_an_interrupted_run_continues_from_the_last_finished_student(user_files, tmp_path, monkeypatch, one_thread):
    out = tmp_path / "r"
    real = student_build.build_student
    calls = []

    def interrupted(job):
        calls.append(job["name"])
        if job["name"] == "tfc-x1":
            raise KeyboardInterrupt
        return real(job)

    monkeypatch.setattr("bnn.compress.workflow.build_student", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(_cfg(user_files, epochs=1), out, log=lambda m: None)
    assert not (out / "family.json").exists()                     # no half-finished family
    first = out / "students" / "tfc-x0.25" / "build.json"
    stamp = first.stat().st_mtime_ns
    ckpt = (out / "supernet" / "last.pt").stat().st_mtime_ns
    monkeypatch.setattr("bnn.compress.workflow.build_student", real)
    log = []
    fam = run(_cfg(user_files, epochs=1), out, log=log.append)
    assert first.stat().st_mtime_ns == stamp                      # the finished student was not rebuilt
    assert (out / "supernet" / "last.pt").stat().st_mtime_ns == ckpt   # nor retrained
    assert not any("training" in m for m in log)
    assert [s.error for s in fam.students] == [None, None]
    with pytest.raises(CompressError, match="other settings.*epochs"):
        run(_cfg(user_files, epochs=3), out, log=lambda m: None)
