// Matrix-vector-threshold unit (docs/ir.md, kind MVTU; FINN: MVAU) with PE/SIMD folding.
//
// PE rows in parallel, SIMD columns per cycle, one (nf, sf) step per cycle: NUM_VEC * NF * SF cycles per
// frame (NF = MH/PE, SF = MW/SIMD). The SF input words of a vector are read during neuron fold 0 and kept
// in a buffer for folds 1..NF-1. The counters simply wrap, so vectors and frames need no extra state.
//
// Weight ROM (WFILE, $readmemh, one line per word): word nf*SF + sf packs
//   weights[nf*PE + p][sf*SIMD + s] at field p*SIMD + s (WB bits, stream encoding),
// i.e. one memory word holds what all PEs need in one cycle; read synchronously, so Yosys maps it to
// block RAM (or LUTRAM when small). Threshold ROM (TFILE): word nf packs thr[nf*PE + p][t] at field
// p*NT + t (TB-bit signed); for XNOR layers thresholds are in the popcount domain (ceil((T + MW) / 2)).
// XNOR: acc counts agreeing bits (popcount of XNOR); NOACT outputs 2*acc - MW (XNOR) or acc, in OB bits.
// AW: signed accumulator width holding every partial sum of a row exactly.
// Integer path: SIMD products of exactly sized operands summed by a balanced tree of bnnc_adder carry chains;
// MUL_DSP 1 (the cost model's dsp-mac lanes) keeps products wide enough for Yosys to map them to DSP48s and
// sums them in a chain it packs into the DSP post-adders.
`default_nettype none
module bnnc_mvtu #(
    parameter MW = 4,
    parameter MH = 4,
    parameter SIMD = 1,
    parameter PE = 1,
    parameter IB = 1,
    parameter IN_KIND = 2,
    parameter WB = 1,
    parameter W_KIND = 2,
    parameter OB = 1,
    parameter AW = 8,
    parameter NT = 1,
    parameter TB = 8,
    parameter XNOR = 1,
    parameter NOACT = 0,
    parameter OUT_BIAS = 0,
    parameter OUT_BIPOLAR = 1,
    parameter WFILE = "weights.hex",
    parameter TFILE = "thresholds.hex",
    parameter MUL_DSP = 0
) (
    input  wire               clk,
    input  wire               rst,
    input  wire [SIMD*IB-1:0] in_data,
    input  wire               in_valid,
    output wire               in_ready,
    output reg  [PE*OB-1:0]   out_data,
    output reg                out_valid,
    input  wire               out_ready
);
    localparam NF = MH / PE;
    localparam SF = MW / SIMD;
    localparam WD = NF * SF;
    localparam NFB = NF > 1 ? $clog2(NF) : 1;
    localparam SFB = SF > 1 ? $clog2(SF) : 1;
    localparam WAB = WD > 1 ? $clog2(WD) : 1;
    localparam IW = SIMD * IB;
    localparam PCB = $clog2(SIMD + 1);
    localparam XS = IN_KIND == 2 ? 2 : IN_KIND == 1 ? IB : IB + 1;   // signed widths of the decoded operands
    localparam WS = W_KIND == 2 ? 2 : W_KIND == 1 ? WB : WB + 1;
    localparam PB = XS + WS;                                         // a product fits XS + WS signed bits
    localparam DB = (IB > WB ? IB : WB) + 2;                          // DSP operand width (MUL_DSP)
    localparam PW = MUL_DSP != 0 && AW > PB ? AW : PB;               // product width as computed
    localparam TD = SIMD > 1 ? $clog2(SIMD) : 0;                     // adder-tree depth

    // ---- stage 0: step counters, ROM and input-buffer reads ------------------------------------------
    wire en = !out_valid || out_ready;
    reg [NFB-1:0] nf;
    reg [SFB-1:0] sf;
    reg [WAB-1:0] waddr;
    wire fire = en && (nf != {NFB{1'b0}} || in_valid);
    assign in_ready = en && nf == {NFB{1'b0}};
    wire last_sf = sf == SF[SFB-1:0] - 1'b1;

    wire [PE*SIMD*WB-1:0] w1;
    bnnc_rom #(.W(PE*SIMD*WB), .D(WD), .FILE(WFILE), .AB(WAB)) u_wrom (.clk(clk), .en(en), .addr(waddr), .q(w1));

    reg [IW-1:0] xin1;
    reg from_in1;
    always @(posedge clk) begin
        if (en) begin
            xin1 <= in_data;
            from_in1 <= nf == {NFB{1'b0}};
        end
    end

    wire [IW-1:0] x1;
    generate
        if (NF > 1) begin : g_inbuf
            reg [IW-1:0] ibuf [0:SF-1];
            reg [IW-1:0] ib1;
            always @(posedge clk) begin
                if (fire && nf == {NFB{1'b0}}) ibuf[sf] <= in_data;
            end
            always @(posedge clk) begin
                if (en) ib1 <= ibuf[sf];
            end
            assign x1 = from_in1 ? xin1 : ib1;
        end else begin : g_noinbuf
            assign x1 = xin1;
        end
    endgenerate

    /* verilator lint_off UNUSEDSIGNAL */
    wire [PE*NT*TB-1:0] t1;                 // unused when NOACT
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        if (NOACT == 0) begin : g_thr
            bnnc_rom #(.W(PE*NT*TB), .D(NF), .FILE(TFILE), .AB(NFB)) u_trom (.clk(clk), .en(en), .addr(nf), .q(t1));
        end else begin : g_nothr
            assign t1 = {PE*NT*TB{1'b0}};
        end
    endgenerate

    reg v1, first1, last1;
    always @(posedge clk) begin
        if (rst) begin
            nf <= {NFB{1'b0}};
            sf <= {SFB{1'b0}};
            waddr <= {WAB{1'b0}};
            v1 <= 1'b0;
            out_valid <= 1'b0;
        end else if (en) begin
            v1 <= fire;
            out_valid <= v1 && last1;
            if (fire) begin
                first1 <= sf == {SFB{1'b0}};
                last1 <= last_sf;
                waddr <= (waddr == WD[WAB-1:0] - 1'b1) ? {WAB{1'b0}} : waddr + 1'b1;
                if (last_sf) begin
                    sf <= {SFB{1'b0}};
                    nf <= (nf == NF[NFB-1:0] - 1'b1) ? {NFB{1'b0}} : nf + 1'b1;
                end else begin
                    sf <= sf + 1'b1;
                end
            end
        end
    end

    // ---- stage 1: SIMD dot products, accumulation, activation -> output register --------------------
    reg [PE*AW-1:0] acc;
    wire [PE*AW-1:0] acc_next;
    wire [PE*OB-1:0] codes;
    genvar p, s;
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_pe
            // integer path: the SIMD products (leaves, AW bits each, sign-extended) and the adder-tree sums;
            // tree node n = node 2n+1 + node 2n+2 where nodes 0..SIMD-2 are the sums, SIMD-1.. the leaves
            // split_var: Verilator keeps each lane's field a variable of its own; as one wide vector it rebuilds
            // the whole vector for every lane (code quadratic in SIMD, minutes of g++ for a wide layer)
            /* verilator lint_off UNUSEDSIGNAL */
            wire [SIMD*AW-1:0] leaves /* verilator split_var */;
            wire [(SIMD > 1 ? SIMD - 1 : 1)*AW-1:0] sums /* verilator split_var */;
            wire [SIMD-1:0] agree;           // binary path: XNOR of input and weight bits
            /* verilator lint_on UNUSEDSIGNAL */
            if (XNOR != 0 && IB == 1 && WB == 1) begin : g_xnor_vec
                // all lanes in one vector operation (bipolar inputs and weights are 1-bit codes)
                assign agree = ~(x1 ^ w1[p*SIMD +: SIMD]);
            end
            for (s = 0; s < SIMD; s = s + 1) begin : g_lane
                if (XNOR != 0) begin : g_xnor
                    if (IB != 1 || WB != 1) begin : g_bit
                        assign agree[s] = ~(x1[s*IB] ^ w1[(p*SIMD + s)*WB]);
                    end
                    assign leaves[s*AW +: AW] = {AW{1'b0}};
                end else begin : g_mac
                    wire [IB-1:0] xe = x1[s*IB +: IB];
                    wire [WB-1:0] we = w1[(p*SIMD + s)*WB +: WB];
                    // decoded in place (as bnnc_dec): behind a module boundary Yosys cannot see the constant
                    // extension bits and builds full-width multipliers (3.7x the LUTs of this layer kind)
                    /* verilator lint_off UNUSEDSIGNAL */
                    wire signed [XS-1:0] xv = IN_KIND == 2 ? (xe[0] ? 1 : -1)
                                            : IN_KIND == 1 ? {{(XS - IB){xe[IB-1]}}, xe} : {{(XS - IB){1'b0}}, xe};
                    wire signed [WS-1:0] wv = W_KIND == 2 ? (we[0] ? 1 : -1)
                                            : W_KIND == 1 ? {{(WS - WB){we[WB-1]}}, we} : {{(WS - WB){1'b0}}, we};
                    wire signed [PW-1:0] prod;           // one of xv/wv is unused when the other side is +-1
                    /* verilator lint_on UNUSEDSIGNAL */
                    if (W_KIND == 2) begin : g_wsign     // +-1 weight: pass or negate, no multiplier
                        assign prod = we[0] ? {{(PW - XS){xv[XS-1]}}, xv} : -{{(PW - XS){xv[XS-1]}}, xv};
                    end else if (IN_KIND == 2) begin : g_xsign
                        assign prod = xe[0] ? {{(PW - WS){wv[WS-1]}}, wv} : -{{(PW - WS){wv[WS-1]}}, wv};
                    end else if (MUL_DSP != 0) begin : g_dsp
                        // operands behind bnnc_dec's boundary keep DB bits, so the product stays at least 9 bits
                        // wide and Yosys maps it to a DSP48 (its threshold); in place it would shrink to PB bits
                        wire signed [DB-1:0] xd, wd;
                        bnnc_dec #(.B(IB), .KIND(IN_KIND), .VB(DB)) u_x (.code(xe), .value(xd));
                        bnnc_dec #(.B(WB), .KIND(W_KIND), .VB(DB)) u_w (.code(we), .value(wd));
                        assign prod = xd * wd;
                    end else begin : g_mul
                        assign prod = xv * wv;
                    end
                    assign agree[s] = 1'b0;
                    if (PW >= AW) begin : g_leaf_trunc
                        assign leaves[s*AW +: AW] = prod[AW-1:0];
                    end else begin : g_leaf_ext
                        assign leaves[s*AW +: AW] = {{(AW - PW){prod[PW-1]}}, prod};
                    end
                end
            end
            genvar n;
            if (XNOR != 0 || MUL_DSP != 0 || SIMD == 1) begin : g_notree
                assign sums = {(SIMD > 1 ? SIMD - 1 : 1)*AW{1'b0}};
            end else begin : g_tree
                // balanced tree, each node as wide as the sums below it can be (capped at AW: sums wrap modulo
                // 2^AW and the row's total fits AW bits)
                for (n = 0; n < SIMD - 1; n = n + 1) begin : g_node
                    localparam LW = PB + TD - ($clog2(n + 2) - 1);
                    localparam NW = LW < AW ? LW : AW;
                    wire [NW-1:0] l, r, y;
                    if (2*n + 1 >= SIMD - 1) begin : g_lleaf
                        assign l = leaves[(2*n + 2 - SIMD)*AW +: NW];
                    end else begin : g_lsum
                        assign l = sums[(2*n + 1)*AW +: NW];
                    end
                    if (2*n + 2 >= SIMD - 1) begin : g_rleaf
                        assign r = leaves[(2*n + 3 - SIMD)*AW +: NW];
                    end else begin : g_rsum
                        assign r = sums[(2*n + 2)*AW +: NW];
                    end
                    bnnc_adder #(.W(NW)) u_add (.a(l), .b(r), .y(y));
                    if (NW < AW) begin : g_ext
                        assign sums[n*AW +: AW] = {{(AW - NW){y[NW-1]}}, y};
                    end else begin : g_full
                        assign sums[n*AW +: AW] = y;
                    end
                end
            end
            reg signed [AW-1:0] dot;
            if (XNOR != 0) begin : g_popcount
                reg [PCB-1:0] pc;
                integer i;
                // 1-bit codes: the lane's XNOR read here, bit by bit (Verilator would otherwise evaluate the whole
                // SIMD-bit `agree` vector in every iteration of its loop); the same logic for synthesis
                always @* begin
                    pc = {PCB{1'b0}};
                    for (i = 0; i < SIMD; i = i + 1)
                        if (IB == 1 && WB == 1) pc = pc + {{(PCB - 1){1'b0}}, ~(x1[i] ^ w1[p*SIMD + i])};
                        else pc = pc + {{(PCB - 1){1'b0}}, agree[i]};
                    dot = (first1 ? {AW{1'b0}} : acc[p*AW +: AW]) + $signed({{(AW - PCB){1'b0}}, pc});
                end
            end else if (MUL_DSP != 0) begin : g_chain
                // DSP products: a chain of sums in this module, which Yosys packs into the DSP48 post-adders
                integer i;
                always @* begin
                    dot = first1 ? {AW{1'b0}} : acc[p*AW +: AW];
                    for (i = 0; i < SIMD; i = i + 1) dot = dot + $signed(leaves[i*AW +: AW]);
                end
            end else begin : g_sum
                wire [AW-1:0] root = SIMD > 1 ? sums[0 +: AW] : leaves[0 +: AW];
                always @* dot = (first1 ? {AW{1'b0}} : acc[p*AW +: AW]) + $signed(root);
            end
            assign acc_next[p*AW +: AW] = dot;
            if (NOACT != 0) begin : g_noact
                wire signed [AW+OB+1:0] wide = {{(OB + 2){dot[AW-1]}}, dot};
                /* verilator lint_off UNUSEDSIGNAL */
                wire signed [AW+OB+1:0] value = XNOR != 0 ? 2 * wide - MW : wide;   // low OB bits: the code
                /* verilator lint_on UNUSEDSIGNAL */
                assign codes[p*OB +: OB] = value[OB-1:0];
            end else begin : g_act
                bnnc_act #(.VB(AW), .TB(TB), .NT(NT), .OB(OB), .OUT_BIAS(OUT_BIAS), .OUT_BIPOLAR(OUT_BIPOLAR))
                    u_act (.value(dot), .thr(t1[p*NT*TB +: NT*TB]), .code(codes[p*OB +: OB]));
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (en && v1) begin
            acc <= acc_next;
            if (last1) out_data <= codes;
        end
    end
endmodule
`default_nettype wire
