"""A deployment folder (written by `bnnc deploy`, see compiler/workflow/deploy.py) as the runtime reads it."""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from boards.runtime.errors import AcceleratorError
from boards.runtime.paths import confined
from boards.runtime.schema import check_deploy_json, check_packing, check_weights
from compiler.ir.graph import DataflowGraph, IRError
from compiler.sim.packing import frame_bytes


@dataclass
class Deployment:
    path: Path
    meta: dict
    graph: DataflowGraph
    #: the weight image of URAM weights (deploy.json "weights", checked against graph.json); None without them
    weight_image: bytes | None = None

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Deployment":
        path = Path(path)
        f = path / "deploy.json"
        if not f.is_file():
            raise AcceleratorError(f"{path}: not a deployment folder (no deploy.json); create one with "
                                   "`bnnc deploy BUILD_DIR -o DIR`")
        try:
            meta = json.loads(f.read_text())
        except ValueError as e:
            raise AcceleratorError(f"{f}: not valid JSON ({e})") from None
        check_deploy_json(meta, f)
        try:
            graph = DataflowGraph.load(path)
        except IRError as e:
            raise AcceleratorError(f"{path}: {e}") from None
        dep = cls(path, meta, graph)
        dep._check_consistent()
        return dep

    def _check_consistent(self) -> None:
        """deploy.json and graph.json must describe the same streams, or packing would silently disagree."""
        check_packing(self.meta, self.graph, self.path / "deploy.json")
        self.weight_image = check_weights(self.meta, self.graph, self.path, self.path / "deploy.json")

    def weights_file(self) -> Path | None:
        """The weight image's path (checked on load), or None when no weights are in URAM."""
        if self.weight_image is None:
            return None
        return confined(self.path, self.meta["weights"]["file"], "weights.file", self.path / "deploy.json")

    @property
    def name(self) -> str:
        return self.meta.get("name") or self.path.name

    def frame_bytes(self, side: str) -> int:
        """Bytes of one frame in the DMA buffer of `side` ('input' or 'output')."""
        return frame_bytes(self.meta[side])

    def bitstream(self) -> tuple[Path, Path]:
        """(.bit, .hwh); a clear error when the folder was deployed before a bitstream existed."""
        if not self.meta.get("bitfile") or not self.meta.get("hwh"):
            how = ("`bnnc bitstream BUILD_DIR --rtl` on a machine with Vivado, then `bnnc deploy --rtl`"
                   if self.meta.get("hardware") == "rtl" else
                   "`bnnc bitstream BUILD_DIR` on a machine with Vitis HLS + Vivado, then `bnnc deploy`")
            raise AcceleratorError(f"{self.path} has no bitstream: build one with {how} again (the 'sim', 'csim' "
                                   "and 'rtlsim' backends need no bitstream)")
        src = self.path / "deploy.json"
        bit, hwh = (confined(self.path, self.meta[k], k, src) for k in ("bitfile", "hwh"))
        for f in (bit, hwh):
            if not f.is_file():
                raise AcceleratorError(f"{f}: listed in deploy.json but missing")
        return bit, hwh

    def hls_project(self) -> Path:
        p = confined(self.path, self.meta.get("hls", "hls"), "hls", self.path / "deploy.json")
        if not (p / "project.json").is_file():
            raise AcceleratorError(f"{p}: no HLS sources in this deployment (needed by the 'csim' backend); "
                                   "run `bnnc deploy` again")
        return p

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """(raw uint8 images, labels) shipped in the folder for demos."""
        if not self.meta.get("samples"):
            raise AcceleratorError(f"{self.path}: no samples.npz (the training dataset was not available to "
                                   "`bnnc deploy`)")
        f = confined(self.path, self.meta["samples"], "samples", self.path / "deploy.json")
        try:
            with np.load(f, allow_pickle=False) as z:
                return z["images"], z["labels"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise AcceleratorError(f"{f}: not a samples file with 'images' and 'labels' ({e})") from None
