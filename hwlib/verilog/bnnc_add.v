// Element-wise add of two streams (docs/ir.md, kind AddStreams; FINN: AddStreams) with PE lanes:
// acc = (a * M0 << SHIFT0) + (b * M1 << SHIFT1) per element (M0, M1 >= 1: integer multipliers for branch scales
// that are not a power of two apart), exact in AB bits, then either the sum itself (NOACT: its
// two's-complement code in OB bits, out_dtype == acc_dtype) or multi-thresholds as bnnc_thresholding (ROM word
// cf = channel fold packs thr[cf*PE + p][t] at field p*NT + t, TB-bit signed). A word is taken when both
// inputs have one (a join); one word per cycle, two pipeline stages.
`default_nettype none
module bnnc_add #(
    parameter C = 1,
    parameter PE = 1,
    parameter IB0 = 4,
    parameter KIND0 = 1,
    parameter IB1 = 4,
    parameter KIND1 = 1,
    parameter SHIFT0 = 0,
    parameter SHIFT1 = 0,
    parameter M0 = 1,
    parameter M1 = 1,
    parameter OB = 4,
    parameter NOACT = 0,
    parameter NT = 1,
    parameter TB = 8,
    parameter OUT_BIAS = 0,
    parameter OUT_BIPOLAR = 0,
    parameter TFILE = "thresholds.hex"
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
    localparam NF = C / PE;
    localparam FB = NF > 1 ? $clog2(NF) : 1;
    localparam MB0 = M0 > 1 ? $clog2(M0 + 1) : 0;    // bits the integer multipliers add
    localparam MB1 = M1 > 1 ? $clog2(M1 + 1) : 0;
    localparam V0 = IB0 + 1 + SHIFT0 + MB0;
    localparam V1 = IB1 + 1 + SHIFT1 + MB1;
    localparam AB = (V0 > V1 ? V0 : V1) + 1;          // the exact sum: no overflow, no saturation
    localparam signed [AB-1:0] SM0 = M0;
    localparam signed [AB-1:0] SM1 = M1;

    wire en = !out_valid || out_ready;
    wire both = in0_valid && in1_valid;
    wire fire = en && both;
    assign in0_ready = en && in1_valid;
    assign in1_ready = en && in0_valid;

    reg v1;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [PE*AB-1:0] s1;                                // NOACT keeps the low OB bits of each sum
    /* verilator lint_on UNUSEDSIGNAL */
    wire [PE*AB-1:0] sum;
    genvar p;
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_sum
            wire signed [IB0:0] a;
            wire signed [IB1:0] b;
            bnnc_dec #(.B(IB0), .KIND(KIND0), .VB(IB0 + 1)) u_a (.code(in0_data[p*IB0 +: IB0]), .value(a));
            bnnc_dec #(.B(IB1), .KIND(KIND1), .VB(IB1 + 1)) u_b (.code(in1_data[p*IB1 +: IB1]), .value(b));
            wire signed [AB-1:0] ea = {{(AB - IB0 - 1){a[IB0]}}, a};
            wire signed [AB-1:0] eb = {{(AB - IB1 - 1){b[IB1]}}, b};
            wire signed [AB-1:0] ma = ea * SM0;
            wire signed [AB-1:0] mb = eb * SM1;
            assign sum[p*AB +: AB] = (ma <<< SHIFT0) + (mb <<< SHIFT1);
        end
    endgenerate

    always @(posedge clk) begin
        if (en) s1 <= sum;
    end

    always @(posedge clk) begin
        if (rst) begin
            v1 <= 1'b0;
            out_valid <= 1'b0;
        end else if (en) begin
            v1 <= fire;
            out_valid <= v1;
        end
    end

    wire [PE*OB-1:0] codes;
    generate
        if (NOACT != 0) begin : g_noact
            for (p = 0; p < PE; p = p + 1) begin : g_pe
                if (OB <= AB) begin : g_cut
                    assign codes[p*OB +: OB] = s1[p*AB +: OB];
                end else begin : g_ext
                    assign codes[p*OB +: OB] = {{(OB - AB){s1[p*AB + AB - 1]}}, s1[p*AB +: AB]};
                end
            end
        end else begin : g_act
            reg [FB-1:0] cf;
            wire [PE*NT*TB-1:0] t1;
            bnnc_rom #(.W(PE*NT*TB), .D(NF), .FILE(TFILE), .AB(FB)) u_trom (.clk(clk), .en(en), .addr(cf), .q(t1));
            always @(posedge clk) begin
                if (rst) cf <= {FB{1'b0}};
                else if (fire) cf <= (cf == NF[FB-1:0] - 1'b1) ? {FB{1'b0}} : cf + 1'b1;
            end
            for (p = 0; p < PE; p = p + 1) begin : g_pe
                bnnc_act #(.VB(AB), .TB(TB), .NT(NT), .OB(OB), .OUT_BIAS(OUT_BIAS), .OUT_BIPOLAR(OUT_BIPOLAR))
                    u_act (.value(s1[p*AB +: AB]), .thr(t1[p*NT*TB +: NT*TB]), .code(codes[p*OB +: OB]));
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (en && v1) out_data <= codes;
    end
endmodule
`default_nettype wire
