// Stream FIFO (valid/ready on both sides), DEPTH words of W bits.
// Storage is a register array read asynchronously (Yosys maps it to LUTRAM, like the SRL FIFOs of the HLS
// top). MAX_LEVEL records the highest occupancy seen since reset, so a co-simulation can report how full
// each FIFO got.
`default_nettype none
module bnnc_fifo #(
    parameter W = 8,
    parameter DEPTH = 32
) (
    input  wire         clk,
    input  wire         rst,
    input  wire [W-1:0] in_data,
    input  wire         in_valid,
    output wire         in_ready,
    output wire [W-1:0] out_data,
    output wire         out_valid,
    input  wire         out_ready,
    output reg  [31:0]  max_level
);
    localparam AB = DEPTH > 1 ? $clog2(DEPTH) : 1;
    localparam CB = $clog2(DEPTH + 1);
    reg [W-1:0] mem [0:DEPTH-1];
    reg [AB-1:0] rd, wr;
    reg [CB-1:0] count;
    wire push = in_valid && in_ready;
    wire pop = out_valid && out_ready;
    assign in_ready = count != DEPTH[CB-1:0];
    assign out_valid = count != {CB{1'b0}};
    assign out_data = mem[rd];

    always @(posedge clk) begin
        if (push) mem[wr] <= in_data;
    end

    always @(posedge clk) begin
        if (rst) begin
            rd <= {AB{1'b0}};
            wr <= {AB{1'b0}};
            count <= {CB{1'b0}};
            max_level <= 32'd0;
        end else begin
            if (push) wr <= (wr == DEPTH[AB-1:0] - 1'b1) ? {AB{1'b0}} : wr + 1'b1;
            if (pop) rd <= (rd == DEPTH[AB-1:0] - 1'b1) ? {AB{1'b0}} : rd + 1'b1;
            if (push && !pop) count <= count + 1'b1;
            else if (pop && !push) count <= count - 1'b1;
            if ({{(32 - CB){1'b0}}, count} > max_level) max_level <= {{(32 - CB){1'b0}}, count};
        end
    end
endmodule
`default_nettype wire
