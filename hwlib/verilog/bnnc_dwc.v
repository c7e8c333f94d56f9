// Stream width converter: words of IN elements -> words of OUT elements (B bits each, element 0 in the
// least-significant bits, docs/ir.md "Stream packing"). Elements keep their order; one word may enter and one
// leave in the same cycle, so it never slows the faster side. Integer ratios take the cheap paths (the general
// path's variable shift costs 1.5-6.5x max(IN, OUT)*B LUTs, benchmarks/rtl_dwc.py): IN = K*OUT holds one input
// word and sends its K slices through a K:1 mux; OUT = K*IN shifts K input words into the output word.
// Otherwise a buffer of IN+OUT elements with a fill count.
`default_nettype none
module bnnc_dwc #(
    parameter IN = 1,
    parameter OUT = 1,
    parameter B = 1
) (
    input  wire              clk,
    input  wire              rst,
    input  wire [IN*B-1:0]   in_data,
    input  wire              in_valid,
    output wire              in_ready,
    output wire [OUT*B-1:0]  out_data,
    output wire              out_valid,
    input  wire              out_ready
);
    generate
        if (IN > OUT && IN % OUT == 0) begin : g_down
            localparam K = IN / OUT;
            localparam KB = $clog2(K);
            reg [IN*B-1:0] word;
            reg [KB-1:0] idx;                    // output words of `word` already sent
            reg full;
            wire last = idx == K[KB-1:0] - 1'b1;
            wire out_fire = full && out_ready;
            assign out_valid = full;
            reg [OUT*B-1:0] slice;               // a K:1 mux (an indexed part-select would be a shifter)
            integer k;
            always @* begin
                slice = word[OUT*B-1:0];
                for (k = 1; k < K; k = k + 1) if (idx == k[KB-1:0]) slice = word[k*OUT*B +: OUT*B];
            end
            assign out_data = slice;
            assign in_ready = !full || (out_ready && last);
            wire in_fire = in_valid && in_ready;
            always @(posedge clk) begin
                if (rst) begin
                    full <= 1'b0;
                    idx <= {KB{1'b0}};
                end else begin
                    if (in_fire) begin
                        word <= in_data;
                        full <= 1'b1;
                        idx <= {KB{1'b0}};
                    end else if (out_fire) begin
                        full <= !last;
                        idx <= idx + 1'b1;
                    end
                end
            end
        end else if (OUT > IN && OUT % IN == 0) begin : g_up
            localparam K = OUT / IN;
            localparam KB = $clog2(K + 1);
            reg [OUT*B-1:0] word;
            reg [KB-1:0] cnt;                    // input words in `word`
            wire full = cnt == K[KB-1:0];
            wire out_fire = full && out_ready;
            assign out_valid = full;
            assign out_data = word;
            assign in_ready = !full || out_ready;
            wire in_fire = in_valid && in_ready;
            always @(posedge clk) begin
                if (rst) begin
                    cnt <= {KB{1'b0}};
                end else if (in_fire) begin
                    cnt <= (out_fire ? {KB{1'b0}} : cnt) + 1'b1;
                end else if (out_fire) begin
                    cnt <= {KB{1'b0}};
                end
            end
            always @(posedge clk) begin           // K >= 2: the first input word ends in the low bits
                if (in_fire) word <= {in_data, word[OUT*B-1:IN*B]};
            end
        end else begin : g_any
        localparam CAP = IN + OUT;
        localparam FB = $clog2(CAP + 1);
        reg [CAP*B-1:0] buffer;
        reg [FB-1:0] fill;                       // elements held
        wire out_fire = out_valid && out_ready;
        wire [FB-1:0] kept = out_fire ? fill - OUT[FB-1:0] : fill;
        assign out_valid = fill >= OUT[FB-1:0];
        assign out_data = buffer[OUT*B-1:0];
        assign in_ready = {1'b0, kept} + IN <= CAP;
        wire in_fire = in_valid && in_ready;
        wire [CAP*B-1:0] shifted = out_fire ? buffer >> (OUT * B) : buffer;
        wire [CAP*B-1:0] incoming = {{(CAP*B - IN*B){1'b0}}, in_data} << (kept * B);

        always @(posedge clk) begin
            if (rst) begin
                fill <= {FB{1'b0}};
                buffer <= {CAP*B{1'b0}};
            end else begin
                buffer <= in_fire ? (shifted | incoming) : shifted;
                fill <= in_fire ? kept + IN[FB-1:0] : kept;
            end
        end
    end
    endgenerate
endmodule
`default_nettype wire
