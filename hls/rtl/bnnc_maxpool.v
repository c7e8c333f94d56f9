// Streaming max-pool for non-overlapping windows (docs/ir.md, kind MaxPool; SH >= KH, SW >= KW), floor
// mode, no padding. Input (H, W, C) as words of PE channels, output (OH, OW, C) likewise. Every input word
// is read once (H*W*C/PE cycles per frame) and folded into a one-row buffer of partial maxima (OW*C/PE
// words, read asynchronously: LUTRAM). Maxima are taken on values (KIND as in bnnc_dec; for BIPOLAR the
// OR of the bits).
`default_nettype none
module bnnc_maxpool #(
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
    parameter KIND = 0
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [PE*B-1:0]  in_data,
    input  wire             in_valid,
    output wire             in_ready,
    output reg  [PE*B-1:0]  out_data,
    output reg              out_valid,
    input  wire             out_ready
);
    localparam CF = C / PE;
    localparam DEPTH = OW * CF;
    localparam AB = DEPTH > 1 ? $clog2(DEPTH) : 1;
    localparam integer BACK_I = CF - 1;
    localparam [AB-1:0] BACK = BACK_I[AB-1:0];
    reg [PE*B-1:0] accm [0:DEPTH-1];
    reg [31:0] y, ky, oy, x, kx, ox, cf;    // input (row, col) = (y, x) = (oy*SH + ky, ox*SW + kx)
    reg [AB-1:0] addr;                      // ox*CF + cf
    wire en = !out_valid || out_ready;
    assign in_ready = en;
    wire fire = en && in_valid;
    wire in_window = oy < OH && ky < KH && ox < OW && kx < KW;
    wire first = ky == 0 && kx == 0;
    wire last = ky == KH - 1 && kx == KW - 1;
    wire [PE*B-1:0] old = accm[addr];
    wire [PE*B-1:0] merged;
    genvar p;
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_pe
            wire signed [B+1:0] va, vb;
            bnnc_dec #(.B(B), .KIND(KIND), .VB(B + 2)) u_a (.code(old[p*B +: B]), .value(va));
            bnnc_dec #(.B(B), .KIND(KIND), .VB(B + 2)) u_b (.code(in_data[p*B +: B]), .value(vb));
            assign merged[p*B +: B] = (first || vb > va) ? in_data[p*B +: B] : old[p*B +: B];
        end
    endgenerate

    always @(posedge clk) begin
        if (fire && in_window) accm[addr] <= merged;
    end
    always @(posedge clk) begin
        if (en && fire && in_window && last) out_data <= merged;
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
                            if (ox < OW - 1) addr <= addr + 1'b1;
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
