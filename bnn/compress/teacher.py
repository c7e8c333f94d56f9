"""The teacher: any float `nn.Module`, a bnnc checkpoint, an ONNX file from any framework (run by onnxruntime), or
a user's `file.py:factory` with a state dict -- frozen, never retrained.

Distillation only ever reads the teacher, so it is frozen here once: no parameter gets a gradient and BatchNorm
statistics cannot drift while students train. An ONNX teacher (exported from PyTorch, Keras via tf2onnx, JAX, ...)
is an `nn.Module` with no parameters whose forward pass calls onnxruntime, so the training loops treat every kind
the same.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from diagnostics.errors import BnncError

INPUT_RANGES = ("unit", "bipolar", "raw")   # what the teacher was trained on: [0, 1], [-1, 1] or 0..255


class TeacherError(BnncError, ValueError):
    """A teacher cannot be loaded or does not fit the data; the message names the file and what is wrong."""


def freeze(model: nn.Module) -> nn.Module:
    """Eval mode and requires_grad=False on every parameter; returns the same module."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


class OnnxTeacher(nn.Module):
    """A trained model in ONNX, run by onnxruntime on the students' input (reshaped to the file's input shape).

    `input_range` says what the teacher expects: the students take [0, 1] images ('unit'); 'bipolar' maps them to
    [-1, 1], 'raw' back to 0..255. `feature` names an intermediate tensor of the graph to expose as
    `last_features` after each call (feature distillation); None exposes nothing.
    """

    def __init__(self, path: str | os.PathLike, input_range: str = "unit", feature: str | None = None,
                 device: str = "cpu"):
        super().__init__()
        import onnx
        import onnxruntime as ort

        self.path = Path(path)
        if input_range not in INPUT_RANGES:
            raise TeacherError(f"teacher input range must be one of {INPUT_RANGES}, got {input_range!r}")
        self.input_range, self.feature, self.last_features = input_range, feature, None
        try:
            proto = onnx.load(str(self.path))
        except Exception as e:
            raise TeacherError(f"{self.path}: not a readable ONNX file ({type(e).__name__}: {e})") from None
        if feature is not None:
            names = {o for n in proto.graph.node for o in n.output}
            if feature not in names:
                raise TeacherError(f"{self.path}: no tensor named {feature!r} to take features from")
            proto.graph.output.append(onnx.helper.make_empty_tensor_value_info(feature))
        providers = ["CPUExecutionProvider"]
        if str(device).startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, torch.get_num_threads())
        try:
            self.session = ort.InferenceSession(proto.SerializeToString(), opts, providers=providers)
        except Exception as e:
            raise TeacherError(f"{self.path}: onnxruntime cannot run it ({type(e).__name__}: {e})") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise TeacherError(f"{self.path}: the teacher must take one input, it takes {len(inputs)} "
                               f"({', '.join(i.name for i in inputs)})")
        self.input_name = inputs[0].name
        self.input_shape = [d if isinstance(d, int) else None for d in inputs[0].shape]
        self.output_name = self.session.get_outputs()[0].name

    def _feed(self, x: torch.Tensor) -> np.ndarray:
        x = x.detach().float()
        if self.input_range == "bipolar":
            x = x * 2 - 1
        elif self.input_range == "raw":
            x = x * 255
        a = x.cpu().numpy()
        per_sample = self.input_shape[1:]
        if per_sample and all(d is not None for d in per_sample) and list(a.shape[1:]) != per_sample:
            if int(np.prod(per_sample)) != int(np.prod(a.shape[1:])):
                raise TeacherError(f"{self.path}: the teacher takes inputs of shape {per_sample} per sample, the "
                                   f"students' inputs are {list(a.shape[1:])}")
            a = a.reshape(len(a), *per_sample)
        return np.ascontiguousarray(a, dtype=np.float32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        names = [self.output_name] + ([self.feature] if self.feature else [])
        outs = self.session.run(names, {self.input_name: self._feed(x)})
        if self.feature:
            self.last_features = torch.from_numpy(outs[1]).to(x.device).flatten(1)
        logits = torch.from_numpy(np.asarray(outs[0], np.float32)).to(x.device)
        return logits.reshape(len(x), -1)


def _load_factory(spec: str) -> nn.Module:
    """`file.py:factory` -> the module factory() returns (the user's own code, named on their command line)."""
    path, _, name = spec.rpartition(":")
    file = Path(path)
    if not file.is_file() or not name:
        raise TeacherError(f"--model-code {spec!r}: expected FILE.py:FACTORY with an existing file")
    mod_spec = importlib.util.spec_from_file_location(f"bnnc_teacher_{file.stem}", file)
    module = importlib.util.module_from_spec(mod_spec)
    try:
        mod_spec.loader.exec_module(module)
    except Exception as e:
        raise TeacherError(f"{file}: importing it failed ({type(e).__name__}: {e})") from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise TeacherError(f"{file} has no callable {name!r}")
    try:
        model = fn()
    except TypeError as e:
        raise TeacherError(f"{file}:{name}() must build the model with no arguments ({e})") from None
    if not isinstance(model, nn.Module):
        raise TeacherError(f"{file}:{name} returned {type(model).__name__}, not a torch.nn.Module")
    return model


def _state_dict(path: Path) -> dict:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise TeacherError(f"{path}: not a readable state dict ({type(e).__name__}: {e})") from None
    if isinstance(obj, dict):
        for key in ("model_state", "state_dict", "model_state_dict"):   # bnnc, Lightning-style, common scripts
            if isinstance(obj.get(key), dict):
                return obj[key]
        if all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise TeacherError(f"{path}: expected a state dict (name -> tensor), got {type(obj).__name__}")


def load_teacher(source: nn.Module | str | os.PathLike, model_code: str | None = None, input_range: str = "unit",
                 feature: str | None = None, device: str = "cpu") -> nn.Module:
    """A frozen teacher from a module, an ONNX file, a bnnc checkpoint (.pt), `model_code` ('file.py:factory')
    with `source` its state dict, or a bare 'file.py:factory' (weights as built)."""
    if isinstance(source, nn.Module):
        return freeze(source)
    text = str(source)
    path = Path(text)
    if model_code is not None:
        if not path.is_file():
            raise TeacherError(f"--teacher {text}: no such weights file (with --model-code, --teacher is the "
                               "state dict of the factory's model)")
        model = _load_factory(model_code)
        try:
            model.load_state_dict(_state_dict(path))
        except RuntimeError as e:
            raise TeacherError(f"{path}: the weights do not fit {model_code}: {e}") from None
        return freeze(model)
    if path.is_file() and path.suffix.lower() == ".onnx":
        return freeze(OnnxTeacher(path, input_range, feature, device))
    if path.is_file():
        from bnn.train import TrainError, model_from_checkpoint

        try:
            return freeze(model_from_checkpoint(text))
        except TrainError as e:
            raise TeacherError(f"{e} (an ONNX teacher needs the .onnx suffix; a plain state dict needs "
                               "--model-code FILE.py:FACTORY)") from None
    if ":" in text and Path(text.rpartition(":")[0]).is_file():
        from bnn.topologies import from_spec, make_spec

        return freeze(from_spec(make_spec(text, None, None)))
    raise TeacherError(f"teacher {text!r}: not an ONNX file, a checkpoint, nor 'file.py:factory'")


def check_teacher(teacher: nn.Module, x: torch.Tensor, num_classes: int, name: str) -> None:
    """One forward pass on a few real inputs before any training: logits (N, num_classes), finite."""
    try:
        with torch.no_grad():
            out = teacher(x)
    except TeacherError:
        raise
    except Exception as e:
        raise TeacherError(f"teacher {name}: its forward pass fails on the dataset's inputs of shape "
                           f"{list(x.shape[1:])} ({type(e).__name__}: {e})") from None
    if out.ndim != 2 or out.shape[0] != len(x) or out.shape[1] != num_classes:
        raise TeacherError(f"teacher {name}: outputs shape {list(out.shape)}, expected logits "
                           f"[{len(x)}, {num_classes}] for the dataset's {num_classes} classes")
    if not torch.isfinite(out).all():
        raise TeacherError(f"teacher {name}: outputs NaN or infinite values on the dataset's inputs")
