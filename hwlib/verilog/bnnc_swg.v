// Sliding-window (im2col) generator (docs/ir.md, kind SlidingWindow; FINN: ConvolutionInputGenerator).
//
// Input: an (H, W, C) image as words of SIMD channels (CF = C/SIMD words per pixel, raster order).
// Output: for each output pixel (oy, ox) in raster order, the KH*KW*C window elements in (ky, kx, c)
// order, SIMD channels per word; pixels outside the image (padding) carry PAD_CODE. Elements are recoded
// from the input datatype (IN_KIND, as bnnc_dec) to the output's (OUT_KIND, OB bits; a zero-padded BIPOLAR
// input becomes INT2).
//
// A line buffer of NB rows is filled by a reader and emptied by a writer that run independently, also
// across frames (the reader fills the next frame's first rows while the writer finishes this one, so a
// frame costs max(writer, reader) cycles, not their sum). NB is the larger of KH+SH (one window plus the
// rows of the next output row) and LAST_ROWS + FIRST_ROWS (the rows the frame's last output row reads plus
// the rows the next frame's first output row needs), rounded up to a power of two: with only KH+SH rows,
// a frame boundary without padding (3x3, stride 1: 3 + 3 rows) stalled the writer while its producer
// delivered the next frame's first rows (CNV-W2A2: 1.07x the modelled cycles). Rows are
// counted relative to the writer's frame (rrel: rows read, the next frame's rows from H on); row rrel
// lives in slot (wslot0 + rrel) mod NB. The writer emits output row oy once rrel >= needed(oy)
// (needed = oy*SH - PAD_TOP + KH, clamped to [0, H]); the reader may read row rrel while
// rrel < oy*SH - PAD_TOP + NB, so it never overwrites a row the writer still uses. When the writer
// finishes a frame, rrel drops by H and wslot0 advances by H. The buffer is a simple dual port memory
// read synchronously (block RAM or LUTRAM).
`default_nettype none
module bnnc_swg #(
    parameter H = 4,
    parameter W = 4,
    parameter C = 1,
    parameter KH = 3,
    parameter KW = 3,
    parameter SH = 1,
    parameter SW = 1,
    parameter PAD_TOP = 0,
    parameter PAD_LEFT = 0,
    parameter OH = 2,
    parameter OW = 2,
    parameter SIMD = 1,
    parameter IB = 1,
    parameter IN_KIND = 0,
    parameter OB = 1,
    parameter OUT_KIND = 0,
    parameter PAD_CODE = 0
) (
    input  wire               clk,
    input  wire               rst,
    input  wire [SIMD*IB-1:0] in_data,
    input  wire               in_valid,
    output wire               in_ready,
    output wire [SIMD*OB-1:0] out_data,
    output reg                out_valid,
    input  wire               out_ready
);
    localparam CF = C / SIMD;
    localparam ROW = W * CF;
    localparam integer LAST_ROWS = H - ((OH - 1) * SH - PAD_TOP);
    localparam integer FIRST_ROWS = KH - PAD_TOP < H ? KH - PAD_TOP : H;
    localparam integer ROWS = KH + SH > LAST_ROWS + FIRST_ROWS ? KH + SH : LAST_ROWS + FIRST_ROWS;
    localparam LNB = $clog2(ROWS);
    localparam NB = 1 << LNB;
    localparam DEPTH = NB * ROW;
    localparam AB = $clog2(DEPTH);
    localparam OWW = SIMD * OB;

    reg [OWW-1:0] mem [0:DEPTH-1];

    // ---- reader -------------------------------------------------------------------------------------
    reg [31:0] rrel, rcol;                  // rows read (relative to the writer's frame) / word within the row
    reg [LNB-1:0] rslot, wslot0;            // slot of the row being read / of the writer's frame row 0
    reg [31:0] oy;                          // writer's output row
    wire signed [31:0] limit = $signed(oy * SH) - PAD_TOP + NB;
    wire may_read = $signed(rrel) < limit;
    assign in_ready = may_read;
    wire rfire = in_valid && may_read;
    wire row_read = rfire && rcol == ROW - 1;
    wire [OWW-1:0] recoded;
    genvar s;
    generate
        for (s = 0; s < SIMD; s = s + 1) begin : g_recode
            /* verilator lint_off UNUSEDSIGNAL */
            wire signed [IB+OB+1:0] value;   // only the low OB bits are the recoded element
            /* verilator lint_on UNUSEDSIGNAL */
            bnnc_dec #(.B(IB), .KIND(IN_KIND), .VB(IB + OB + 2)) u_dec (.code(in_data[s*IB +: IB]), .value(value));
            if (OUT_KIND == 2) begin : g_bipolar
                assign recoded[s*OB +: OB] = value > 0;
            end else begin : g_int
                assign recoded[s*OB +: OB] = value[OB-1:0];
            end
        end
    endgenerate
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] waddr = {{(32 - LNB){1'b0}}, rslot} * ROW + rcol;
    /* verilator lint_on UNUSEDSIGNAL */
    always @(posedge clk) begin
        if (rfire) mem[waddr[AB-1:0]] <= recoded;
    end

    // ---- writer -------------------------------------------------------------------------------------
    reg [31:0] ox, ky, kx, cf;
    wire signed [31:0] need_raw = $signed(oy * SH) - PAD_TOP + KH;
    wire [31:0] needed = need_raw <= 0 ? 32'd0 : (need_raw >= H ? H : need_raw);
    wire en = !out_valid || out_ready;
    wire issue = en && $signed(rrel) >= $signed(needed);
    wire frame_written = issue && cf == CF - 1 && kx == KW - 1 && ky == KH - 1 && ox == OW - 1 && oy == OH - 1;
    wire signed [31:0] iy = $signed(oy * SH + ky) - PAD_TOP;
    wire signed [31:0] ix = $signed(ox * SW + kx) - PAD_LEFT;
    wire in_image = iy >= 0 && iy < H && ix >= 0 && ix < W;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] uiy = iy, uix = ix;
    wire [LNB-1:0] rdslot = wslot0 + uiy[LNB-1:0];
    wire [31:0] raddr = {{(32 - LNB){1'b0}}, rdslot} * ROW + uix * CF + cf;
    /* verilator lint_on UNUSEDSIGNAL */
    reg [OWW-1:0] q;
    reg pad1;
    always @(posedge clk) begin
        if (en) begin
            q <= mem[raddr[AB-1:0]];
            pad1 <= !in_image;
        end
    end
    assign out_data = pad1 ? {SIMD{PAD_CODE[OB-1:0]}} : q;

    localparam integer HMOD = H % NB;
    always @(posedge clk) begin
        if (rst) begin
            rrel <= 0;
            rcol <= 0;
            rslot <= {LNB{1'b0}};
            wslot0 <= {LNB{1'b0}};
            oy <= 0;
            ox <= 0;
            ky <= 0;
            kx <= 0;
            cf <= 0;
            out_valid <= 1'b0;
        end else begin
            if (en) out_valid <= issue;
            if (rfire) begin
                if (rcol == ROW - 1) begin
                    rcol <= 0;
                    rslot <= rslot + 1'b1;
                end else begin
                    rcol <= rcol + 1;
                end
            end
            rrel <= rrel + (row_read ? 32'd1 : 32'd0) - (frame_written ? H : 32'd0);
            if (frame_written) wslot0 <= wslot0 + HMOD[LNB-1:0];
            if (issue) begin
                if (cf == CF - 1) begin
                    cf <= 0;
                    if (kx == KW - 1) begin
                        kx <= 0;
                        if (ky == KH - 1) begin
                            ky <= 0;
                            if (ox == OW - 1) begin
                                ox <= 0;
                                oy <= oy == OH - 1 ? 0 : oy + 1;
                            end else begin
                                ox <= ox + 1;
                            end
                        end else begin
                            ky <= ky + 1;
                        end
                    end else begin
                        kx <= kx + 1;
                    end
                end else begin
                    cf <= cf + 1;
                end
            end
        end
    end
endmodule
`default_nettype wire
