// Depthwise convolution unit (docs/ir.md, kind VVAU; FINN: VectorVectorActivation).
//
// Input: per output pixel the sliding window's K*C elements in (k, c) order, as words of PE channels of one
// window position; weights[p][cf][k] belongs to channel c = cf*PE + p. Each word is multiplied into PE
// accumulators of its channel group; at the last window position the group's thresholds (or, NOACT, the
// accumulators) go out as one word of PE channels. NUM_VEC * K * C/PE cycles per frame.
#ifndef BNNC_VVAU_HPP
#define BNNC_VVAU_HPP

#include "types.hpp"

namespace bnnc {

template <unsigned C, unsigned PE, unsigned K, unsigned NUM_VEC, typename TI, typename TO, typename TAcc,
          unsigned NT, bool NOACT, int OUT_BIAS, typename WROM, typename TROM>
void vvau(hls::stream<ap_uint<PE * TI::bits> > &in, hls::stream<ap_uint<PE * TO::bits> > &out,
          const WROM weights[PE][C / PE][K], const TROM thresholds[PE][C / PE][NT], const unsigned reps) {
    static_assert(C % PE == 0, "PE must divide the channel count");
    const unsigned CF = C / PE;
    TAcc acc[CF][PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=2
    unsigned k = 0, cf = 0;
    for (unsigned i = 0; i < reps * NUM_VEC * K * CF; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<PE * TI::bits> x = in.read();
        ap_uint<PE * TO::bits> y = 0;
        for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
            const TAcc prod = TAcc(TI::decode(element<TI::bits>(x, p))) * TAcc(weights[p][cf][k]);
            const TAcc s = (k == 0 ? TAcc(0) : acc[cf][p]) + prod;
            acc[cf][p] = s;
            if (NOACT) {
                set_element<TO::bits>(y, p, TO::encode(s));
            } else {
                const ap_uint<32> count = threshold_count<NT>(s, thresholds[p][cf]);
                if (TO::bipolar) {
                    set_element<TO::bits>(y, p, ap_uint<TO::bits>(count));
                } else {
                    set_element<TO::bits>(y, p, TO::encode(ap_int<34>(OUT_BIAS) + ap_int<34>(count)));
                }
            }
        }
        if (k == K - 1) out.write(y);
        if (++cf == CF) {
            cf = 0;
            if (++k == K) k = 0;
        }
    }
}

}  // namespace bnnc

#endif
