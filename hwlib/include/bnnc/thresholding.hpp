// Standalone multi-threshold unit (docs/ir.md, kind Thresholding), PE channels per word.
// thresholds[p][nf][t] belongs to channel c = nf*PE + p.
#ifndef BNNC_THRESHOLDING_HPP
#define BNNC_THRESHOLDING_HPP

#include "types.hpp"

namespace bnnc {

template <unsigned C, unsigned PE, unsigned NUM_VEC, typename TI, typename TO, unsigned NT, int OUT_BIAS,
          typename TROM>
void thresholding(hls::stream<ap_uint<PE * TI::bits> > &in, hls::stream<ap_uint<PE * TO::bits> > &out,
                  const TROM thresholds[PE][C / PE][NT], const unsigned reps) {
    static_assert(C % PE == 0, "PE must divide the channel count");
    const unsigned NF = C / PE;
    unsigned nf = 0;
    for (unsigned i = 0; i < reps * NUM_VEC * NF; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<PE * TI::bits> x = in.read();
        ap_uint<PE * TO::bits> y = 0;
        for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
            const typename TI::value_t v = TI::decode(element<TI::bits>(x, p));
            const ap_uint<32> count = threshold_count<NT>(v, thresholds[p][nf]);
            if (TO::bipolar) {
                set_element<TO::bits>(y, p, ap_uint<TO::bits>(count));
            } else {
                const ap_int<34> o = ap_int<34>(OUT_BIAS) + ap_int<34>(count);
                set_element<TO::bits>(y, p, TO::encode(o));
            }
        }
        out.write(y);
        if (++nf == NF) nf = 0;
    }
}

}  // namespace bnnc

#endif
