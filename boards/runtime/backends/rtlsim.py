"""The generated Verilog (compiler.backends.rtl) co-simulated cycle by cycle with Verilator, fed the DMA bytes.

The deployment ships no RTL: it is regenerated from the deployment's IR (graph.json + params) into a cache
folder per deployment, and the Verilator build there is reused only while every generated source and the
library are unchanged (rtl.json source_digest), so what runs is always what the deployed IR means.
Needs the compiler installed (not the Pynq runtime subset) and Verilator on PATH.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from boards.runtime.errors import AcceleratorError

CACHE_ENV = "BNNC_CACHE_DIR"


def cache_dir(deploy_path: Path) -> Path:
    """Where the RTL of a deployment is generated and built: $BNNC_CACHE_DIR (default ~/.cache/bnnc)/rtlsim/..."""
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "bnnc")
    key = hashlib.sha256(str(Path(deploy_path).resolve()).encode()).hexdigest()[:16]
    return root / "rtlsim" / f"{Path(deploy_path).name or 'deploy'}-{key}"


class RtlsimBackend:
    name = "rtlsim"

    def __init__(self, deployment):
        try:
            from compiler.backends.rtl.project import generate_rtl
            from compiler.backends.rtl.verilator import build, default_jobs
            from diagnostics.errors import BnncError
        except ImportError as e:
            raise AcceleratorError(f"rtlsim backend: needs the bnnc compiler installed ({e})") from None
        self.project_dir = cache_dir(deployment.path)
        try:
            self.project = generate_rtl(deployment.graph, self.project_dir)
            for side in ("input", "output"):
                if self.project.meta[side] != deployment.meta[side]:
                    raise AcceleratorError(f"rtlsim backend: the RTL's {side} stream {self.project.meta[side]} "
                                           f"differs from deploy.json's {deployment.meta[side]}")
            self.exe, self.build_seconds, self.reused = build(self.project, default_jobs())
        except BnncError as e:
            raise AcceleratorError(f"rtlsim backend: {e}") from None
        except OSError as e:
            raise AcceleratorError(f"rtlsim backend: cannot build in {self.project_dir}: {e}") from None
        self.clock_mhz = float(deployment.meta["clock_mhz"])
        self.last_stats: dict = {}

    def run(self, inbuf: np.ndarray) -> tuple[np.ndarray, float]:
        """DMA bytes through bnnc_top; device seconds = simulated cycles at the deployment's clock."""
        from compiler.backends.rtl.verilator import run_bytes
        from diagnostics.errors import BnncError

        try:
            out, stats = run_bytes(self.project, inbuf)
        except BnncError as e:
            raise AcceleratorError(f"rtlsim backend: {e}") from None
        self.last_stats = stats
        return out, float(stats["cycles"]) / (self.clock_mhz * 1e6)

    def close(self) -> None:
        pass
