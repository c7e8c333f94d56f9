"""`Accelerator`: one API for the board (pynq), the NumPy simulator (sim) and the g++ C simulation (csim)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from boards.runtime.backends import BACKENDS, make_backend
from boards.runtime.deployment import Deployment
from boards.runtime.errors import AcceleratorError
from boards.runtime.host_io import HostIO
from diagnostics import progress

DEFAULT_BATCH = 256


@dataclass
class RunResult:
    outputs: np.ndarray        # what the model returns (QONNX output), (N, ...)
    labels: np.ndarray         # top-1 class per frame
    frames: int
    batches: int               # accelerator calls (DMA transfers) made
    device_seconds: float      # inside the backend: DMA start to last word back (pynq), bnnc_top (csim), simulator
    wall_seconds: float        # the whole call, host preprocessing and packing included
    backend: str

    @property
    def fps(self) -> float:
        """Frames per second of the accelerator (device time)."""
        return self.frames / self.device_seconds if self.device_seconds > 0 else float("inf")

    @property
    def latency_ms(self) -> float:
        """Mean time per accelerator call, in ms (the per-frame latency when batch_size=1)."""
        return 1e3 * self.device_seconds / max(1, self.batches)

    @property
    def host_fps(self) -> float:
        return self.frames / self.wall_seconds if self.wall_seconds > 0 else float("inf")


class Accelerator:
    """A deployed network. `backend`: 'pynq' on a board, 'sim', 'csim' or 'rtlsim' (Verilator) anywhere; all share HostIO, so
    each sees the same DMA bytes for the same images.

    batch_size: frames per accelerator call (DMA transfer); buffers are allocated once for it and reused.
    timeout_s: how long a DMA wait may take before AcceleratorTimeout (pynq backend)."""

    def __init__(self, deploy_dir: str | os.PathLike, backend: str = "sim", batch_size: int = DEFAULT_BATCH,
                 timeout_s: float = 5.0, **backend_options):
        if backend not in BACKENDS:
            raise AcceleratorError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
        self.deployment = Deployment.load(deploy_dir)
        self.io = HostIO(self.deployment)
        limit = int(self.deployment.meta["dma"]["max_transfer_bytes"])
        per_frame = max(self.deployment.frame_bytes("input"), self.deployment.frame_bytes("output"))
        if per_frame > limit:
            raise AcceleratorError(f"one frame ({per_frame} bytes) exceeds the DMA transfer limit of {limit} bytes")
        self.max_batch = limit // per_frame
        self.batch_size = batch_size
        if backend == "pynq":
            backend_options["timeout_s"] = timeout_s
        self.backend = make_backend(backend, self.deployment, **backend_options)

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @batch_size.setter
    def batch_size(self, n: int) -> None:
        """Frames per call; capped so one DMA transfer stays under the DMA's length limit."""
        if int(n) < 1:
            raise AcceleratorError(f"batch_size must be at least 1, got {n}")
        self._batch_size = min(int(n), self.max_batch)

    def __repr__(self) -> str:
        i, o = self.deployment.meta["input"], self.deployment.meta["output"]
        return (f"Accelerator({self.deployment.name!r}, backend={self.backend.name!r}, board="
                f"{self.deployment.meta.get('board')!r}, in {i['shape']} {i['dtype']} -> out {o['shape']} "
                f"{o['dtype']}, batch_size={self.batch_size})")

    def run(self, images) -> RunResult:
        """Classify a batch (raw uint8 (N, C, H, W) images or float model inputs); outputs and timing."""
        t0 = time.perf_counter()
        data = self.io.pack(self.io.to_ints(images))
        out, device, calls = self._transfer(data)
        ints = self.io.unpack(out)
        outputs, labels = self.io.outputs(ints), self.io.labels(ints)
        return RunResult(outputs, labels, len(data), calls, device, time.perf_counter() - t0, self.backend.name)

    def _transfer(self, data: np.ndarray) -> tuple[np.ndarray, float, int]:
        """DMA input bytes -> (DMA output bytes, device seconds, accelerator calls), batch_size frames per call."""
        expect = self.deployment.frame_bytes("output")
        outs, device = [], 0.0
        for s in progress.batches(len(data), self.batch_size, f"{self.backend.name} accelerator run"):
            chunk = data[s : s + self.batch_size]
            out, seconds = self.backend.run(chunk)
            if out.shape != (len(chunk), expect):
                raise AcceleratorError(f"backend {self.backend.name!r} returned {out.shape} bytes for {len(chunk)} "
                                       f"frames, expected ({len(chunk)}, {expect})")
            outs.append(out)
            device += seconds
        return np.concatenate(outs), device, len(outs)

    def predict(self, images) -> np.ndarray:
        """Top-1 class per image."""
        return self.run(images).labels

    def raw(self, images) -> tuple[np.ndarray, np.ndarray]:
        """(DMA input bytes, DMA output bytes) for `images`: what crossed the AXI streams, for cross-checks."""
        data = self.io.pack(self.io.to_ints(images))
        return data, self._transfer(data)[0]

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> "Accelerator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
