"""Shared by the simulator benchmarks: the standard topologies, untrained but with calibrated random BatchNorm
statistics (so every activation layer produces a real mix of levels, not a constant), exported and compiled.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from bnn.datasets import load_dataset, preprocess_for  # noqa: E402
from bnn.export import export_qonnx  # noqa: E402
from bnn.quant import parse_bits  # noqa: E402
from bnn.topologies import build  # noqa: E402

from bnn.calibrate import calibrate_bn  # noqa: E402  (one implementation, shared with the tests)

IN_SHAPE = {"tfc": (1, 28, 28), "sfc": (1, 28, 28), "lfc": (1, 28, 28), "cnv": (1, 32, 32)}


def fmnist(name: str, n: int, split: str = "test") -> np.ndarray:
    """First `n` Fashion-MNIST images of `split`, preprocessed exactly as bnnc does for topology `name`."""
    data = load_dataset("fashion-mnist", split=split).subset(n)
    return preprocess_for(name, data.shape).apply(data.images)


def calibrated_model(name: str, bits: str, calib: np.ndarray, seed: int = 0) -> nn.Module:
    """Standard topology with BatchNorm calibrated on `calib` and randomised (tests' brevitas_models.calibrate_bn:
    measured pre-BN mean/var, thresholds moved inside the data, gamma scaled to the next quantizer's range,
    every other channel negated)."""
    wb, ab = parse_bits(bits)
    torch.manual_seed(seed)
    return calibrate_bn(build(name, wb, ab, in_channels=1), calib, seed + 1).eval()


def export_and_compile(name: str, bits: str, work: Path, seed: int = 0):
    """(onnx path, DataflowGraph, torch model) for a calibrated `name`-`bits` model, built under `work`."""
    from compiler.workflow.compile import compile_model

    model = calibrated_model(name, bits, fmnist(name, 256, split="train"), seed)
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"{name}-{bits}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, path, IN_SHAPE[name])
        graph = compile_model(path, work / f"{name}-{bits}.build")
    return path, graph, model


def varying_channels(graph, layer_outputs: list[np.ndarray]) -> float:
    """Fraction of (thresholded layer, channel) pairs whose output takes at least two values over the inputs."""
    hits = total = 0
    for layer, y in zip(graph.layers, layer_outputs):
        if layer.kind not in ("MVTU", "Thresholding") or layer.attrs.get("noact"):
            continue
        y = y.reshape(-1, y.shape[-1])
        hits += int((y.min(0) != y.max(0)).sum())
        total += y.shape[-1]
    return hits / max(total, 1)
