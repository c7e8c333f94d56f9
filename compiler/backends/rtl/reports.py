"""rtlsim.json / synth.json: what the RTL tools measured beside what the cost model (compiler.estimate.cost) estimated."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from compiler.backends.rtl.project import RtlProject
from compiler.backends.rtl.verilator import RtlsimReport
from compiler.estimate.cost import GraphCost, LayerCost
from compiler.ir.graph import DataflowGraph

RESOURCE_KEYS = ("LUT", "FF", "LUTRAM", "BRAM18", "DSP")


def write_json(path: Path, doc: dict) -> Path:
    """Atomic write: a crash never leaves half a report."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def hardware_layers(cost: GraphCost) -> list[LayerCost]:
    """The cost model's layer stages without the DMA shell (the RTL top has no DMA; its AXI-stream side
    moves one beat per cycle)."""
    return [l for l in cost.layers if l.kind != "dma"]


def rtlsim_doc(graph: DataflowGraph, project: RtlProject, rep: RtlsimReport, cost: GraphCost, tool: str,
               seed: int, stall_seed: int | None) -> dict:
    hw = hardware_layers(cost)
    return {
        "tool": tool, "deadlock": False, "frames": rep.frames, "mismatches": rep.mismatches,
        "mismatched_frames": rep.mismatched_frames, "first_mismatch": rep.first_mismatch,
        "cycles_per_frame": rep.cycles_per_frame, "latency_cycles": rep.latency_cycles,
        "estimated_cycles_per_frame": max(l.cycles for l in hw),
        "estimated_latency_cycles": cost.pipeline_latency if cost.pipeline_latency is not None
        else sum(l.cycles for l in hw),
        "estimated_cycles_per_frame_with_dma": cost.ii_cycles,
        "bottleneck_estimate": max(hw, key=lambda l: l.cycles).name,
        "total_cycles": rep.total_cycles, "seed": seed, "stall_seed": stall_seed,
        "fifos": fifo_levels(project, rep.fifo_max_level),
        "build_seconds": round(rep.build_seconds, 1), "reused_build": rep.reused_build,
        "run_seconds": round(rep.run_seconds, 3), "frames_per_second": round(rep.frames_per_second, 1),
        "source_digest": project.meta["source_digest"],
        "notes": ["cycles_per_frame: mean cycles between frame completions over the second half of the run, input "
                  "offered every cycle and output always accepted (stall_seed: random gaps on both sides)",
                  "estimates exclude the DMA shell stage (estimated_cycles_per_frame_with_dma includes it)",
                  "frames_per_second: simulated frames per host second of the run (run_seconds: process start, "
                  "stream packing and file I/O included); build_seconds (the simulator's build, 0 when reused) "
                  "is separate"],
    }


def deadlock_doc(project: RtlProject, err, tool: str, frames: int, seed: int, stall_seed: int | None) -> dict:
    """rtlsim.json of a run that deadlocked (compiler.backends.rtl.verilator.RtlsimDeadlock): how far it got and
    how full each FIFO was; no cycle figures."""
    st = err.stats
    return {"tool": tool, "deadlock": True, "frames": frames, "frames_completed": len(st["frame_done"]),
            "stopped_at_cycle": st["cycles"], "message": str(err).split("\n  hint:")[0],
            "fifos": fifo_levels(project, st["fifo_max_level"]), "seed": seed, "stall_seed": stall_seed,
            "source_digest": project.meta["source_digest"]}


def fifo_levels(project: RtlProject, levels: list[int]) -> list[dict]:
    """rtl.json's FIFOs with the high-water mark each reached; a branch FIFO also carries compiler.estimate.fifo's depth
    (`computed_depth`, before the FIFO_DEPTH floor) and why."""
    return [{**f, "max_level": int(lv)} for f, lv in zip(project.meta["fifos"], levels)]


def estimated_resources(l: LayerCost) -> dict[str, int]:
    r = l.resources
    return {"LUT": round(r.lut), "FF": round(r.ff), "LUTRAM": sum(m.lut for m in l.memories if m.style == "lutram"),
            "BRAM18": round(r.bram18), "DSP": round(r.dsp)}


def synth_doc(graph: DataflowGraph, result: dict, cost: GraphCost, board: str, part: str) -> dict:
    hw = hardware_layers(cost)
    layers, est_total = [], dict.fromkeys(RESOURCE_KEYS, 0)
    for layer, unit, lc in zip(graph.layers, result["units"], hw):
        est = estimated_resources(lc)
        for k in RESOURCE_KEYS:
            est_total[k] += est[k]
        layers.append({"name": layer.name, "kind": layer.kind, "unit": unit, "folding": dict(layer.folding),
                       "synth": result["units"][unit], "estimated": est})
    return {"tool": result["tool"], "family": result["family"], "board": board, "part": part,
            "total": result["total"], "estimated_total": est_total, "layers": layers,
            "seconds": result["seconds"],
            "notes": ["Yosys synth_xilinx, post-synthesis and pre place-and-route (no open P&R for this part "
                      "here): Fmax and routed utilisation need Vivado",
                      "LUT counts logic LUTs plus LUTs used as memory (LUTRAM, SRL), LUTRAM that memory part",
                      "per layer: its unit (width converter in front, the layer, its output FIFO); total adds the "
                      "input FIFO and the AXI-stream glue; estimates exclude the DMA shell"]}
