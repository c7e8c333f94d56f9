// Multi-threshold activation of one value (docs/ir.md, MVTU/Thresholding): count = sum_t (v >= thr[t]);
// code = count for a BIPOLAR output (then NT == 1: 0 -> -1, 1 -> +1), else OUT_BIAS + count in OB bits
// (two's complement). Thresholds are NT signed TB-bit fields, thr[0] in the least-significant bits.
`default_nettype none
module bnnc_act #(
    parameter VB = 8,
    parameter TB = 8,
    parameter NT = 1,
    parameter OB = 1,
    parameter OUT_BIAS = 0,
    parameter OUT_BIPOLAR = 0
) (
    input  wire signed [VB-1:0] value,
    input  wire [NT*TB-1:0]     thr,
    output wire [OB-1:0]        code
);
    localparam CW = (VB > TB ? VB : TB) + 1;
    localparam NB = $clog2(NT + 1);
    reg [NB-1:0] count;
    reg signed [CW-1:0] v, t;
    integer i;
    always @* begin
        count = {NB{1'b0}};
        v = {{(CW - VB){value[VB-1]}}, value};
        for (i = 0; i < NT; i = i + 1) begin
            t = {{(CW - TB){thr[i*TB + TB - 1]}}, thr[i*TB +: TB]};
            if (v >= t) count = count + 1'b1;
        end
    end
    localparam [31:0] BIAS = OUT_BIAS;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] biased = BIAS + {{(32 - NB){1'b0}}, count};   // OB <= 32: counts are small
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        if (OUT_BIPOLAR != 0) begin : g_bipolar
            assign code = count[OB-1:0];
        end else begin : g_int
            assign code = biased[OB-1:0];
        end
    endgenerate
endmodule
`default_nettype wire
