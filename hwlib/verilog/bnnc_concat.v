// Channel concatenation of two streams (docs/ir.md, kind ConcatStreams; FINN: StreamingConcat) with PE lanes:
// per vector, the C0/PE words of in0 then the C1/PE words of in1, each element decoded, multiplied by M0 / M1
// (branch scales in an exact integer ratio M0 : M1 put on their common unit), shifted left by SHIFT0 / SHIFT1
// (two branch scales put on the smaller one) and re-encoded in OB bits (two's complement, or the
// BIPOLAR bit when both inputs and the output are BIPOLAR). One word per cycle; only the input whose turn it is
// is read, so the branch FIFOs in front (compiler/estimate/fifo.py) hold what the other branch runs ahead.
`default_nettype none
module bnnc_concat #(
    parameter C0 = 1,
    parameter C1 = 1,
    parameter PE = 1,
    parameter IB0 = 4,
    parameter KIND0 = 1,
    parameter IB1 = 4,
    parameter KIND1 = 1,
    parameter SHIFT0 = 0,
    parameter SHIFT1 = 0,
    parameter M0 = 1,
    parameter M1 = 1,
    parameter OB = 4
) (
    input  wire              clk,
    input  wire              rst,
    input  wire [PE*IB0-1:0] in0_data,
    input  wire              in0_valid,
    output wire              in0_ready,
    input  wire [PE*IB1-1:0] in1_data,
    input  wire              in1_valid,
    output wire              in1_ready,
    output reg  [PE*OB-1:0]  out_data,
    output reg               out_valid,
    input  wire              out_ready
);
    localparam F0 = C0 / PE;
    localparam F = (C0 + C1) / PE;
    localparam FB = F > 1 ? $clog2(F) : 1;
    localparam MB0 = M0 > 1 ? $clog2(M0 + 1) : 0;    // bits the integer multipliers add
    localparam MB1 = M1 > 1 ? $clog2(M1 + 1) : 0;
    localparam V0 = IB0 + 1 + SHIFT0 + MB0;
    localparam V1 = IB1 + 1 + SHIFT1 + MB1;
    localparam VB = (V0 > V1 ? V0 : V1) + 1;
    localparam signed [VB-1:0] SM0 = M0;
    localparam signed [VB-1:0] SM1 = M1;
    localparam BIPOLAR_PASS = (KIND0 == 2 && KIND1 == 2 && OB == 1) ? 1 : 0;

    reg [FB-1:0] f;
    wire sel0 = f < F0;
    wire en = !out_valid || out_ready;
    assign in0_ready = en && sel0;
    assign in1_ready = en && !sel0;
    wire fire = en && (sel0 ? in0_valid : in1_valid);

    wire [PE*OB-1:0] w0, w1;
    genvar p;
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_lane
            if (BIPOLAR_PASS != 0) begin : g_bits
                assign w0[p*OB +: OB] = in0_data[p*IB0 +: OB];
                assign w1[p*OB +: OB] = in1_data[p*IB1 +: OB];
            end else begin : g_vals
                wire signed [VB-1:0] a, b;
                bnnc_dec #(.B(IB0), .KIND(KIND0), .VB(VB)) u_a (.code(in0_data[p*IB0 +: IB0]), .value(a));
                bnnc_dec #(.B(IB1), .KIND(KIND1), .VB(VB)) u_b (.code(in1_data[p*IB1 +: IB1]), .value(b));
                /* verilator lint_off UNUSEDSIGNAL */
                wire signed [VB-1:0] sa = (a * SM0) <<< SHIFT0;
                wire signed [VB-1:0] sb = (b * SM1) <<< SHIFT1;
                /* verilator lint_on UNUSEDSIGNAL */
                if (OB <= VB) begin : g_cut
                    assign w0[p*OB +: OB] = sa[OB-1:0];
                    assign w1[p*OB +: OB] = sb[OB-1:0];
                end else begin : g_ext
                    assign w0[p*OB +: OB] = {{(OB - VB){sa[VB-1]}}, sa};
                    assign w1[p*OB +: OB] = {{(OB - VB){sb[VB-1]}}, sb};
                end
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            f <= {FB{1'b0}};
            out_valid <= 1'b0;
        end else if (en) begin
            out_valid <= fire;
            if (fire) f <= (f == F[FB-1:0] - 1'b1) ? {FB{1'b0}} : f + 1'b1;
        end
    end

    always @(posedge clk) begin
        if (fire) out_data <= sel0 ? w0 : w1;
    end
endmodule
`default_nettype wire
