// Two-operand W-bit adder (two's complement, wraps modulo 2^W) of the integer dot-product trees.
// A module of its own so Yosys maps each sum to a carry chain: within one module Yosys' alumacc merges a whole
// sum of products into one $macc cell, which maccmap lowers to a full-adder compressor tree, ~2-3x the LUTs
// (measured on bnnc_mvtu, UINT2 x INT2, SIMD 16: 1,888 LUT merged, 1,172 with this module).
`default_nettype none
module bnnc_adder #(
    parameter W = 8
) (
    input  wire [W-1:0] a,
    input  wire [W-1:0] b,
    output wire [W-1:0] y
);
    assign y = a + b;
endmodule
`default_nettype wire
