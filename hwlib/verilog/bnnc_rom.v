// Read-only memory of D words of W bits from a $readmemh file (one word a line, field 0 in the least-significant
// bits), read synchronously with a clock enable: q <= mem[addr] when en. Every weight and threshold ROM of the
// library is one of these; Yosys 0.23 maps it to block RAM or to LUT logic, whichever its library costs less
// (docs/cost_model.md "RTL target"), Vivado likewise. The file is read by relative path from where the tool runs.
`default_nettype none
module bnnc_rom #(
    parameter W = 8,
    parameter D = 1,
    parameter FILE = "rom.hex",
    parameter AB = D > 1 ? $clog2(D) : 1
) (
    input  wire          clk,
    input  wire          en,
    input  wire [AB-1:0] addr,
    output reg  [W-1:0]  q
);
    reg [W-1:0] mem [0:D-1];
    initial $readmemh(FILE, mem);
    always @(posedge clk) begin
        if (en) q <= mem[addr];
    end
endmodule
`default_nettype wire
