// Streaming pool over windows that do not overlap (docs/ir.md, kinds MaxPool and AvgPool; SH >= KH,
// SW >= KW), floor mode, no padding. Input (H, W, C) as words of PE channels, output (OH, OW, C) likewise.
// Every input word is read once (H*W*C/PE cycles per frame) and folded into a one-row buffer of partial
// results (OW*C/PE words, read asynchronously: LUTRAM); a global pool is KH = H, KW = W (a CF-word buffer).
//   OP 0 (MaxPool): the maximum of the window's values (KIND as in bnnc_dec; BIPOLAR: the OR of the bits),
//                   output as the input code (OB = B).
//   OP 1 (AvgPool): the exact window sum in AW signed bits, then the multi-threshold activation of bnnc_act
//                   with the thresholds of the channel (TFILE: word cf packs thr[cf*PE + p][t] at field
//                   p*NT + t), or the sum's low OB bits when NOACT (the kind's accumulator type).
`default_nettype none
module bnnc_pool #(
    parameter H = 4,
    parameter W = 4,
    parameter C = 1,
    parameter KH = 2,
    parameter KW = 2,
    parameter SH = 2,
    parameter SW = 2,
    parameter OH = 2,
    parameter OW = 2,
    parameter PE = 1,
    parameter B = 1,
    parameter KIND = 0,
    parameter OP = 0,
    parameter AW = 8,
    parameter OB = 1,
    parameter NT = 1,
    parameter TB = 8,
    parameter NOACT = 1,
    parameter OUT_BIAS = 0,
    parameter OUT_BIPOLAR = 0,
    parameter TFILE = "thresholds.hex"
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [PE*B-1:0]  in_data,
    input  wire             in_valid,
    output wire             in_ready,
    output reg  [PE*OB-1:0] out_data,
    output reg              out_valid,
    input  wire             out_ready
);
    localparam CF = C / PE;
    localparam DEPTH = OW * CF;
    localparam AB = DEPTH > 1 ? $clog2(DEPTH) : 1;
    localparam CFB = CF > 1 ? $clog2(CF) : 1;
    localparam SB = OP == 0 ? B : AW;       // bits of one partial result
    localparam integer BACK_I = CF - 1;
    localparam [AB-1:0] BACK = BACK_I[AB-1:0];
    reg [PE*SB-1:0] accm [0:DEPTH-1];
    reg [31:0] y, ky, oy, x, kx, ox, cf;    // input (row, col) = (y, x) = (oy*SH + ky, ox*SW + kx)
    reg [AB-1:0] addr;                      // ox*CF + cf
    wire en = !out_valid || out_ready;
    assign in_ready = en;
    wire fire = en && in_valid;
    wire in_window = oy < OH && ky < KH && ox < OW && kx < KW;
    wire first = ky == 0 && kx == 0;
    wire last = ky == KH - 1 && kx == KW - 1;
    wire [PE*SB-1:0] old = accm[addr];
    wire [PE*SB-1:0] merged;
    wire [PE*OB-1:0] codes;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [CFB-1:0] tcf = cf[CFB-1:0];
    wire [PE*NT*TB-1:0] thr;                // unused unless OP 1 with an activation
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        if (OP == 1 && NOACT == 0) begin : g_thr
            reg [PE*NT*TB-1:0] tmem [0:CF-1];
            initial $readmemh(TFILE, tmem);
            assign thr = tmem[tcf];
        end else begin : g_nothr
            assign thr = {PE*NT*TB{1'b0}};
        end
    endgenerate
    genvar p;
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_pe
            if (OP == 0) begin : g_max
                wire signed [B+1:0] va, vb;
                bnnc_dec #(.B(B), .KIND(KIND), .VB(B + 2)) u_a (.code(old[p*SB +: B]), .value(va));
                bnnc_dec #(.B(B), .KIND(KIND), .VB(B + 2)) u_b (.code(in_data[p*B +: B]), .value(vb));
                assign merged[p*SB +: SB] = (first || vb > va) ? in_data[p*B +: B] : old[p*SB +: SB];
                assign codes[p*OB +: OB] = merged[p*SB +: OB];
            end else begin : g_sum
                wire signed [AW-1:0] vb;
                bnnc_dec #(.B(B), .KIND(KIND), .VB(AW)) u_b (.code(in_data[p*B +: B]), .value(vb));
                wire signed [AW-1:0] sum = (first ? {AW{1'b0}} : $signed(old[p*SB +: SB])) + vb;
                assign merged[p*SB +: SB] = sum;
                if (NOACT != 0) begin : g_noact
                    assign codes[p*OB +: OB] = sum[OB-1:0];
                end else begin : g_act
                    bnnc_act #(.VB(AW), .TB(TB), .NT(NT), .OB(OB), .OUT_BIAS(OUT_BIAS), .OUT_BIPOLAR(OUT_BIPOLAR))
                        u_act (.value(sum), .thr(thr[p*NT*TB +: NT*TB]), .code(codes[p*OB +: OB]));
                end
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (fire && in_window) accm[addr] <= merged;
    end
    always @(posedge clk) begin
        if (fire && in_window && last) out_data <= codes;
    end

    always @(posedge clk) begin
        if (rst) begin
            {y, ky, oy, x, kx, ox, cf} <= 0;
            addr <= {AB{1'b0}};
            out_valid <= 1'b0;
        end else if (en) begin
            out_valid <= fire && in_window && last;
            if (fire) begin
                if (cf == CF - 1) begin
                    cf <= 0;
                    if (x == W - 1) begin                // end of an input row
                        x <= 0;
                        kx <= 0;
                        ox <= 0;
                        addr <= {AB{1'b0}};
                        if (y == H - 1) begin            // end of the frame
                            y <= 0;
                            ky <= 0;
                            oy <= 0;
                        end else begin
                            y <= y + 1;
                            if (ky == SH - 1) begin
                                ky <= 0;
                                oy <= oy + 1;
                            end else begin
                                ky <= ky + 1;
                            end
                        end
                    end else begin
                        x <= x + 1;
                        if (kx == SW - 1) begin
                            kx <= 0;
                            ox <= ox + 1;
                            if (ox + 1 < OW) addr <= addr + 1'b1;
                        end else begin
                            kx <= kx + 1;
                            addr <= addr - BACK;     // back to this window's first channel word
                        end
                    end
                end else begin
                    cf <= cf + 1;
                    addr <= addr + 1'b1;
                end
            end
        end
    end
endmodule
`default_nettype wire
