"""Write the RTL of a folded DataflowGraph into BUILD/rtl, all or nothing.

Layout (the tools run inside this folder: ROM files are read by relative path):
  lib/*.v          the Verilog library (hwlib/verilog)
  units.v          per layer: the layer wrapper (compiler.backends.rtl.registry), a width converter and its FIFO in front when the
                   producer's word holds another element count (compiler.backends.plan, as in the HLS top), and
                   the layer's output FIFO; one unit per layer, so synthesis can report each layer
  bnnc_top.v       AXI-stream top: s_axis beats -> input FIFO -> units -> m_axis beats, TLAST on the last
                   word of each num_frames batch; the same beat layout as the HLS top (docs/ir.md)
  params/*.hex     weight / threshold ROMs ($readmemh)
  harness.cpp      Verilator co-simulation harness (compiler.backends.rtl.verilator)
  rtl.json         stream ends (deploy.json's input/output), units, source digest
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from compiler.backends.rtl import emitters
from compiler import kinds
from compiler.backends.rtl.common import Emitted, port
from compiler.backends.rtl.cost import input_fifo_depth
from compiler.backends.rtl.harness import harness_source
from compiler.workflow.folder import write_generated
from compiler.backends.plan import Plan, make_plan
from compiler.kinds.base import in_uram
from diagnostics.errors import CompileError
from compiler.estimate.cost import stream_elems
from compiler.ir.datatypes import element_bits as bits
from compiler.ir.graph import INPUT_STREAM, DataflowGraph
from compiler.backends.digest import digest_texts

TOP = "bnnc_top"
TOOL_OUTPUTS = ("obj_dir", "synth", "vivado", "output")    # what Verilator, Yosys and Vivado build in the project
FIFO_DEPTH = 32            # as the HLS top's streams (compiler.backends.hls.top.FIFO_DEPTH)
RTL_FILES = ("bnnc_dec.v", "bnnc_act.v", "bnnc_adder.v", "bnnc_rom.v", "bnnc_fifo.v", "bnnc_dwc.v", "bnnc_mvtu.v",
             "bnnc_thresholding.v", "bnnc_swg.v", "bnnc_pool.v", "bnnc_winacc.v", "bnnc_label_select.v", "bnnc_dup.v", "bnnc_add.v",
             "bnnc_concat.v")


@dataclass
class RtlProject:
    path: Path
    meta: dict

    @property
    def sources(self) -> list[str]:
        """Verilog files relative to path, library first."""
        return [f"lib/{f}" for f in RTL_FILES] + ["units.v", f"{TOP}.v"]


def library_dir() -> Path:
    d = Path(__file__).resolve().parents[3] / "hwlib" / "verilog"
    if not (d / "bnnc_mvtu.v").is_file():
        raise CompileError(f"the bnnc RTL library is missing: {d} (broken installation?)")
    return d


@dataclass
class _Fifo:
    """One FIFO of the design (rtl.json "fifos", one 32-bit fifo_max_level slot each, in this order)."""

    name: str
    depth: int
    role: str                   # input | output | converter | branch
    width: int
    computed_depth: int | None = None      # branch FIFOs: compiler.estimate.fifo's depth before the FIFO_DEPTH floor
    why: str = ""


@dataclass
class _Front:
    """What sits in front of one layer input inside its unit: a width converter and/or a FIFO."""

    src_bits: int
    dst_bits: int
    convert: tuple[int, int, int] | None       # (in elems, out elems, element bits)
    fifo: _Fifo | None


def _fifo_inst(tag: str, f: _Fifo, src: tuple[str, str, str], dst: tuple[str, str, str], level: str) -> str:
    return f"""    bnnc_fifo #(.W({f.width}), .DEPTH({f.depth})) u_{tag} (
        .clk(clk), .rst(rst), .in_data({src[0]}), .in_valid({src[1]}), .in_ready({src[2]}),
        .out_data({dst[0]}), .out_valid({dst[1]}), .out_ready({dst[2]}), .max_level({level}));
"""


def _unit(i: int, layer, emitted: Emitted, fronts: list[_Front], outs: list[tuple[int, _Fifo | None]]) -> str:
    """unit_NN: per input [width converter][FIFO] -> layer -> per output [FIFO]; the FIFOs' high-water marks
    concatenated on fifo_max (first FIFO in the low bits)."""
    n_in, n_out = len(fronts), len(outs)
    fifos = [f.fifo for f in fronts if f.fifo] + [f for _, f in outs if f]
    ports = ["    input  wire clk", "    input  wire rst"]
    body: list[str] = []
    slot = 0

    def level() -> str:
        nonlocal slot
        slot += 1
        return f"levels[{32 * slot - 1}:{32 * (slot - 1)}]"

    conn = []
    for j, fr in enumerate(fronts):
        ports += [f"    input  wire [{fr.src_bits - 1}:0] i{j}_data", f"    input  wire i{j}_valid",
                  f"    output wire i{j}_ready"]
        cur = (f"i{j}_data", f"i{j}_valid", f"i{j}_ready")
        if fr.convert:
            ie, oe, b = fr.convert
            body.append(f"""    wire [{fr.dst_bits - 1}:0] c{j}_data;
    wire c{j}_valid, c{j}_ready;
    bnnc_dwc #(.IN({ie}), .OUT({oe}), .B({b})) u_dwc{j} (
        .clk(clk), .rst(rst), .in_data({cur[0]}), .in_valid({cur[1]}), .in_ready({cur[2]}),
        .out_data(c{j}_data), .out_valid(c{j}_valid), .out_ready(c{j}_ready));
""")
            cur = (f"c{j}_data", f"c{j}_valid", f"c{j}_ready")
        if fr.fifo:
            body.append(f"""    wire [{fr.dst_bits - 1}:0] f{j}_data;
    wire f{j}_valid, f{j}_ready;
""" + _fifo_inst(f"in_fifo{j}", fr.fifo, cur, (f"f{j}_data", f"f{j}_valid", f"f{j}_ready"), level()))
            cur = (f"f{j}_data", f"f{j}_valid", f"f{j}_ready")
        p = port("in", j, n_in)
        conn.append(f".{p}_data({cur[0]}), .{p}_valid({cur[1]}), .{p}_ready({cur[2]})")
    tail = []
    for k, (wb, f) in enumerate(outs):
        ports += [f"    output wire [{wb - 1}:0] o{k}_data", f"    output wire o{k}_valid", f"    input  wire o{k}_ready"]
        p = port("out", k, n_out)
        if f is None:
            conn.append(f".{p}_data(o{k}_data), .{p}_valid(o{k}_valid), .{p}_ready(o{k}_ready)")
            continue
        body.append(f"""    wire [{wb - 1}:0] l{k}_data;
    wire l{k}_valid, l{k}_ready;
""")
        conn.append(f".{p}_data(l{k}_data), .{p}_valid(l{k}_valid), .{p}_ready(l{k}_ready)")
        tail.append(_fifo_inst(f"out_fifo{k}", f, (f"l{k}_data", f"l{k}_valid", f"l{k}_ready"),
                               (f"o{k}_data", f"o{k}_valid", f"o{k}_ready"), level()))
    if fifos:
        ports.append(f"    output wire [{32 * len(fifos) - 1}:0] fifo_max")
        body.insert(0, f"    wire [{32 * len(fifos) - 1}:0] levels;\n")
        tail.append(f"    assign fifo_max = STATS != 0 ? levels : {32 * len(fifos)}'d0;\n")
    joined = ",\n        ".join(conn)
    plist = ",\n".join(ports)
    return f"""// layer {layer.name!r} ({layer.kind}): {n_in} input / {n_out} output stream(s), {len(fifos)} FIFO(s)
module unit_{i:02d} #(parameter STATS = 0) (
{plist}
);
{"".join(body)}    {emitted.module} u_{emitted.module} (
        .clk(clk), .rst(rst),
        {joined});
{"".join(tail)}endmodule
"""


def _top(graph: DataflowGraph, plan: Plan, wiring: list[tuple[list[str], list[tuple[str, int]], int]],
         in_fifo: _Fifo, out_wire: str, n_fifos: int) -> str:
    """wiring: per layer (input wires, [(output wire, bits)], number of FIFOs in its unit)."""
    i, o = plan.input, plan.output
    ib, ob, ia, oa = i.word_bits, o.word_bits, i.axi_bytes * 8, o.axi_bytes * 8
    lines = [f"""// Generated by bnnc for graph {graph.name!r}: {len(graph.layers)} layers as a streaming dataflow that follows
// the graph's streams (docs/ir.md "Streams"; branch FIFOs sized by compiler/estimate/fifo.py).
// s_axis / m_axis carry one packed word per beat, zero-extended to the beat (docs/ir.md "Stream packing"),
// the HLS top's DMA layout; m_axis_tlast marks the last word of each batch of num_frames frames.
// fifo_max_level: high-water mark of each FIFO (rtl.json "fifos" order), 32 bits each, when STATS != 0.
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
    output wire [{32 * n_fifos - 1}:0] fifo_max_level
);
    wire unused_in = &{{1'b0, s_axis_tlast{', s_axis_tdata[%d:%d]' % (ia - 1, ib) if ia > ib else ''}}};   // TLAST: num_frames, as in HLS
    wire [{32 * n_fifos - 1}:0] levels;
    assign fifo_max_level = levels;         // zero unless STATS (each unit masks its own)
    wire [{ib - 1}:0] s_in_data;
    wire s_in_valid, s_in_ready;
    wire [31:0] in_level;
""" + _fifo_inst("in_fifo", in_fifo, (f"s_axis_tdata[{ib - 1}:0]", "s_axis_tvalid", "s_axis_tready"),
                 ("s_in_data", "s_in_valid", "s_in_ready"), "in_level") + """    assign levels[31:0] = STATS != 0 ? in_level : 32'd0;
"""]
    slot = 1
    for k, (ins, outs, nf) in enumerate(wiring):
        decl = "".join(f"""    wire [{wb - 1}:0] {w}_data;
    wire {w}_valid, {w}_ready;
""" for w, wb in outs)
        conn = [f".i{j}_data({w}_data), .i{j}_valid({w}_valid), .i{j}_ready({w}_ready)" for j, w in enumerate(ins)]
        conn += [f".o{j}_data({w}_data), .o{j}_valid({w}_valid), .o{j}_ready({w}_ready)" for j, (w, _) in enumerate(outs)]
        if nf:
            conn.append(f".fifo_max(levels[{32 * (slot + nf) - 1}:{32 * slot}])")
            slot += nf
        joined = ",\n        ".join(conn)
        lines.append(f"""{decl}    unit_{k:02d} #(.STATS(STATS)) u_unit_{k:02d} (
        .clk(clk), .rst(rst),
        {joined});""")
    pad = f"{{{{{oa - ob}{{1'b0}}}}, {out_wire}_data}}" if oa > ob else f"{out_wire}_data"
    lines.append(f"""    // output beats and TLAST (last word of the num_frames batch)
    reg [31:0] words, frames;
    wire out_fire = m_axis_tvalid && m_axis_tready;
    wire last_word = words == {o.words_per_frame - 1};
    assign m_axis_tdata = {pad};
    assign m_axis_tvalid = {out_wire}_valid;
    assign {out_wire}_ready = m_axis_tready;
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


def _layout(graph: DataflowGraph, branch_depths: dict[tuple[str, int], int] | None):
    """Per layer: its input fronts and output FIFOs, plus every FIFO in fifo_max_level order.

    A stream read by a single-input layer gets its FIFO at the producer's output (input_fifo_depth of the
    reader; FIFO_DEPTH when the reader converts the width first, then a FIFO after the converter), as in the
    linear pipeline. A stream read by a multi-input layer (AddStreams) gets one FIFO in front of that input
    instead: the branch FIFO, max(FIFO_DEPTH, compiler.estimate.fifo's depth) words, which alone holds what that branch
    must buffer (docs/cost_model.md "Branch FIFOs"); `branch_depths` overrides those depths (experiments).
    """
    from compiler.estimate.fifo import branch_fifo_depths

    streams = graph.streams()
    producer: dict[str, tuple[int, int]] = {}
    reader: dict[str, tuple[int, int]] = {}
    for i, (ins, outs) in enumerate(streams):
        for j, s in enumerate(ins):
            reader[s] = (i, j)
        for k, s in enumerate(outs):
            producer[s] = (i, k)
    computed = branch_fifo_depths(graph)
    layers = graph.layers
    first = layers[0]
    in_fifo = _Fifo("input", input_fifo_depth(first) if len(streams[0][0]) == 1 and kinds.get(first.kind).n_inputs == 1
                    else FIFO_DEPTH, "input", stream_elems(first, "in") * bits(first.in_dtype))
    fronts, outs_all = [], []
    for i, (l, (ins, outs)) in enumerate(zip(layers, streams)):
        kind = kinds.get(l.kind)
        multi = len(ins) > 1
        e_in = stream_elems(l, "in")
        fr = []
        for j, s in enumerate(ins):
            b = bits(kind.input_dtype(l, j))
            e_prev = stream_elems(layers[producer[s][0]], "out") if s in producer else e_in
            conv = (e_prev, e_in, b) if e_prev != e_in else None
            fifo = None
            if multi:
                depth, why = computed.get((l.name, j), (0, ""))
                d = max(FIFO_DEPTH, depth)
                if branch_depths is not None and (l.name, j) in branch_depths:
                    d = int(branch_depths[(l.name, j)])
                    if d < 1:
                        raise CompileError(f"branch FIFO depth of {l.name!r} input {j} must be >= 1, got {d}")
                fifo = _Fifo(f"{l.name} input {j} (branch)", d, "branch", e_in * b, depth, why)
            elif conv:
                fifo = _Fifo(f"{l.name} input {j} (after width converter)", input_fifo_depth(l), "converter", e_in * b)
            fr.append(_Front(e_prev * b, e_in * b, conv, fifo))
        ou = []
        wb = stream_elems(l, "out") * bits(l.out_dtype)
        for k, s in enumerate(outs):
            if s not in reader:
                f = _Fifo(f"{l.name} output", FIFO_DEPTH, "output", wb)
            else:
                r = layers[reader[s][0]]
                if len(streams[reader[s][0]][0]) > 1:
                    f = None
                elif stream_elems(r, "in") != stream_elems(l, "out"):
                    f = _Fifo(f"{l.name} output{'' if len(outs) == 1 else ' ' + str(k)}", FIFO_DEPTH, "output", wb)
                else:
                    f = _Fifo(f"{l.name} output{'' if len(outs) == 1 else ' ' + str(k)}", input_fifo_depth(r),
                              "output", wb)
            ou.append((wb, f))
        fronts.append(fr)
        outs_all.append(ou)
    return in_fifo, fronts, outs_all


def generate_rtl(graph: DataflowGraph, out_dir: str | os.PathLike,
                 branch_depths: dict[tuple[str, int], int] | None = None) -> RtlProject:
    """Generate the RTL of `graph` (folding from layer.folding) into out_dir; on failure out_dir is untouched.

    `branch_depths` {(AddStreams name, input index): words} replaces compiler.estimate.fifo's branch FIFO depths (used to
    show that those depths are needed: benchmarks/rtl_branch_fifos.py). Weights in URAM (run-time loaded) are
    refused: the RTL library keeps weights in initialised ROMs."""
    uram = [l.name for l in graph.layers if in_uram(l)]
    if uram:
        raise CompileError(f"the RTL backend keeps weights in bitstream-initialised ROMs and has no run-time weight "
                           f"loader, but the weights of {', '.join(map(repr, uram))} are placed in URAM",
                           hint="compile with --weights-in bram for the RTL flow (the HLS flow loads URAM weights)")
    plan = make_plan(graph)
    files: dict[str, str] = {}
    units, names = [], []
    in_fifo, fronts, outs = _layout(graph, branch_depths)
    fifos = [in_fifo]
    wiring = []
    wire = {INPUT_STREAM: "s_in"}
    for i, (layer, (ins, outs_s)) in enumerate(zip(graph.layers, graph.streams())):
        try:
            emit = emitters.get(layer.kind)
        except CompileError as e:
            raise CompileError(f"layer {layer.name!r}: {e.reason}", hint=e.hint) from None
        em = emit(layer, i)
        files.update(em.files)
        units.append(em.text + "\n" + _unit(i, layer, em, fronts[i], outs[i]))
        unit_fifos = [f.fifo for f in fronts[i] if f.fifo] + [f for _, f in outs[i] if f]
        fifos += unit_fifos
        ow = []
        for k, s in enumerate(outs_s):
            wire[s] = f"s{i:02d}_{k}"
            ow.append((wire[s], outs[i][k][0]))
        wiring.append(([wire[s] for s in ins], ow, len(unit_fifos)))
        names.append(em.module)
    files["units.v"] = "// Generated by bnnc: one unit per layer (width converters, branch FIFOs, layer, FIFOs).\n" + \
        "\n".join(units)
    out_wire = wire[graph.streams()[-1][1][0]]
    files[f"{TOP}.v"] = _top(graph, plan, wiring, in_fifo, out_wire, len(fifos))
    files["harness.cpp"] = harness_source(plan, [f.name for f in fifos], [f.depth for f in fifos])
    lib = library_dir()
    library = {f"lib/{f}": (lib / f).read_text() for f in RTL_FILES}
    all_files = {**files, **library}
    meta = {"graph": graph.name, "top": TOP, "input": plan.input.as_dict(), "output": plan.output.as_dict(),
            "fifo_depths": [f.depth for f in fifos],      # in fifo_max_level order (= "fifos")
            "fifos": [{"fifo": f.name, "role": f.role, "depth": f.depth, "width": f.width,
                       **({"computed_depth": f.computed_depth, "why": f.why} if f.role == "branch" else {})}
                      for f in fifos],
            "units": [{"unit": f"unit_{i:02d}", "module": m, "layer": l.name, "kind": l.kind}
                      for i, (m, l) in enumerate(zip(names, graph.layers))],
            "source_digest": digest_texts(all_files)}
    all_files["rtl.json"] = json.dumps(meta, indent=1) + "\n"
    # tool outputs are kept: the caches (verilator, yosys, vivado stamps) check the source digest
    out = write_generated(out_dir, all_files, what="RTL project", keep=TOOL_OUTPUTS)
    return RtlProject(out, meta)
