"""Export to QONNX, and the check that the exported file computes exactly what the Brevitas module does."""
from __future__ import annotations

import functools
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from diagnostics.errors import BnncError


class ExportError(BnncError, RuntimeError):
    """Export failed or the exported graph does not reproduce the module."""


@functools.cache
def _build_torchlib_list_once() -> None:
    """torch's dynamo exporter rebuilds its registry of onnxscript's torchlib functions on every export, building
    each function's IR only to read its domain: ~0.3 of the ~1.3 CPU-s a small model's export takes. The list is
    the same throughout a process (module-level functions, registered when onnxscript's torch_lib is imported), so
    it is built once; each export still gets its own registry. A torch without this hook is left as it is."""
    try:
        from torch.onnx._internal._lazy_import import onnxscript_apis
        ops = onnxscript_apis.get_torchlib_ops
    except (ImportError, AttributeError):
        return
    # an instance attribute of torch's lazy module object, found before its __getattr__ forwards to onnxscript
    onnxscript_apis.get_torchlib_ops = functools.cache(ops)


def export_qonnx(model: nn.Module, path: str | os.PathLike, in_shape: tuple[int, ...],
                 metadata: dict[str, str] | None = None, dynamo: bool = True) -> Path:
    """Export `model` (eval mode) to QONNX at `path`, cleaned up by qonnx; the file appears only when complete.

    `metadata` goes into the model's metadata_props (e.g. the input preprocessing, which the compiler carries on
    to the board runtime so it can turn raw images into exactly the input the model was trained on).
    `dynamo=False` uses torch's TorchScript exporter: ~10x faster, for callers that export many candidates
    (bnn.compress prices widths this way; tests check both paths give the same graph cost)."""
    from brevitas.export import export_qonnx as brevitas_export
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    if dynamo:
        _build_torchlib_list_once()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    final_tmp = path.parent / f".{path.name}.partial"
    try:
        with tempfile.TemporaryDirectory(prefix="bnnc-export-") as work:
            raw = os.path.join(work, "raw.onnx")  # the torch exporter may write a sidecar .data file here
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                brevitas_export(model, input_t=torch.rand(1, *in_shape), export_path=raw, dynamo=dynamo)
            clean = cleanup_model(ModelWrapper(raw))
            for key, value in (metadata or {}).items():
                clean.set_metadata_prop(str(key), str(value))
            clean.save(str(final_tmp))
        os.replace(final_tmp, path)
    except Exception as e:
        final_tmp.unlink(missing_ok=True)
        raise ExportError(f"exporting {type(model).__name__} to {path} failed: {e}") from e
    finally:
        model.train(was_training)
    return path


class QonnxRunner:
    """Runs a QONNX file with qonnx's reference executor on batches (re-batching the graph once per size)."""

    def __init__(self, path: str | os.PathLike):
        from qonnx.core.modelwrapper import ModelWrapper

        self.path = Path(path)
        if not self.path.is_file():
            raise ExportError(f"{self.path}: no such QONNX file")
        self._base = ModelWrapper(str(self.path))
        self._by_batch: dict[int, object] = {}

    def _model(self, n: int):
        if n not in self._by_batch:
            from qonnx.transformation.change_batchsize import ChangeBatchSize
            from qonnx.transformation.infer_shapes import InferShapes

            self._by_batch[n] = self._base.transform(ChangeBatchSize(n)).transform(InferShapes())
        return self._by_batch[n]

    def __call__(self, x: np.ndarray, batch: int = 100) -> np.ndarray:
        from qonnx.core.onnx_exec import execute_onnx

        x = np.asarray(x, dtype=np.float32)
        outs = []
        for i in range(0, len(x), batch):
            chunk = x[i : i + batch]
            m = self._model(len(chunk))
            outs.append(execute_onnx(m, {m.graph.input[0].name: chunk})[m.graph.output[0].name])
        return np.concatenate(outs)


@dataclass
class ExportCheck:
    n_inputs: int
    mismatches: int          # inputs whose output differs in any element (exact comparison)
    max_abs_diff: float
    argmax_mismatches: int

    @property
    def exact(self) -> bool:
        return self.mismatches == 0


def check_export(model: nn.Module, path: str | os.PathLike, x: np.ndarray | torch.Tensor) -> ExportCheck:
    """Compare QONNX execution of `path` with the Brevitas module on inputs `x`, element for element."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    model.eval()
    with torch.no_grad():
        ref = model(x).numpy()
    got = QonnxRunner(path)(x.numpy())
    if got.shape != ref.shape:
        raise ExportError(f"{path}: output shape {got.shape} differs from the module's {ref.shape}")
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    return ExportCheck(
        n_inputs=len(x),
        mismatches=int((got != ref).reshape(len(x), -1).any(axis=1).sum()),
        max_abs_diff=float(diff.max(initial=0.0)),
        argmax_mismatches=int((got.argmax(-1) != ref.argmax(-1)).sum()),
    )
