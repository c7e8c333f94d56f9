// Window accumulator behind a sliding-window generator (bnnc_swg): depthwise convolution (docs/ir.md, kind
// VVAU; FINN: VectorVectorActivation) and pooling over overlapping windows (MaxPool / AvgPool with stride <
// kernel, bnnc_swg -> this module, as FINN pools with ConvolutionInputGenerator + Pool).
//
// Input: per output pixel the K = KH*KW window positions in (k, cf) order, PE channels per word (CF = C/PE
// words per position): K*CF cycles per pixel, one word per cycle. Channel c = cf*PE + p keeps a partial
// result in a CF-word buffer (LUTRAM, read asynchronously); at the last window position the result of the
// word's PE channels leaves as one output word.
//   OP 0: maximum of the values (KIND as in bnnc_dec), output as the input code (OB = IB).
//   OP 1: exact sum in AW signed bits.
//   OP 2: exact sum of value * weight; weight ROM (WFILE, $readmemh) word k*CF + cf packs weights[cf*PE + p][k]
//         at field p (WB bits, stream encoding), read synchronously (block RAM when deep).
// OP 1/2 then apply the multi-threshold activation (bnnc_act; TFILE word cf packs thr[cf*PE + p][t] at field
// p*NT + t, read synchronously) or, when NOACT, output the sum's low OB bits (the kind's accumulator type).
// Two stages: counters and ROM reads, then accumulate/activate into the output register.
`default_nettype none
module bnnc_winacc #(
    parameter K = 9,
    parameter C = 1,
    parameter PE = 1,
    parameter IB = 4,
    parameter IN_KIND = 1,
    parameter OP = 2,
    parameter WB = 4,
    parameter W_KIND = 1,
    parameter AW = 12,
    parameter OB = 4,
    parameter NT = 1,
    parameter TB = 8,
    parameter NOACT = 0,
    parameter OUT_BIAS = 0,
    parameter OUT_BIPOLAR = 0,
    parameter WFILE = "weights.hex",
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
    localparam CF = C / PE;
    localparam CFB = CF > 1 ? $clog2(CF) : 1;
    localparam KB = K > 1 ? $clog2(K) : 1;
    localparam WD = K * CF;
    localparam WAB = WD > 1 ? $clog2(WD) : 1;
    localparam SB = OP == 0 ? IB : AW;      // bits of one partial result

    // ---- stage 0: position counters, ROM reads --------------------------------------------------------
    wire en = !out_valid || out_ready;
    assign in_ready = en;
    wire fire = en && in_valid;
    reg [CFB-1:0] cf;
    reg [KB-1:0] k;
    reg [WAB-1:0] waddr;                    // k*CF + cf
    reg [PE*IB-1:0] x1;
    reg [CFB-1:0] cf1;
    reg v1, first1, last1;
    always @(posedge clk) begin
        if (en) begin
            x1 <= in_data;
            cf1 <= cf;
            first1 <= k == {KB{1'b0}};
            last1 <= k == K[KB-1:0] - 1'b1;
        end
    end
    /* verilator lint_off UNUSEDSIGNAL */
    wire [PE*WB-1:0] w1;                    // unused unless OP 2
    wire [PE*NT*TB-1:0] t1;                 // unused when there is no activation
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        if (OP == 2) begin : g_w
            bnnc_rom #(.W(PE*WB), .D(WD), .FILE(WFILE), .AB(WAB)) u_wrom (.clk(clk), .en(en), .addr(waddr), .q(w1));
        end else begin : g_now
            assign w1 = {PE*WB{1'b0}};
        end
        if (OP != 0 && NOACT == 0) begin : g_thr
            bnnc_rom #(.W(PE*NT*TB), .D(CF), .FILE(TFILE), .AB(CFB)) u_trom (.clk(clk), .en(en), .addr(cf), .q(t1));
        end else begin : g_nothr
            assign t1 = {PE*NT*TB{1'b0}};
        end
    endgenerate
    always @(posedge clk) begin
        if (rst) begin
            cf <= {CFB{1'b0}};
            k <= {KB{1'b0}};
            waddr <= {WAB{1'b0}};
            v1 <= 1'b0;
            out_valid <= 1'b0;
        end else if (en) begin
            v1 <= fire;
            out_valid <= v1 && last1;
            if (fire) begin
                waddr <= (waddr == WD[WAB-1:0] - 1'b1) ? {WAB{1'b0}} : waddr + 1'b1;
                if (cf == CF[CFB-1:0] - 1'b1) begin
                    cf <= {CFB{1'b0}};
                    k <= (k == K[KB-1:0] - 1'b1) ? {KB{1'b0}} : k + 1'b1;
                end else begin
                    cf <= cf + 1'b1;
                end
            end
        end
    end

    // ---- stage 1: accumulate (partial-result buffer), activation -> output register -----------------
    reg [PE*SB-1:0] accm [0:CF-1];
    wire [PE*SB-1:0] old = accm[cf1];
    wire [PE*SB-1:0] merged;
    wire [PE*OB-1:0] codes;
    genvar p;
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_pe
            wire [IB-1:0] xe = x1[p*IB +: IB];
            if (OP == 0) begin : g_max
                wire signed [IB+1:0] va, vb;
                bnnc_dec #(.B(IB), .KIND(IN_KIND), .VB(IB + 2)) u_a (.code(old[p*SB +: IB]), .value(va));
                bnnc_dec #(.B(IB), .KIND(IN_KIND), .VB(IB + 2)) u_b (.code(xe), .value(vb));
                assign merged[p*SB +: SB] = (first1 || vb > va) ? xe : old[p*SB +: SB];
                assign codes[p*OB +: OB] = merged[p*SB +: OB];
            end else begin : g_sum
                /* verilator lint_off UNUSEDSIGNAL */
                wire signed [AW-1:0] xv;            // unused by an integer-weight product
                /* verilator lint_on UNUSEDSIGNAL */
                bnnc_dec #(.B(IB), .KIND(IN_KIND), .VB(AW)) u_x (.code(xe), .value(xv));
                wire signed [AW-1:0] term;
                if (OP == 2) begin : g_mul
                    wire [WB-1:0] we = w1[p*WB +: WB];
                    if (W_KIND == 2) begin : g_wsign          // +-1 weight: add or subtract, no multiplier
                        assign term = we[0] ? xv : -xv;
                    end else begin : g_wint                   // an (IB+2) x (WB+2)-bit product
                        localparam PB = IB + WB + 4;
                        wire signed [IB+1:0] xs;
                        wire signed [WB+1:0] wv;
                        bnnc_dec #(.B(IB), .KIND(IN_KIND), .VB(IB + 2)) u_xs (.code(xe), .value(xs));
                        bnnc_dec #(.B(WB), .KIND(W_KIND), .VB(WB + 2)) u_w (.code(we), .value(wv));
                        /* verilator lint_off UNUSEDSIGNAL */
                        wire signed [PB-1:0] prod = xs * wv;     // high bits unused when AW < PB
                        /* verilator lint_on UNUSEDSIGNAL */
                        if (AW >= PB) begin : g_ext
                            assign term = {{(AW - PB){prod[PB-1]}}, prod};
                        end else begin : g_cut                // fits: AW bounds every partial sum
                            assign term = prod[AW-1:0];
                        end
                    end
                end else begin : g_add
                    assign term = xv;
                end
                wire signed [AW-1:0] sum = (first1 ? {AW{1'b0}} : $signed(old[p*SB +: SB])) + term;
                assign merged[p*SB +: SB] = sum;
                if (NOACT != 0) begin : g_noact
                    assign codes[p*OB +: OB] = sum[OB-1:0];
                end else begin : g_act
                    bnnc_act #(.VB(AW), .TB(TB), .NT(NT), .OB(OB), .OUT_BIAS(OUT_BIAS), .OUT_BIPOLAR(OUT_BIPOLAR))
                        u_act (.value(sum), .thr(t1[p*NT*TB +: NT*TB]), .code(codes[p*OB +: OB]));
                end
            end
        end
    endgenerate
    always @(posedge clk) begin
        if (en && v1) begin
            accm[cf1] <= merged;
            if (last1) out_data <= codes;
        end
    end
endmodule
`default_nettype wire
