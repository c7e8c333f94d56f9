// Standalone multi-threshold (docs/ir.md, kind Thresholding; FINN: Thresholding) with PE lanes.
// Words carry PE channels; channel fold cf = 0..C/PE-1 selects the threshold ROM word, which packs
// thr[cf*PE + p][t] at field p*NT + t (TB-bit signed). One word per cycle.
`default_nettype none
module bnnc_thresholding #(
    parameter C = 1,
    parameter PE = 1,
    parameter IB = 8,
    parameter IN_KIND = 1,
    parameter OB = 2,
    parameter NT = 1,
    parameter TB = 8,
    parameter OUT_BIAS = 0,
    parameter OUT_BIPOLAR = 0,
    parameter TFILE = "thresholds.hex"
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [PE*IB-1:0] in_data,
    input  wire             in_valid,
    output wire             in_ready,
    output reg  [PE*OB-1:0] out_data,
    output reg              out_valid,
    input  wire             out_ready
);
    localparam NF = C / PE;
    localparam FB = NF > 1 ? $clog2(NF) : 1;
    localparam VB = IB + 2;

    wire en = !out_valid || out_ready;
    wire fire = en && in_valid;
    assign in_ready = en;
    reg [FB-1:0] cf;
    reg v1;
    reg [PE*IB-1:0] x1;
    wire [PE*NT*TB-1:0] t1;
    bnnc_rom #(.W(PE*NT*TB), .D(NF), .FILE(TFILE), .AB(FB)) u_trom (.clk(clk), .en(en), .addr(cf), .q(t1));

    always @(posedge clk) begin
        if (en) x1 <= in_data;
    end

    always @(posedge clk) begin
        if (rst) begin
            cf <= {FB{1'b0}};
            v1 <= 1'b0;
            out_valid <= 1'b0;
        end else if (en) begin
            v1 <= fire;
            out_valid <= v1;
            if (fire) cf <= (cf == NF[FB-1:0] - 1'b1) ? {FB{1'b0}} : cf + 1'b1;
        end
    end

    wire [PE*OB-1:0] codes;
    genvar p;
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_pe
            wire signed [VB-1:0] value;
            bnnc_dec #(.B(IB), .KIND(IN_KIND), .VB(VB)) u_dec (.code(x1[p*IB +: IB]), .value(value));
            bnnc_act #(.VB(VB), .TB(TB), .NT(NT), .OB(OB), .OUT_BIAS(OUT_BIAS), .OUT_BIPOLAR(OUT_BIPOLAR))
                u_act (.value(value), .thr(t1[p*NT*TB +: NT*TB]), .code(codes[p*OB +: OB]));
        end
    endgenerate

    always @(posedge clk) begin
        if (en && v1) out_data <= codes;
    end
endmodule
`default_nettype wire
