"""Assemble a deployment folder for the board runtime: bitstream + hwh (when built), IR, stream metadata.

deploy/NAME/
  NAME.bit, NAME.hwh   from the HLS project's Vivado run, or with rtl=True (`bnnc deploy --rtl`) from the RTL
                       project's (BUILD/rtl, `bnnc bitstream --rtl`); absent until built (deploy.json says so);
                       deploy.json "hardware" says which, and "control"/"ip" give that bitstream's register layout
  graph.json, arrays.npz   the dataflow IR (host pre/post ops run from it)
  deploy.json          input/output shapes, dtypes, elements per word, word bytes, AXI beat bytes, control,
                       IP names, DMA limits, and the image preprocessing the model was trained with
  hls/                 the HLS sources (project.json, src, include, tb): the runtime's `csim` backend builds them
  samples.npz          a few raw test images + labels of the training dataset, when it is available
  weights.bin          the weight image of layers whose weights are in URAM (deploy.json "weights"): the runtime
                       streams it through the accelerator's weight-load mode when it opens the device
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from compiler.workflow.folder import staged_folder
from compiler.workflow.builds import project_for_build
from compiler.backends.tools import bitstream_files
from compiler.frontend import metadata
from diagnostics.errors import BnncError, CompileError


HLS_SOURCES = ("project.json", "src", "include", "tb")


#: (dataset name, n) -> (uint8 images (n, C, H, W), int labels (n,)); raises a BnncError when unavailable
SampleLoader = Callable[[str, int], "tuple[np.ndarray, np.ndarray]"]


def assemble_deploy(build_dir: str | os.PathLike, out_dir: str | os.PathLike, board: str | None = None,
                    clock_mhz: float | None = None, samples: int = 16,
                    load_samples: SampleLoader | None = None, force: bool = False,
                    folder_notes: list[str] | None = None, rtl: bool = False) -> dict:
    """Write out_dir atomically; returns the deploy.json contents. The HLS project (build_dir/hls) is
    regenerated first, which keeps its bitstream only if it was built from identical sources. `out_dir` is
    checked and locked first (compiler.workflow.folder): only an empty folder or an earlier deploy folder is
    replaced (any folder with `force`), never one holding the build; files bnnc did not write are kept and
    listed in `folder_notes`. rtl=True takes the bitstream of the RTL backend (BUILD/rtl, regenerated; used only
    if Vivado built it from identical sources for the same board and clock) and its control layout."""
    build_dir, out = Path(build_dir), Path(out_dir)
    with staged_folder(out, "deploy", force=force, inputs=[build_dir]) as stage:
        graph, proj = project_for_build(build_dir, board, clock_mhz)
        meta = {k: v for k, v in proj.meta.items() if k not in ("stages", "source_digest")}
        if rtl:
            bit, hwh, built, stem = _rtl_bitstream(graph, build_dir, proj, meta)
        else:
            bit, hwh = bitstream_files(proj.path)
            built, stem = bit.is_file() and hwh.is_file(), proj.meta["bitstream_stem"]
            meta["hardware"] = "hls"
        meta.update({"name": out.name, "bitfile": f"{stem}.bit" if built else None,
                     "hwh": f"{stem}.hwh" if built else None, "ir": ["graph.json", "arrays.npz"], "hls": "hls"})
        model = graph.meta.get("model", {})
        meta["preprocess"] = metadata.preprocess_of(model)    # None: the model was not exported by `bnnc export`
        meta["dataset"] = metadata.dataset_name_of(model)
        sample_arrays = _samples(meta["dataset"], samples, meta, load_samples)
        if not built:
            meta.setdefault("notes", []).append(
                f"no RTL bitstream of these sources yet: run `bnnc bitstream {build_dir} --rtl` (needs vivado), "
                "then deploy again with --rtl" if rtl else
                f"no bitstream yet: run `bnnc bitstream {build_dir}` (needs vitis_hls and vivado), then deploy again")
        tmp = stage.tmp
        try:
            for f in ("graph.json", "arrays.npz"):
                shutil.copyfile(build_dir / f, tmp / f)
            (tmp / "hls").mkdir()
            for f in HLS_SOURCES:
                src = proj.path / f
                if src.is_dir():
                    shutil.copytree(src, tmp / "hls" / f)
                else:
                    shutil.copyfile(src, tmp / "hls" / f)
            if sample_arrays is not None:
                np.savez(tmp / "samples.npz", **sample_arrays)
                meta["samples"] = "samples.npz"
            if "weights" in meta:           # URAM weights: the image the runtime loads on open
                shutil.copyfile(proj.path / meta["weights"]["file"], tmp / meta["weights"]["file"])
            if built:
                shutil.copyfile(bit, tmp / bit.name)
                shutil.copyfile(hwh, tmp / hwh.name)
            (tmp / "deploy.json").write_text(json.dumps(meta, indent=1) + "\n")
            kept = stage.commit()
        except OSError as e:
            raise CompileError(f"writing deploy folder {out} failed: {e}") from None
    if folder_notes is not None:
        folder_notes += [f"kept {k} (not written by bnnc deploy)" for k in kept]
    return meta


def _rtl_bitstream(graph, build_dir: Path, proj, meta: dict) -> tuple[Path, Path, bool, str]:
    """(bit, hwh, built, stem) of the RTL project of `graph`; switches meta to the RTL top's control layout."""
    from compiler.backends.rtl.project import generate_rtl
    from compiler.backends.rtl.vivado import bitstream_files as rtl_bitstream_files
    from compiler.backends.rtl.vivado import bitstream_stem, built_bitstream, control_metadata

    rtl_proj = generate_rtl(graph, build_dir / "rtl")
    for side in ("input", "output"):
        if rtl_proj.meta[side] != meta[side]:          # both come from compiler.backends.plan; a bug if not
            raise CompileError(f"the RTL top's {side} stream {rtl_proj.meta[side]} differs from the HLS top's "
                               f"{meta[side]}; deploy.json cannot describe both")
    stem = bitstream_stem(graph.name)
    found = built_bitstream(rtl_proj, stem, proj.board, proj.clock_mhz)
    bit, hwh = found or rtl_bitstream_files(rtl_proj, stem)
    meta.update(control_metadata(), hardware="rtl")
    return bit, hwh, found is not None, stem


def _samples(dataset: str | None, n: int, meta: dict, load: SampleLoader | None) -> dict | None:
    """The first n test images (raw uint8, NCHW) and labels of `dataset`, for demos on the board."""
    if n <= 0 or not dataset:
        return None
    if load is None:
        meta.setdefault("notes", []).append("no samples.npz: no dataset loader given (the CLI passes bnn's)")
        return None
    try:
        images, labels = load(dataset, n)
    except BnncError as e:
        meta.setdefault("notes", []).append(f"no samples.npz: {e}")
        return None
    return {"images": images, "labels": labels}
