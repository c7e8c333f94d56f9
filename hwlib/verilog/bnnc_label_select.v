// Top-k label selection (docs/ir.md, kind LabelSelect; FINN: LabelSelect).
//
// Reads N values, one per word, and writes the indices of the K largest, one per word, by descending
// value; ties go to the lower index (a later value only overtakes a slot it is strictly greater than).
// The sorted list is K registers updated by a parallel insertion, one value per cycle. After the last value
// the indices move to an output shift register, so the next frame is read while this one is written.
`default_nettype none
module bnnc_label_select #(
    parameter N = 10,
    parameter K = 1,
    parameter IB = 8,
    parameter KIND = 1,
    parameter OB = 4
) (
    input  wire          clk,
    input  wire          rst,
    input  wire [IB-1:0] in_data,
    input  wire          in_valid,
    output wire          in_ready,
    output wire [OB-1:0] out_data,
    output wire          out_valid,
    input  wire          out_ready
);
    localparam VB = IB + 2;
    localparam KB = $clog2(K + 1);
    reg [31:0] i;                                   // index of the next value
    reg [K*VB-1:0] val;
    reg [K*OB-1:0] idx;
    reg [K-1:0] used;                               // slots 0..count-1 hold values (thermometer code)
    reg [K*OB-1:0] oidx;
    reg [KB-1:0] ocount;                            // indices left to write
    wire last_in = i == N - 1;
    assign in_ready = !last_in || ocount == {KB{1'b0}};
    wire fire = in_valid && in_ready;
    assign out_valid = ocount != {KB{1'b0}};
    assign out_data = oidx[OB-1:0];
    wire out_fire = out_valid && out_ready;

    wire signed [VB-1:0] v;
    bnnc_dec #(.B(IB), .KIND(KIND), .VB(VB)) u_dec (.code(in_data), .value(v));
    wire [OB-1:0] n = i[OB-1:0];
    wire [K-1:0] used_now = i == 0 ? {K{1'b0}} : used;
    reg [K-1:0] beats;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [K:0] used_more = {used_now, 1'b1};       // one more slot in use
    /* verilator lint_on UNUSEDSIGNAL */
    reg [K*VB-1:0] val_next;
    reg [K*OB-1:0] idx_next;
    integer k;
    always @* begin
        for (k = 0; k < K; k = k + 1)
            beats[k] = !used_now[k] || v > $signed(val[k*VB +: VB]);
        for (k = 0; k < K; k = k + 1) begin
            if (!beats[k]) begin
                val_next[k*VB +: VB] = val[k*VB +: VB];
                idx_next[k*OB +: OB] = idx[k*OB +: OB];
            end else if (k == 0 || !beats[k == 0 ? 0 : k - 1]) begin
                val_next[k*VB +: VB] = v;
                idx_next[k*OB +: OB] = n;
            end else begin
                val_next[k*VB +: VB] = val[(k == 0 ? 0 : k - 1)*VB +: VB];
                idx_next[k*OB +: OB] = idx[(k == 0 ? 0 : k - 1)*OB +: OB];
            end
        end
    end

    always @(posedge clk) begin
        if (fire) begin
            val <= val_next;
            idx <= idx_next;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            i <= 0;
            used <= {K{1'b0}};
            ocount <= {KB{1'b0}};
        end else begin
            if (fire) begin
                used <= used_more[K-1:0];
                i <= last_in ? 0 : i + 1;
            end
            if (fire && last_in) begin
                oidx <= idx_next;
                ocount <= K[KB-1:0];
            end else if (out_fire) begin
                oidx <= oidx >> OB;
                ocount <= ocount - 1'b1;
            end
        end
    end
endmodule
`default_nettype wire
