"""What every RTL emitter shares: the emitted unit, element encodings as the Verilog library sees them,
ROM files in $readmemh format (words built with compiler.sim.packing, so ROM bits are exactly stream bits)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from compiler.ir.datatypes import element_bits as bits
from compiler.ir.names import identifier
from compiler.estimate.cost import stream_elems
from compiler.ir.graph import IRError, Layer, dtype as ir_dtype
from compiler.sim.packing import pack

PARAMS_DIR = "params"          # ROM files, relative to BUILD/rtl (the tools run there: $readmemh paths)


@dataclass
class Emitted:
    """A layer as a Verilog module with the stream ports of the library (clk, rst, in_*, out_*)."""

    module: str                                  # module name
    text: str                                    # Verilog source of the wrapper module
    files: dict[str, str] = field(default_factory=dict)   # relative path -> contents (ROM files)


def kind_code(dtype_name: str) -> int:
    """bnnc_dec KIND: 0 unsigned, 1 signed, 2 BIPOLAR."""
    if dtype_name == "BIPOLAR":
        return 2
    return 1 if ir_dtype(dtype_name).signed() else 0


def word_bits(layer: Layer, side: str) -> int:
    """Bits of the layer's input (side='in') or output stream word."""
    dt = layer.in_dtype if side == "in" else layer.out_dtype
    return stream_elems(layer, side) * bits(dt)


def module_name(layer: Layer, index: int) -> str:
    return f"l{index:02d}_{identifier(layer.name).strip('_') or 'layer'}"


def hex_rom(values: np.ndarray, dtype_name: str, where: str) -> str:
    """(depth, fields) values -> $readmemh text, one word per line, field 0 in the least-significant bits."""
    v = np.ascontiguousarray(values)          # compiler.sim.packing.pack needs a C-contiguous array
    depth, n = v.shape
    try:
        data = pack(v, dtype_name, n)                      # (depth, 1, word_bytes), little-endian words
    except IRError as e:
        raise IRError(f"{where}: {e}") from None
    width = n * bits(dtype_name)
    digits = -(-width // 4)
    rows = data.reshape(depth, -1)[:, ::-1]                # big-endian bytes per word
    lines = [r.tobytes().hex()[-digits:] for r in rows]
    return "\n".join(lines) + "\n"


def param_list(params: dict[str, object]) -> str:
    """Verilog parameter overrides, `.NAME(value)` one a line: strings quoted, numbers as integers."""
    return ",\n".join(f'        .{k}({chr(34) + v + chr(34) if isinstance(v, str) else int(v)})'
                      for k, v in params.items())


def stream_wrapper(module: str, in_bits: int, out_bits: int, comment: str, body: str) -> str:
    """Wrapper module `module` with one input and one output stream (clk, rst, in_*, out_*) around `body`."""
    return f"""// {comment}
module {module} (
    input  wire                clk,
    input  wire                rst,
    input  wire [{in_bits - 1}:0]   in_data,
    input  wire                in_valid,
    output wire                in_ready,
    output wire [{out_bits - 1}:0]   out_data,
    output wire                out_valid,
    input  wire                out_ready
);
{body}endmodule
"""


def instance(lib_module: str, params: dict[str, object], module: str, in_bits: int, out_bits: int,
             comment: str) -> str:
    """Wrapper module `module` around one library module instance with `params`."""
    return stream_wrapper(module, in_bits, out_bits, comment, f"""    {lib_module} #(
{param_list(params)}
    ) u_layer (
        .clk(clk), .rst(rst),
        .in_data(in_data), .in_valid(in_valid), .in_ready(in_ready),
        .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready)
    );
""")


def signed_value(v: int, b: int) -> int:
    """Two's complement code of v in b bits (a Verilog parameter holding a pad code)."""
    return int(v) & ((1 << b) - 1)


def port(side: str, j: int, n: int) -> str:
    """Stream port prefix of a layer wrapper: `in` / `out` for a single stream, `in0`, `in1`, ... for several
    (the convention compiler.backends.rtl.project wires units by)."""
    return side if n == 1 else f"{side}{j}"


def multi_instance(lib_module: str, params: dict[str, object], module: str, in_bits: list[int],
                   out_bits: list[int], comment: str) -> str:
    """Wrapper module `module` around one library module with len(in_bits) input and len(out_bits) output
    streams, ports named by `port` in both."""
    decl, conn = [], []
    for side, widths, d_in in (("in", in_bits, True), ("out", out_bits, False)):
        for j, w in enumerate(widths):
            p = port(side, j, len(widths))
            decl += [f"    {'input ' if d_in else 'output'} wire [{w - 1}:0] {p}_data",
                     f"    {'input ' if d_in else 'output'} wire {p}_valid",
                     f"    {'output' if d_in else 'input '} wire {p}_ready"]
            conn.append(f".{p}_data({p}_data), .{p}_valid({p}_valid), .{p}_ready({p}_ready)")
    ports = ",\n".join(["    input  wire clk", "    input  wire rst", *decl])
    return f"""// {comment}
module {module} (
{ports}
);
    {lib_module} #(
{param_list(params)}
    ) u_layer (
        .clk(clk), .rst(rst),
        {(','+chr(10)+'        ').join(conn)}
    );
endmodule
"""
