"""Teachers users have: an ONNX file (run by onnxruntime, never retrained), a state dict with the user's factory,
and clear errors when a teacher does not fit the data."""
import pytest
import torch
from torch import nn

from bnn.compress.teacher import OnnxTeacher, TeacherError, check_teacher, load_teacher


def _torch_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10)).eval()


def _onnx(model, path, shape=(1, 1, 28, 28)):
    torch.onnx.export(model, torch.rand(*shape), str(path), input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False)
    return path


def test_onnx_teacher_gives_the_framework_models_outputs(tmp_path):
    model = _torch_model()
    t = load_teacher(_onnx(model, tmp_path / "t.onnx"))
    assert isinstance(t, OnnxTeacher) and not any(True for _ in t.parameters())
    x = torch.rand(5, 1, 28, 28)
    assert torch.allclose(t(x), model(x), atol=1e-5)
    check_teacher(t, x, 10, "t.onnx")


def test_onnx_teacher_takes_flat_inputs_other_ranges_and_exposes_features(tmp_path):
    inner = _torch_model()[1:]                        # a model of (N, 784) features, as a Keras MLP would be
    path = _onnx(inner, tmp_path / "flat.onnx", (1, 784))
    import onnx

    hidden = [n.output[0] for n in onnx.load(str(path)).graph.node if n.op_type == "Relu"][0]
    t = OnnxTeacher(path, input_range="bipolar", feature=hidden)
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        want = inner(x.flatten(1) * 2 - 1)
    assert torch.allclose(t(x), want, atol=1e-5)
    assert t.last_features.shape == (4, 16)
    with pytest.raises(TeacherError, match="no tensor named"):
        OnnxTeacher(path, feature="nope")


def test_teacher_errors_name_the_file_and_the_problem(tmp_path):
    path = _onnx(_torch_model(), tmp_path / "t.onnx")
    with pytest.raises(TeacherError, match=r"outputs shape \[3, 10\], expected logits \[3, 4\]"):
        check_teacher(load_teacher(path), torch.rand(3, 1, 28, 28), 4, "t.onnx")
    with pytest.raises(TeacherError, match="takes inputs of shape"):
        load_teacher(path)(torch.rand(2, 3, 32, 32))
    (tmp_path / "bad.onnx").write_bytes(b"junk")
    with pytest.raises(TeacherError, match="bad.onnx: not a readable ONNX file"):
        load_teacher(tmp_path / "bad.onnx")
    with pytest.raises(TeacherError, match="not an ONNX file, a checkpoint"):
        load_teacher(str(tmp_path / "missing.onnx"))


def test_state_dict_with_model_code(tmp_path):
    code = tmp_path / "net.py"
    code.write_text("from torch import nn\n\ndef make():\n    return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), "
                    "nn.ReLU(), nn.Linear(16, 10))\n")
    model = _torch_model()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    t = load_teacher(tmp_path / "w.pt", model_code=f"{code}:make")
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(t(x), model(x)) and not t.training and all(not p.requires_grad for p in t.parameters())
    torch.save({"state_dict": model.state_dict()}, tmp_path / "wrapped.pt")
    assert torch.equal(load_teacher(tmp_path / "wrapped.pt", model_code=f"{code}:make")(x), model(x))
    torch.save(nn.Linear(3, 3).state_dict(), tmp_path / "other.pt")
    with pytest.raises(TeacherError, match="do not fit"):
        load_teacher(tmp_path / "other.pt", model_code=f"{code}:make")
    with pytest.raises(TeacherError, match="has no callable 'nope'"):
        load_teacher(tmp_path / "w.pt", model_code=f"{code}:nope")
