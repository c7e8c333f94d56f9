"""Assemble a deployment folder for the board runtime: bitstream + hwh (when built), IR, stream metadata.

deploy/NAME/
  NAME.bit, NAME.hwh   from the HLS project's Vivado run (absent until built; deploy.json says so)
  graph.json, arrays.npz   the dataflow IR (host pre/post ops run from it)
  deploy.json          input/output shapes, dtypes, elements per word, word bytes, AXI beat bytes, control
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from compiler.codegen.project import project_for_build
from compiler.codegen.tools import bitstream_files
from compiler.errors import CompileError


def assemble_deploy(build_dir: str | os.PathLike, out_dir: str | os.PathLike, board: str | None = None,
                    clock_mhz: float | None = None) -> dict:
    """Write out_dir atomically; returns the deploy.json contents. The HLS project (build_dir/hls) is
    regenerated first, which keeps its bitstream only if it was built from identical sources."""
    build_dir, out = Path(build_dir), Path(out_dir)
    _, proj = project_for_build(build_dir, board, clock_mhz)
    bit, hwh = bitstream_files(proj.path)
    built = bit.is_file() and hwh.is_file()
    stem = proj.meta["bitstream_stem"]
    meta = {k: v for k, v in proj.meta.items() if k not in ("stages", "source_digest")}
    meta.update({"name": out.name, "bitfile": f"{stem}.bit" if built else None,
                 "hwh": f"{stem}.hwh" if built else None, "ir": ["graph.json", "arrays.npz"]})
    if not built:
        meta["notes"] = [f"no bitstream yet: run `bnnc bitstream {build_dir}` (needs vitis_hls and vivado), "
                         "then deploy again"]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for f in ("graph.json", "arrays.npz"):
            shutil.copyfile(build_dir / f, tmp / f)
        if built:
            shutil.copyfile(bit, tmp / bit.name)
            shutil.copyfile(hwh, tmp / hwh.name)
        (tmp / "deploy.json").write_text(json.dumps(meta, indent=1) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise CompileError(f"writing deploy folder {out} failed: {e}") from None
        raise
    return meta
