"""The NumPy simulator (compiler.simulate, the IR's reference semantics) behind the DMA byte interface."""
from __future__ import annotations

import time

import numpy as np

from boards.runtime.errors import AcceleratorError
from compiler.ir import IRError
from compiler.packing import pack_beats, unpack_beats
from compiler.simulate import Simulator


class SimBackend:
    name = "sim"

    def __init__(self, deployment):
        self.dep = deployment
        self.sim = Simulator(deployment.graph)

    def run(self, inbuf: np.ndarray) -> tuple[np.ndarray, float]:
        i, o = self.dep.meta["input"], self.dep.meta["output"]
        n = len(inbuf)
        t0 = time.perf_counter()
        try:   # decode the bytes the DMA would send, exactly as the accelerator's input adapter reads them
            ints = unpack_beats(inbuf, i["dtype"], i["elems_per_word"], i["axi_bytes"], int(np.prod(i["shape"])))
            y = self.sim.run_layers(ints.reshape(n, *i["shape"]))
            out = pack_beats(y.reshape(n, -1), o["dtype"], o["elems_per_word"], o["axi_bytes"])
        except IRError as e:
            raise AcceleratorError(f"simulator: {e}") from None
        return out.reshape(n, -1), time.perf_counter() - t0

    def close(self) -> None:
        pass
