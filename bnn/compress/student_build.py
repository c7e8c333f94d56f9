"""One student from checkpoint to verified hardware: QONNX export (checked against the module), compile with
verification (compiler.workflow.pipeline.build), and optionally RTL co-simulation (Verilator) and Yosys synthesis.

`build_student` is a module-level function of one JSON-serialisable job returning JSON-serialisable figures, so
the family's students can be built in parallel by an executor (Ray or local processes) as well as in a loop. Every
figure it returns names its source. The figures are written last, atomically, to FOLDER/build.json: a student
whose build.json exists is finished (a rerun skips it).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from scaleout.store import write_atomic

BUILD_JSON = "build.json"


def write_json_atomic(path: Path, doc) -> Path:
    """Write JSON atomically (scaleout.store.write_atomic: temporary file + os.replace): a crash never leaves half a
    file."""
    path = Path(path)
    write_atomic(path, json.dumps(doc, indent=1, default=str) + "\n")
    return path


def finished(folder: str | os.PathLike) -> dict | None:
    """The figures of a student already built in `folder`, or None."""
    f = Path(folder) / BUILD_JSON
    try:
        return json.loads(f.read_text())
    except (OSError, ValueError):
        return None


def build_student(job: dict) -> dict:
    """job: name, checkpoint, folder, verify_inputs (.npy of model inputs), board, target_fps, margin, rtl, synth,
    rtl_frames. Returns (and writes to folder/build.json) the export check, the compile's verification, the
    folded design's estimate, and rtlsim/synthesis figures when asked. Raises on a mismatch or a failed build."""
    import torch

    from bnn.compress.hwcost import quiet
    from bnn.export import check_export, export_qonnx
    from bnn.train import load_checkpoint, model_from_checkpoint
    from compiler.workflow.config import BuildConfig
    from compiler.frontend.metadata import from_checkpoint
    from compiler.workflow.pipeline import build

    folder = Path(job["folder"])
    done = finished(folder)
    if done is not None and done.get("checkpoint") == str(job["checkpoint"]):
        return done
    torch.set_num_threads(int(job.get("threads") or 1))
    model = model_from_checkpoint(job["checkpoint"])
    ckpt = load_checkpoint(job["checkpoint"])
    x = np.load(job["verify_inputs"])
    onnx = folder / "model.onnx"
    with quiet():
        export_qonnx(model, onnx, tuple(x.shape[1:]), metadata=from_checkpoint(ckpt))
    chk = check_export(model, onnx, x)
    if not chk.exact:
        raise RuntimeError(f"{job['name']}: exported {onnx} differs from the module on {chk.mismatches} of "
                           f"{chk.n_inputs} inputs")
    flow = "rtl" if job.get("rtl") else "hls"
    res = build(onnx, BuildConfig(board=job["board"], target_fps=job["target_fps"], margin=job["margin"],
                                  verify=True, flow=flow), folder / "build", verify_inputs=x)
    ver = json.loads((folder / "build" / "verify.json").read_text())
    rep = res.report or {}
    tot = rep.get("total", {})
    target = rep.get("target_fps")
    fig = {
        "name": job["name"], "checkpoint": str(job["checkpoint"]), "onnx": str(onnx), "build": str(folder / "build"),
        "board": job["board"], "target_fps": job["target_fps"], "margin": job["margin"],
        "export_check": {"inputs": chk.n_inputs, "mismatches": chk.mismatches,
                         "source": "QONNX execution (qonnx) vs the PyTorch/Brevitas student, element for element"},
        "verify": {"inputs": int(ver["n_inputs"]), "dataset_inputs": int(len(x)), "status": ver["status"],
                   "output_mismatches": int(ver["output_mismatches"]),
                   "source": "bnnc compile --verify: the compiled IR (bit-accurate simulator) vs QONNX execution "
                             f"on {len(x)} test-set inputs plus {int(ver['n_inputs']) - len(x)} random/structured"},
        "estimate": {"lut": tot.get("lut"), "ff": tot.get("ff"), "bram18": tot.get("bram18"), "dsp": tot.get("dsp"),
                     "fps": rep.get("fps"), "ii_cycles": rep.get("ii_cycles"), "clock_mhz": rep.get("clock_mhz"),
                     "fits": rep.get("fits"), "met": bool(rep.get("fits")) and (target is None or
                                                                               rep.get("fps", 0) >= target),
                     "flow": flow, "source": f"compiler cost model ({flow.upper()} flow) at the optimiser's folding"},
        "rtlsim": None, "synth": None,
    }
    if job.get("rtl"):
        fig["rtlsim"] = _rtlsim(folder / "build", int(job.get("rtl_frames") or 50), rep.get("clock_mhz"))
    if job.get("synth"):
        fig["synth"] = _synth(folder / "build", job["board"])
    write_json_atomic(folder / BUILD_JSON, fig)
    return fig


def _rtlsim(build_dir: Path, frames: int, clock_mhz: float | None) -> dict:
    from compiler.workflow.rtl_runs import rtlsim_build

    doc, rep, _ = rtlsim_build(build_dir, frames, 0)
    tool = doc["tool"]
    if not rep.ok:
        raise RuntimeError(f"{build_dir}: RTL simulation differs from the simulator: {rep.first_mismatch}")
    cpf = doc["cycles_per_frame"]
    return {"frames": doc["frames"], "mismatches": doc["mismatches"], "cycles_per_frame": cpf,
            "fps": (clock_mhz * 1e6 / cpf) if cpf and clock_mhz else None, "tool": tool,
            "source": f"{tool} co-simulation of the generated Verilog ({frames} random frames), FPS = clock / "
                      "measured cycles per frame (no DMA shell)"}


def _synth(build_dir: Path, board: str) -> dict:
    from compiler.workflow.rtl_runs import synth_build
    from compiler.backends.rtl.yosys import YOSYS, tool_version

    tool_version(YOSYS)
    doc = synth_build(build_dir, board)
    t = doc["total"]
    e = doc["estimated_total"]
    return {"lut": t.get("LUT"), "ff": t.get("FF"), "bram18": t.get("BRAM18"), "dsp": t.get("DSP"),
            "estimated_same_scope": {"lut": e.get("LUT"), "bram18": e.get("BRAM18"), "dsp": e.get("DSP"),
                                     "source": "compiler RTL-flow estimate of the layers Yosys synthesized (no DMA "
                                               "shell), for a like-for-like comparison"},
            "tool": doc["tool"], "seconds": doc["seconds"],
            "source": f"{doc['tool']} synth_xilinx -family {doc['family']} of the generated Verilog (post-synthesis, "
                      "no place and route; the accelerator without the DMA shell, which `estimate` includes)"}
