"""The generated HLS C++ (hls/ sources in the deployment) compiled with g++, fed the DMA bytes as a file.

The sources are checked against the deployment's IR first (content digest): sources that differ from what
graph.json generates are regenerated from it, so neither edited C++ nor a stale binary is ever run."""
from __future__ import annotations

import numpy as np

from boards.runtime.errors import AcceleratorError
from diagnostics.errors import CompileError


class CsimBackend:
    name = "csim"

    def __init__(self, deployment):
        from compiler.backends.hls.csim import compile_csim
        from compiler.ir.graph import IRError
        from compiler.backends.hls.project import regenerate_if_changed

        self.project = deployment.hls_project()
        # URAM weights: every run streams the deployment's weight image through bnnc_top's load mode first,
        # the path the board takes when it opens the device (the testbench keeps no state between runs)
        self.weights = deployment.weights_file()
        meta = deployment.meta
        try:
            self.regenerated = regenerate_if_changed(deployment.graph, self.project, meta["board"],
                                                     float(meta["clock_mhz"]))
            self.exe, self.compile_seconds, self.reused = compile_csim(self.project)
        except (CompileError, IRError, KeyError, ValueError) as e:
            raise AcceleratorError(f"csim backend: {e}") from None
        except OSError as e:         # e.g. a read-only deployment folder: the binary is built inside it
            raise AcceleratorError(f"csim backend: cannot build in {self.project}: {e}") from None

    def run(self, inbuf: np.ndarray) -> tuple[np.ndarray, float]:
        from compiler.backends.hls.csim import run_csim_bytes

        try:
            return run_csim_bytes(self.project, inbuf, batch=max(1, len(inbuf)), exe=self.exe, weights=self.weights)
        except CompileError as e:
            raise AcceleratorError(f"csim backend: {e}") from None

    def close(self) -> None:
        pass
