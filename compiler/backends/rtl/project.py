"""Write the RTL of a folded DataflowGraph into BUILD/rtl, all or nothing.

Layout (the tools run inside this folder: ROM files are read by relative path):
  lib/*.v          the Verilog library (hls/rtl)
  units.v          per layer: the layer wrapper (compiler.backends.rtl.registry), a width converter and its FIFO in front when the
                   producer's word holds another element count (compiler.codegen.plan, as in the HLS top), and
                   the layer's output FIFO; one unit per layer, so synthesis can report each layer
  bnnc_top.v       AXI-stream top: s_axis beats -> input FIFO -> units -> m_axis beats, TLAST on the last
                   word of each num_frames batch; the same beat layout as the HLS top (docs/ir.md)
  params/*.hex     weight / threshold ROMs ($readmemh)
  harness.cpp      Verilator co-simulation harness (compiler.backends.rtl.verilator)
  rtl.json         stream ends (deploy.json's input/output), units, source digest
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from compiler.backends import rtl as rtl_backend
from compiler.backends.rtl.common import Emitted
from compiler.backends.rtl.harness import harness_source
from compiler.codegen.plan import Plan, make_plan
from compiler.kinds.base import in_uram
from compiler.errors import CompileError
from compiler.ir import DataflowGraph

TOP = "bnnc_top"
FIFO_DEPTH = 32            # as the HLS top's streams (compiler.codegen.top.FIFO_DEPTH)


def input_fifo_depth(layer) -> int:
    """Depth of the FIFO in front of `layer`: at least FIFO_DEPTH, and for an MVTU with NF > 1 one whole input
    vector (SF words). Such an MVTU reads its input only during neuron fold 0; with a shallower FIFO its producer
    cannot run a vector ahead, so two rate-matched layers serialise (measured on CNV-W1A1's FC layers: 1.42x
    the modelled II with 32-deep FIFOs)."""
    if layer.kind == "MVTU" and layer.attrs["MH"] // layer.pe > 1:
        return max(FIFO_DEPTH, layer.attrs["MW"] // layer.simd)
    return FIFO_DEPTH
RTL_FILES = ("bnnc_dec.v", "bnnc_act.v", "bnnc_fifo.v", "bnnc_dwc.v", "bnnc_mvtu.v", "bnnc_thresholding.v",
             "bnnc_swg.v", "bnnc_maxpool.v", "bnnc_label_select.v")


@dataclass
class RtlProject:
    path: Path
    meta: dict

    @property
    def sources(self) -> list[str]:
        """Verilog files relative to path, library first."""
        return [f"lib/{f}" for f in RTL_FILES] + ["units.v", f"{TOP}.v"]


def library_dir() -> Path:
    d = Path(__file__).resolve().parents[3] / "hls" / "rtl"
    if not (d / "bnnc_mvtu.v").is_file():
        raise CompileError(f"the bnnc RTL library is missing: {d} (broken installation?)")
    return d


def _unit(i: int, plan: Plan, emitted: Emitted, convert, out_depth: int, dwc_depth: int) -> str:
    """unit_NN: [width converter -> FIFO] -> layer -> output FIFO, the output FIFO's high-water mark as a port."""
    st = next(s for s in plan.stages if s.kind == "layer" and s.index == i)
    in_bits = (convert.in_elems * convert.elem_bits_in) if convert else st.in_elems * st.elem_bits_in
    mid_bits = st.in_elems * st.elem_bits_in
    out_bits = st.out_elems * st.elem_bits_out
    if convert:     # converter, then a FIFO as after every stage of the HLS top (the layer may read in bursts)
        front = f"""    wire [{mid_bits - 1}:0] c_data, f_data;
    wire c_valid, c_ready, f_valid, f_ready;
    bnnc_dwc #(.IN({convert.in_elems}), .OUT({convert.out_elems}), .B({convert.elem_bits_in})) u_dwc (
        .clk(clk), .rst(rst), .in_data(in_data), .in_valid(in_valid), .in_ready(in_ready),
        .out_data(c_data), .out_valid(c_valid), .out_ready(c_ready));
    wire [31:0] unused_level;
    bnnc_fifo #(.W({mid_bits}), .DEPTH({dwc_depth})) u_dwc_fifo (
        .clk(clk), .rst(rst), .in_data(c_data), .in_valid(c_valid), .in_ready(c_ready),
        .out_data(f_data), .out_valid(f_valid), .out_ready(f_ready), .max_level(unused_level));
"""
        src = "f_data", "f_valid", "f_ready"
    else:
        front = ""
        src = "in_data", "in_valid", "in_ready"
    return f"""module unit_{i:02d} #(parameter STATS = 0) (
    input  wire clk,
    input  wire rst,
    input  wire [{in_bits - 1}:0] in_data,
    input  wire in_valid,
    output wire in_ready,
    output wire [{out_bits - 1}:0] out_data,
    output wire out_valid,
    input  wire out_ready,
    output wire [31:0] fifo_max
);
{front}    wire [{out_bits - 1}:0] l_data;
    wire l_valid, l_ready;
    {emitted.module} u_{emitted.module} (
        .clk(clk), .rst(rst), .in_data({src[0]}), .in_valid({src[1]}), .in_ready({src[2]}),
        .out_data(l_data), .out_valid(l_valid), .out_ready(l_ready));
    wire [31:0] level;
    bnnc_fifo #(.W({out_bits}), .DEPTH({out_depth})) u_fifo (
        .clk(clk), .rst(rst), .in_data(l_data), .in_valid(l_valid), .in_ready(l_ready),
        .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready), .max_level(level));
    assign fifo_max = STATS != 0 ? level : 32'd0;
endmodule
"""


def _top(graph: DataflowGraph, plan: Plan, n: int, depths: list[int]) -> str:
    i, o = plan.input, plan.output
    ib, ob, ia, oa = i.word_bits, o.word_bits, i.axi_bytes * 8, o.axi_bytes * 8
    lines = [f"""// Generated by bnnc for graph {graph.name!r}: {n} layers as one streaming pipeline.
// s_axis / m_axis carry one packed word per beat, zero-extended to the beat (docs/ir.md "Stream packing"),
// the HLS top's DMA layout; m_axis_tlast marks the last word of each batch of num_frames frames.
// fifo_max_level: high-water mark of each FIFO (input FIFO first), 32 bits each, when STATS != 0.
module {TOP} #(parameter STATS = 0) (
    input  wire clk,
    input  wire rst,
    input  wire [31:0] num_frames,
    input  wire [{ia - 1}:0] s_axis_tdata,
    input  wire s_axis_tvalid,
    output wire s_axis_tready,
    input  wire s_axis_tlast,
    output wire [{oa - 1}:0] m_axis_tdata,
    output wire m_axis_tvalid,
    input  wire m_axis_tready,
    output wire m_axis_tlast,
    output wire [{32 * (n + 1) - 1}:0] fifo_max_level
);
    wire unused_in = &{{1'b0, s_axis_tlast{', s_axis_tdata[%d:%d]' % (ia - 1, ib) if ia > ib else ''}}};   // TLAST: num_frames, as in HLS
    wire [{ib - 1}:0] s0_data;
    wire s0_valid, s0_ready;
    wire [31:0] in_level;
    bnnc_fifo #(.W({ib}), .DEPTH({depths[0]})) u_in_fifo (
        .clk(clk), .rst(rst), .in_data(s_axis_tdata[{ib - 1}:0]), .in_valid(s_axis_tvalid),
        .in_ready(s_axis_tready), .out_data(s0_data), .out_valid(s0_valid), .out_ready(s0_ready),
        .max_level(in_level));
    assign fifo_max_level[31:0] = STATS != 0 ? in_level : 32'd0;"""]
    for k in range(n):
        st = next(s for s in plan.stages if s.kind == "layer" and s.index == k)
        wb = st.out_elems * st.elem_bits_out
        lines.append(f"""    wire [{wb - 1}:0] s{k + 1}_data;
    wire s{k + 1}_valid, s{k + 1}_ready;
    unit_{k:02d} #(.STATS(STATS)) u_unit_{k:02d} (
        .clk(clk), .rst(rst), .in_data(s{k}_data), .in_valid(s{k}_valid), .in_ready(s{k}_ready),
        .out_data(s{k + 1}_data), .out_valid(s{k + 1}_valid), .out_ready(s{k + 1}_ready),
        .fifo_max(fifo_max_level[{32 * (k + 2) - 1}:{32 * (k + 1)}]));""")
    pad = f"{{{{{oa - ob}{{1'b0}}}}, s{n}_data}}" if oa > ob else f"s{n}_data"
    lines.append(f"""    // output beats and TLAST (last word of the num_frames batch)
    reg [31:0] words, frames;
    wire out_fire = m_axis_tvalid && m_axis_tready;
    wire last_word = words == {o.words_per_frame - 1};
    assign m_axis_tdata = {pad};
    assign m_axis_tvalid = s{n}_valid;
    assign s{n}_ready = m_axis_tready;
    assign m_axis_tlast = last_word && frames == num_frames - 1;
    always @(posedge clk) begin
        if (rst) begin
            words <= 0;
            frames <= 0;
        end else if (out_fire) begin
            words <= last_word ? 0 : words + 1;
            if (last_word) frames <= m_axis_tlast ? 0 : frames + 1;
        end
    end
endmodule
""")
    return "\n".join(lines)


def generate_rtl(graph: DataflowGraph, out_dir: str | os.PathLike) -> RtlProject:
    """Generate the RTL of `graph` (folding from layer.folding) into out_dir; on failure out_dir is untouched.
    Weights in URAM (run-time loaded) are refused: the RTL library keeps weights in initialised ROMs."""
    uram = [l.name for l in graph.layers if in_uram(l)]
    if uram:
        raise CompileError(f"the RTL backend keeps weights in bitstream-initialised ROMs and has no run-time weight "
                           f"loader, but the weights of {', '.join(map(repr, uram))} are placed in URAM",
                           hint="compile with --weights-in bram for the RTL flow (the HLS flow loads URAM weights)")
    plan = make_plan(graph)
    files: dict[str, str] = {}
    units, names = [], []
    first_convert = any(s.kind == "convert" and s.index == 0 for s in plan.stages)
    depths = [FIFO_DEPTH if first_convert else input_fifo_depth(graph.layers[0])]   # input FIFO, then per unit
    for i, layer in enumerate(graph.layers):
        try:
            emit = rtl_backend.get(layer.kind)
        except CompileError as e:
            raise CompileError(f"layer {layer.name!r}: {e.reason}", hint=e.hint) from None
        em = emit(layer, i)
        files.update(em.files)
        convert = next((s for s in plan.stages if s.kind == "convert" and s.index == i), None)
        nxt = graph.layers[i + 1] if i + 1 < len(graph.layers) else None
        nxt_convert = any(s.kind == "convert" and s.index == i + 1 for s in plan.stages)
        out_depth = input_fifo_depth(nxt) if nxt is not None and not nxt_convert else FIFO_DEPTH
        units.append(em.text + "\n" + _unit(i, plan, em, convert, out_depth, input_fifo_depth(layer)))
        depths.append(out_depth)
        names.append(em.module)
    files["units.v"] = "// Generated by bnnc: one unit per layer (layer wrapper, width converter, FIFO).\n" + \
        "\n".join(units)
    files[f"{TOP}.v"] = _top(graph, plan, len(graph.layers), depths)
    files["harness.cpp"] = harness_source(plan, len(graph.layers))
    lib = library_dir()
    library = {f"lib/{f}": (lib / f).read_text() for f in RTL_FILES}
    all_files = {**files, **library}
    h = hashlib.sha256()
    for rel in sorted(all_files):
        h.update(rel.encode() + b"\0" + all_files[rel].encode() + b"\0")
    meta = {"graph": graph.name, "top": TOP, "input": plan.input.as_dict(), "output": plan.output.as_dict(),
            "fifo_depths": depths,           # input FIFO, then each layer's output FIFO
            "units": [{"unit": f"unit_{i:02d}", "module": m, "layer": l.name, "kind": l.kind}
                      for i, (m, l) in enumerate(zip(names, graph.layers))],
            "source_digest": h.hexdigest()}
    all_files["rtl.json"] = json.dumps(meta, indent=1) + "\n"
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for rel, text in all_files.items():
            f = tmp / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(text)
        if out.exists():
            for keep in ("obj_dir", "synth", "vivado", "output"):   # tool outputs; the caches check the digest
                if (out / keep).exists():
                    os.replace(out / keep, tmp / keep)
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise CompileError(f"writing RTL project {out} failed: {e}") from None
        raise
    return RtlProject(out, meta)
