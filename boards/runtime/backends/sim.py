"""The NumPy simulator (compiler.sim.simulate, the IR's reference semantics) behind the DMA byte interface."""
from __future__ import annotations

import time

import numpy as np

from boards.runtime.errors import AcceleratorError
from compiler.ir.graph import IRError
from compiler.sim.packing import pack_stream, unpack_stream
from compiler.sim.simulate import Simulator


class SimBackend:
    name = "sim"

    def __init__(self, deployment):
        self.dep = deployment
        self.sim = Simulator(deployment.graph)

    def run(self, inbuf: np.ndarray) -> tuple[np.ndarray, float]:
        t0 = time.perf_counter()
        try:   # decode the bytes the DMA would send, exactly as the accelerator's input adapter reads them
            ints = unpack_stream(inbuf, self.dep.meta["input"])
            out = pack_stream(self.sim.run_layers(ints), self.dep.meta["output"])
        except IRError as e:
            raise AcceleratorError(f"simulator: {e}") from None
        return out, time.perf_counter() - t0

    def close(self) -> None:
        pass
