"""A rough estimate of what g++ needs to compile a generated project's C simulation, so a build that would
take minutes or gigabytes is announced (with the estimate) before it starts instead of looking hung.

The cost is dominated by the constant memories in src/ (weights and thresholds as C++ initializers), so the
model is linear in the size of src/ above a fixed base. Constants from benchmarks/gxx_cost.py (g++ -O2 on
TFC/SFC/LFC-W1A1 unfolded: 0.5 MB of sources 14 s / 450 MB, 2.7 MB 12 s / 480 MB, 23 MB 154 s / 1.6 GB on a
2-core host); seconds scale with the host, so the estimate is stated as approximate.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BASE_SECONDS, SECONDS_PER_MB = 12.0, 6.6
BASE_MB, RSS_MB_PER_SOURCE_MB = 440.0, 50.0
WARN_SECONDS, WARN_MB = 60.0, 2048.0


@dataclass(frozen=True)
class GxxCost:
    source_mb: float
    seconds: float
    memory_mb: float

    @property
    def heavy(self) -> bool:
        return self.seconds > WARN_SECONDS or self.memory_mb > WARN_MB

    def describe(self) -> str:
        return (f"{self.source_mb:.1f} MB of generated C++: g++ needs roughly {self.seconds / 60:.0f} min and "
                f"{self.memory_mb / 1024:.1f} GB of memory (estimate; fold the large layers more, i.e. a "
                "larger pe/simd, to shrink the constant memories)")


def estimate_gxx(project: str | os.PathLike) -> GxxCost:
    """Estimated g++ time and peak memory for project/src (see the module docstring for the model)."""
    src = Path(project) / "src"
    mb = sum(f.stat().st_size for f in src.rglob("*") if f.is_file()) / 1e6 if src.is_dir() else 0.0
    return GxxCost(mb, max(BASE_SECONDS, SECONDS_PER_MB * mb), BASE_MB + RSS_MB_PER_SOURCE_MB * mb)
