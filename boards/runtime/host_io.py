"""The one host-side path every backend shares: user images -> layer-0 integers -> DMA input bytes, and DMA
output bytes -> integers -> the model's outputs. A board therefore receives byte for byte what the simulator and
the C simulation were given (compiler.sim.packing's beat layout, docs/ir.md "Stream packing")."""
from __future__ import annotations

import numpy as np

from boards.runtime.deployment import Deployment
from boards.runtime.errors import AcceleratorError
from compiler import kinds
from compiler.sim.hostops import run_post, run_pre
from compiler.ir.graph import IRError
from compiler.sim.packing import pack_stream, unpack_stream

# Model-input ranges the bnn preprocessing produces (compiler/frontend/preprocess.py RANGES).
_RANGES = {"unit": (0.0, 1.0), "bipolar": (-1.0, 1.0)}


class HostIO:
    def __init__(self, deployment: Deployment):
        self.dep = deployment
        self.graph = deployment.graph
        self.pre = deployment.meta.get("preprocess")

    # ---- input ----------------------------------------------------------------------------------------
    def model_input(self, images) -> np.ndarray:
        """Validate a batch and return the float32 model input: raw uint8 images go through the training
        preprocessing recorded in deploy.json; float arrays must already be model inputs."""
        x = np.asarray(images)
        shape = tuple(self.graph.input.shape)
        if x.dtype == object or x.dtype.kind not in "uif":
            raise AcceleratorError(f"images must be a numeric array (uint8 images or float model inputs), got {x.dtype}")
        if x.ndim == 0:
            raise AcceleratorError(f"images must be a batch (N, {', '.join(map(str, shape))}), got a single number")
        if x.ndim == len(shape) and x.ndim >= 1 and (x.shape == shape or self._raw_frame_shape(x.shape)):
            raise AcceleratorError(f"got one image of shape {x.shape}: add a batch dimension, e.g. images[None]")
        if len(x) == 0:
            raise AcceleratorError("got an empty batch (0 images)")
        if x.dtype == np.uint8:
            return self._preprocess(x)
        if x.dtype.kind in "iu":
            raise AcceleratorError(f"integer images must be uint8 (raw pixels), got {x.dtype}; pass float32 model "
                                   "inputs otherwise")
        if tuple(x.shape[1:]) != shape:
            raise AcceleratorError(f"images have per-frame shape {tuple(x.shape[1:])}, the model takes {shape}")
        bad = ~np.isfinite(x)
        if bad.any():
            raise AcceleratorError(f"image value {x[tuple(np.argwhere(bad)[0])]} at index "
                                   f"{tuple(int(i) for i in np.argwhere(bad)[0])} is not finite")
        if self.pre and self.pre.get("range") in _RANGES:
            lo, hi = self._float_range(x)
            out = (x < lo) | (x > hi)
            if out.any():
                i = tuple(int(j) for j in np.argwhere(out)[0])
                what = "normalized range" if self.pre.get("mean") or self.pre.get("std") else "range"
                raise AcceleratorError(f"image value {float(x[i]):g} at index {i} is outside "
                                       f"[{float(np.broadcast_to(lo, x.shape)[i]):g}, "
                                       f"{float(np.broadcast_to(hi, x.shape)[i]):g}], the '{self.pre['range']}' "
                                       f"{what} the model was trained on; pass raw uint8 images to have them "
                                       "preprocessed")
        return x.astype(np.float32)

    def _float_range(self, x: np.ndarray):
        """(lo, hi) of a valid model input: the range, or with a normalization (mean/std) the preprocessed values
        of pixels 0 and 255 per channel (float32 rounding is monotone, so nothing in between leaves them)."""
        lo, hi = _RANGES[self.pre["range"]]
        if not (self.pre.get("mean") or self.pre.get("std")) or x.ndim < 3:
            return lo, hi
        units = (1,) * (x.ndim - 2)
        grid = np.broadcast_to(np.array([lo, hi], np.float32).reshape(2, 1, *units), (2, x.shape[1], *units))
        try:
            ends = np.asarray(self._preprocess_spec().normalized(np.array(grid)))
        except ValueError as e:
            raise AcceleratorError(f"images of shape {x.shape}: {e}") from None
        return np.minimum(ends[0], ends[1])[None], np.maximum(ends[0], ends[1])[None]

    def _raw_frame_shape(self, shape: tuple) -> bool:
        if not self.pre or len(shape) != 3:
            return False
        try:
            return tuple(self._preprocess_spec().out_shape(shape)) == tuple(self.graph.input.shape)
        except ValueError:
            return False

    def _preprocess_spec(self):
        from compiler.frontend.preprocess import Preprocess

        return Preprocess.from_dict(self.pre)

    def _preprocess(self, x: np.ndarray) -> np.ndarray:
        if not self.pre:
            raise AcceleratorError(f"{self.dep.path}: got uint8 images but deploy.json records no preprocessing "
                                   "(the model was not exported by `bnnc export`); pass float32 model inputs of "
                                   f"shape (N, {', '.join(map(str, self.graph.input.shape))})")
        if x.ndim != 4 and not (x.ndim == 3 and len(self.graph.input.shape) == 2):
            raise AcceleratorError(f"uint8 images must be (N, C, H, W), got shape {x.shape}")
        spec = self._preprocess_spec()
        try:
            y = spec.apply(x)
        except ValueError as e:
            raise AcceleratorError(f"images of shape {x.shape}: {e}") from None
        if tuple(y.shape[1:]) != tuple(self.graph.input.shape):
            raise AcceleratorError(f"uint8 images of shape {tuple(x.shape[1:])} become {tuple(y.shape[1:])} after "
                                   f"preprocessing, the model takes {tuple(self.graph.input.shape)}")
        return y

    def to_ints(self, images) -> np.ndarray:
        """Images -> the integers entering layer 0 (the graph's `input.pre`, as QONNX computes it)."""
        try:
            return run_pre(self.graph.input, self.model_input(images))
        except IRError as e:
            raise AcceleratorError(f"input: {e}") from None

    def pack(self, ints: np.ndarray) -> np.ndarray:
        """Layer-0 integers (N, ...) -> DMA input bytes (N, frame bytes), uint8."""
        try:
            return pack_stream(ints, self.dep.meta["input"])
        except IRError as e:
            raise AcceleratorError(f"input: {e}") from None

    # ---- output ---------------------------------------------------------------------------------------
    def unpack(self, data: np.ndarray) -> np.ndarray:
        """DMA output bytes (N, frame bytes) -> last layer's integers (N, *out_shape)."""
        try:
            return unpack_stream(np.asarray(data, np.uint8), self.dep.meta["output"])
        except IRError as e:
            raise AcceleratorError(f"output stream: {e}") from None

    def outputs(self, ints: np.ndarray) -> np.ndarray:
        """Last layer's integers -> what the QONNX model returns (output.post)."""
        return run_post(self.graph.output, ints)

    def labels(self, ints: np.ndarray) -> np.ndarray:
        """Top-1 class per frame: the LabelSelect index if the graph ends in one, else the argmax of the outputs."""
        if kinds.get(self.graph.layers[-1].kind).produces_labels:
            return np.asarray(ints).reshape(len(ints), -1)[:, 0].astype(np.int64)
        out = np.asarray(self.outputs(ints))
        return out.reshape(len(out), -1).argmax(axis=1)
