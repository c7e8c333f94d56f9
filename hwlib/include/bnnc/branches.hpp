// Branching stages of a stream DAG (docs/ir.md "Streams"; FINN: DuplicateStreams, AddStreams, StreamingConcat).
//
// duplicate: every word of `in` is written to both outputs (one word per cycle).
// add_streams: one word of PE elements from each input per cycle; acc = (a * M0 << SHIFT0) + (b * M1 << SHIFT1)
// per element (M0, M1: integer multipliers for branch scales not a power of two apart), then thresholds (or the sum
// when NOACT). The branch FIFOs that keep this deadlock-free are sized
// by the code generator (compiler/estimate/fifo.py, docs/cost_model.md "Branch FIFOs").
#ifndef BNNC_BRANCHES_HPP
#define BNNC_BRANCHES_HPP

#include "types.hpp"

namespace bnnc {

template <unsigned WORDS, unsigned WIDTH>
void duplicate(hls::stream<ap_uint<WIDTH> > &in, hls::stream<ap_uint<WIDTH> > &out0,
               hls::stream<ap_uint<WIDTH> > &out1, const unsigned reps) {
    for (unsigned i = 0; i < reps * WORDS; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<WIDTH> v = in.read();
        out0.write(v);
        out1.write(v);
    }
}

template <unsigned C, unsigned PE, unsigned NUM_VEC, typename TI0, typename TI1, typename TO, typename TAcc,
          unsigned SHIFT0, unsigned SHIFT1, unsigned NT, bool NOACT, int OUT_BIAS, unsigned M0 = 1, unsigned M1 = 1,
          typename TROM>
void add_streams(hls::stream<ap_uint<PE * TI0::bits> > &in0, hls::stream<ap_uint<PE * TI1::bits> > &in1,
                 hls::stream<ap_uint<PE * TO::bits> > &out, const TROM thresholds[PE][C / PE][NT],
                 const unsigned reps) {
    static_assert(C % PE == 0, "PE must divide the channel count");
    const unsigned NF = C / PE;
    unsigned nf = 0;
    for (unsigned i = 0; i < reps * NUM_VEC * NF; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<PE * TI0::bits> a = in0.read();
        const ap_uint<PE * TI1::bits> b = in1.read();
        ap_uint<PE * TO::bits> y = 0;
        for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
            const TAcc s = (TAcc(TAcc(TI0::decode(element<TI0::bits>(a, p))) * TAcc(M0)) << SHIFT0) +
                           (TAcc(TAcc(TI1::decode(element<TI1::bits>(b, p))) * TAcc(M1)) << SHIFT1);
            if (NOACT) {
                set_element<TO::bits>(y, p, TO::encode(s));
            } else {
                const ap_uint<32> count = threshold_count<NT>(s, thresholds[p][nf]);
                if (TO::bipolar) {
                    set_element<TO::bits>(y, p, ap_uint<TO::bits>(count));
                } else {
                    set_element<TO::bits>(y, p, TO::encode(ap_int<34>(OUT_BIAS) + ap_int<34>(count)));
                }
            }
        }
        out.write(y);
        if (++nf == NF) nf = 0;
    }
}

// concat_streams: per vector, the C0/PE words of in0 then the C1/PE words of in1, each element * M0 << SHIFT0 /
// * M1 << SHIFT1 (M0, M1: integer multipliers for branch scales in an exact ratio M0 : M1) and re-encoded as TO
// (one output word per cycle; FINN: StreamingConcat).
template <unsigned C0, unsigned C1, unsigned PE, unsigned NUM_VEC, typename TI0, typename TI1, typename TO,
          unsigned SHIFT0, unsigned SHIFT1, unsigned M0 = 1, unsigned M1 = 1>
void concat_streams(hls::stream<ap_uint<PE * TI0::bits> > &in0, hls::stream<ap_uint<PE * TI1::bits> > &in1,
                    hls::stream<ap_uint<PE * TO::bits> > &out, const unsigned reps) {
    static_assert(C0 % PE == 0 && C1 % PE == 0, "PE must divide both channel counts");
    const unsigned F0 = C0 / PE, F = (C0 + C1) / PE;
    unsigned f = 0;
    for (unsigned i = 0; i < reps * NUM_VEC * F; i++) {
#pragma HLS PIPELINE II=1
        ap_uint<PE * TO::bits> y = 0;
        if (f < F0) {
            const ap_uint<PE * TI0::bits> a = in0.read();
            for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
                const ap_int<40> v = (ap_int<40>(TI0::decode(element<TI0::bits>(a, p))) * ap_int<40>(M0)) << SHIFT0;
                set_element<TO::bits>(y, p, TO::encode(v));
            }
        } else {
            const ap_uint<PE * TI1::bits> b = in1.read();
            for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
                const ap_int<40> v = (ap_int<40>(TI1::decode(element<TI1::bits>(b, p))) * ap_int<40>(M1)) << SHIFT1;
                set_element<TO::bits>(y, p, TO::encode(v));
            }
        }
        out.write(y);
        if (++f == F) f = 0;
    }
}

}  // namespace bnnc

#endif
