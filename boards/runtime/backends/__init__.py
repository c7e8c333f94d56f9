"""Backends move DMA-format bytes through an accelerator: `run(inbuf) -> (outbuf, device seconds)`.

inbuf is uint8 (N, input frame bytes) exactly as the AXI DMA reads it from memory; outbuf the same for the
output. Packing lives in boards.runtime.host_io, so every backend sees identical bytes.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

BACKENDS = ("sim", "csim", "rtlsim", "pynq")


class Backend(Protocol):
    name: str

    def run(self, inbuf: np.ndarray) -> tuple[np.ndarray, float]: ...

    def close(self) -> None: ...


def make_backend(name: str, deployment, **options) -> Backend:
    from boards.runtime.errors import AcceleratorError

    if name == "sim":
        from boards.runtime.backends.sim import SimBackend

        return SimBackend(deployment)
    if name == "csim":
        from boards.runtime.backends.csim import CsimBackend

        return CsimBackend(deployment)
    if name == "rtlsim":
        from boards.runtime.backends.rtlsim import RtlsimBackend

        return RtlsimBackend(deployment)
    if name == "pynq":
        from boards.runtime.backends.pynq_dma import PynqBackend

        return PynqBackend(deployment, **options)
    raise AcceleratorError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
