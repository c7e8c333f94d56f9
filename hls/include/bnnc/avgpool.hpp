// Average pooling as a window sum plus thresholds (docs/ir.md, kind AvgPool; FINN: Pool / GlobalAccPool).
//
// Input (H, W, C) as words of PE channels; output (OH, OW, C) likewise. Windows are disjoint (SH >= KH,
// SW >= KW; a global pool is KH = H, KW = W): every input word is read once and added into a one-row
// accumulator of OW*C/PE words of PE sums; the last row of a window emits the threshold counts (or the
// sums when NOACT). H*W*C/PE cycles per frame.
#ifndef BNNC_AVGPOOL_HPP
#define BNNC_AVGPOOL_HPP

#include "types.hpp"

namespace bnnc {

template <unsigned H, unsigned W, unsigned C, unsigned KH, unsigned KW, unsigned SH, unsigned SW,
          unsigned OH, unsigned OW, unsigned PE, typename TI, typename TO, typename TAcc, unsigned NT, bool NOACT,
          int OUT_BIAS, typename TROM>
void avgpool(hls::stream<ap_uint<PE * TI::bits> > &in, hls::stream<ap_uint<PE * TO::bits> > &out,
             const TROM thresholds[PE][C / PE][NT], const unsigned reps) {
    static_assert(C % PE == 0, "PE must divide the channel count");
    static_assert(SH >= KH && SW >= KW, "windows must not overlap");
    static_assert(OH >= 1 && OW >= 1 && (OH - 1) * SH + KH <= H && (OW - 1) * SW + KW <= W,
                  "windows must lie inside the image");
    const unsigned CF = C / PE;
    TAcc acc[OW * CF][PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=2
    for (unsigned r = 0; r < reps; r++) {
        unsigned ky = 0, oy = 0, x = 0, kx = 0, ox = 0, cf = 0;  // input (row, col) = (oy*SH + ky, ox*SW + kx)
        for (unsigned j = 0; j < H * W * CF; j++) {
#pragma HLS PIPELINE II=1
            const ap_uint<PE * TI::bits> v = in.read();
            if (oy < OH && ky < KH && ox < OW && kx < KW) {
                const bool first = ky == 0 && kx == 0, last = ky == KH - 1 && kx == KW - 1;
                ap_uint<PE * TO::bits> y = 0;
                for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
                    const TAcc s = (first ? TAcc(0) : acc[ox * CF + cf][p]) + TAcc(TI::decode(element<TI::bits>(v, p)));
                    acc[ox * CF + cf][p] = s;
                    if (NOACT) {
                        set_element<TO::bits>(y, p, TO::encode(s));
                    } else {
                        const ap_uint<32> count = threshold_count<NT>(s, thresholds[p][cf]);
                        set_element<TO::bits>(y, p, TO::encode(ap_int<34>(OUT_BIAS) + ap_int<34>(count)));
                    }
                }
                if (last) out.write(y);
            }
            if (++cf == CF) {
                cf = 0;
                if (++kx == SW) {
                    kx = 0;
                    ox++;
                }
                if (++x == W) {
                    x = kx = ox = 0;
                    if (++ky == SH) {
                        ky = 0;
                        oy++;
                    }
                }
            }
        }
    }
}

}  // namespace bnnc

#endif
