// Decode one stream element (docs/ir.md "Stream packing") to a signed value of VB bits.
// KIND: 0 unsigned, 1 signed (two's complement), 2 BIPOLAR (code 0 -> -1, 1 -> +1). VB >= B + 1.
`default_nettype none
module bnnc_dec #(
    parameter B = 1,
    parameter KIND = 0,
    parameter VB = 3
) (
    input  wire [B-1:0]         code,
    output wire signed [VB-1:0] value
);
    generate
        if (KIND == 2) begin : g_bipolar
            assign value = code[0] ? 1 : -1;
        end else if (KIND == 1) begin : g_signed
            assign value = {{(VB - B){code[B-1]}}, code};
        end else begin : g_unsigned
            assign value = {{(VB - B){1'b0}}, code};
        end
    endgenerate
endmodule
`default_nettype wire
