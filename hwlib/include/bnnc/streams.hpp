// Stream plumbing: width converters between layers with different folding, and the AXI-stream
// adapters at the accelerator's boundary (docs/ir.md "Stream packing").
#ifndef BNNC_STREAMS_HPP
#define BNNC_STREAMS_HPP

#include "types.hpp"

// AXI-stream beat. Under Vitis HLS ap_axi_sdata.h provides ap_axiu (TDATA/TKEEP/TSTRB/TLAST side
// channels); for plain g++ C simulation a struct with the same member names stands in.
#if defined(__SYNTHESIS__) || (defined(__has_include) && __has_include(<ap_axi_sdata.h>))
#include <ap_axi_sdata.h>
namespace bnnc {
template <unsigned W> struct axis_beat { typedef ap_axiu<W, 0, 0, 0> type; };
}
#else
namespace bnnc {
template <unsigned W> struct axis_word {
    ap_uint<W> data;
    ap_uint<W / 8> keep;
    ap_uint<W / 8> strb;
    ap_uint<1> last;
};
template <unsigned W> struct axis_beat { typedef axis_word<W> type; };
}  // namespace bnnc
#endif

namespace bnnc {

// Re-chunk a stream of IN-element words into OUT-element words (B bits per element), TOTAL elements
// per frame. Each iteration either emits a full output word or reads one input word into a shift
// buffer, so it takes TOTAL/IN + TOTAL/OUT cycles per frame for any IN/OUT ratio.
template <unsigned IN, unsigned OUT, unsigned B, unsigned TOTAL>
void width_convert(hls::stream<ap_uint<IN * B> > &in, hls::stream<ap_uint<OUT * B> > &out, const unsigned reps) {
    static_assert(TOTAL % IN == 0 && TOTAL % OUT == 0, "word sizes must divide the frame");
    ap_uint<(IN + OUT) * B> buf = 0;
    unsigned fill = 0;  // elements held in buf
    for (unsigned i = 0; i < reps * (TOTAL / IN + TOTAL / OUT); i++) {
#pragma HLS PIPELINE II=1
        if (fill >= OUT) {
            out.write(ap_uint<OUT * B>(buf(OUT * B - 1, 0)));
            buf = buf >> (OUT * B);
            fill -= OUT;
        } else {
            const ap_uint<(IN + OUT) * B> w = in.read();
            buf |= w << (fill * B);
            fill += IN;
        }
    }
}

// AXI-stream words in (the low WB bits of each AXI_BITS-wide beat; TLAST is not needed) -> packed words.
template <unsigned WB, unsigned AXI_BITS>
void axis_to_words(hls::stream<typename axis_beat<AXI_BITS>::type> &in, hls::stream<ap_uint<WB> > &out,
                   const unsigned words_per_frame, const unsigned reps) {
    static_assert(WB <= AXI_BITS, "a word must fit in one AXI beat");
    for (unsigned i = 0; i < reps * words_per_frame; i++) {
#pragma HLS PIPELINE II=1
        const typename axis_beat<AXI_BITS>::type beat = in.read();
        out.write(ap_uint<WB>(beat.data(WB - 1, 0)));
    }
}

// Packed words -> AXI-stream beats (zero-extended to AXI_BITS). TLAST marks the last word of the batch,
// so one DMA receive transfer covers all `reps` frames.
template <unsigned WB, unsigned AXI_BITS>
void words_to_axis(hls::stream<ap_uint<WB> > &in, hls::stream<typename axis_beat<AXI_BITS>::type> &out,
                   const unsigned words_per_frame, const unsigned reps) {
    static_assert(WB <= AXI_BITS, "a word must fit in one AXI beat");
    const unsigned total = reps * words_per_frame;
    for (unsigned i = 0; i < total; i++) {
#pragma HLS PIPELINE II=1
        typename axis_beat<AXI_BITS>::type beat;
        beat.data = ap_uint<AXI_BITS>(in.read());
        beat.keep = -1;
        beat.strb = -1;
        beat.last = (i == total - 1) ? 1 : 0;
        out.write(beat);
    }
}

}  // namespace bnnc

#endif
