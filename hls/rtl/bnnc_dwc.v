// Stream width converter: words of IN elements -> words of OUT elements (B bits each, element 0 in the
// least-significant bits, docs/ir.md "Stream packing"). Elements keep their order; a buffer of IN+OUT
// elements lets one word enter and one leave in the same cycle, so it never slows the faster side.
`default_nettype none
module bnnc_dwc #(
    parameter IN = 1,
    parameter OUT = 1,
    parameter B = 1
) (
    input  wire              clk,
    input  wire              rst,
    input  wire [IN*B-1:0]   in_data,
    input  wire              in_valid,
    output wire              in_ready,
    output wire [OUT*B-1:0]  out_data,
    output wire              out_valid,
    input  wire              out_ready
);
    localparam CAP = IN + OUT;
    localparam FB = $clog2(CAP + 1);
    reg [CAP*B-1:0] buffer;
    reg [FB-1:0] fill;                       // elements held
    wire out_fire = out_valid && out_ready;
    wire [FB-1:0] kept = out_fire ? fill - OUT[FB-1:0] : fill;
    assign out_valid = fill >= OUT[FB-1:0];
    assign out_data = buffer[OUT*B-1:0];
    assign in_ready = {1'b0, kept} + IN <= CAP;
    wire in_fire = in_valid && in_ready;
    wire [CAP*B-1:0] shifted = out_fire ? buffer >> (OUT * B) : buffer;
    wire [CAP*B-1:0] incoming = {{(CAP*B - IN*B){1'b0}}, in_data} << (kept * B);

    always @(posedge clk) begin
        if (rst) begin
            fill <= {FB{1'b0}};
            buffer <= {CAP*B{1'b0}};
        end else begin
            buffer <= in_fire ? (shifted | incoming) : shifted;
            fill <= in_fire ? kept + IN[FB-1:0] : kept;
        end
    end
endmodule
`default_nettype wire
