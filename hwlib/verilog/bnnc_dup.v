// Stream duplication (docs/ir.md, kind DuplicateStreams; FINN: DuplicateStreams): every input word is written
// to both outputs. Each output has its own register and valid flag, so one branch may accept a word while the
// other is still stalled; a new word is taken only when both registers are free (or being read), which keeps
// one word per cycle when neither branch stalls. Branch FIFO sizing: compiler/estimate/fifo.py.
`default_nettype none
module bnnc_dup #(
    parameter W = 8
) (
    input  wire         clk,
    input  wire         rst,
    input  wire [W-1:0] in_data,
    input  wire         in_valid,
    output wire         in_ready,
    output reg  [W-1:0] out0_data,
    output reg          out0_valid,
    input  wire         out0_ready,
    output reg  [W-1:0] out1_data,
    output reg          out1_valid,
    input  wire         out1_ready
);
    wire free0 = !out0_valid || out0_ready;
    wire free1 = !out1_valid || out1_ready;
    assign in_ready = free0 && free1;
    wire fire = in_valid && in_ready;

    always @(posedge clk) begin
        if (fire) begin
            out0_data <= in_data;
            out1_data <= in_data;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            out0_valid <= 1'b0;
            out1_valid <= 1'b0;
        end else begin
            if (free0) out0_valid <= fire;
            if (free1) out1_valid <= fire;
        end
    end
endmodule
`default_nettype wire
