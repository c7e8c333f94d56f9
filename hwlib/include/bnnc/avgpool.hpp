// Average pooling as a window sum plus thresholds (docs/ir.md, kind AvgPool; FINN: Pool / GlobalAccPool).
//
// Input (H, W, C) as words of PE channels; output (OH, OW, C) likewise. The map is swept once in its zero-padded
// form (PT, PL, PB, PR rows/columns of zeros; padding positions read no input word). A padded pixel (py, px) lies
// in at most NY = ceil(KH/SH) window rows and NX = ceil(KW/SW) window columns; each window in flight keeps its
// running sum in acc[oy % NY][ox % NX][ox / NX][cf] (window rows in flight are consecutive, so oy % NY tells
// them apart). A window's sum starts at its first pixel and is complete at its last one; distinct windows end at
// distinct pixels, in raster order, so at most one word is written per cycle and outputs leave in (oy, ox) order:
// the threshold counts, or the sums when NOACT. Disjoint windows are the case NY = NX = 1.
// (H+PT+PB)*(W+PL+PR)*C/PE cycles per frame.
#ifndef BNNC_AVGPOOL_HPP
#define BNNC_AVGPOOL_HPP

#include "types.hpp"

namespace bnnc {

template <unsigned H, unsigned W, unsigned C, unsigned KH, unsigned KW, unsigned SH, unsigned SW,
          unsigned PT, unsigned PL, unsigned PB, unsigned PR, unsigned OH, unsigned OW, unsigned PE, typename TI,
          typename TO, typename TAcc, unsigned NT, bool NOACT, int OUT_BIAS, typename TROM>
void avgpool(hls::stream<ap_uint<PE * TI::bits> > &in, hls::stream<ap_uint<PE * TO::bits> > &out,
             const TROM thresholds[PE][C / PE][NT], const unsigned reps) {
    static_assert(C % PE == 0, "PE must divide the channel count");
    static_assert(PT < KH && PB < KH && PL < KW && PR < KW, "padding must be smaller than the window");
    static_assert(OH >= 1 && OW >= 1 && (OH - 1) * SH + KH <= H + PT + PB && (OW - 1) * SW + KW <= W + PL + PR,
                  "windows must lie inside the padded image");
    const unsigned CF = C / PE, NY = (KH + SH - 1) / SH, NX = (KW + SW - 1) / SW, OWX = (OW + NX - 1) / NX;
    const unsigned HP = H + PT + PB, WP = W + PL + PR;
    TAcc acc[NY][NX][OWX * CF][PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=1
#pragma HLS ARRAY_PARTITION variable=acc complete dim=2
#pragma HLS ARRAY_PARTITION variable=acc complete dim=4
    for (unsigned r = 0; r < reps; r++) {
        unsigned py = 0, px = 0, cf = 0;
        for (unsigned j = 0; j < HP * WP * CF; j++) {
#pragma HLS PIPELINE II=1
            const bool inside = py >= PT && py < PT + H && px >= PL && px < PL + W;
            ap_uint<PE * TI::bits> v = 0;
            if (inside) v = in.read();
            ap_uint<PE * TO::bits> y = 0;
            bool emit = false;
            for (unsigned dy = 0; dy < NY; dy++) {
#pragma HLS UNROLL
                const int oy = int(py / SH) - int(dy);
                const unsigned ky = py - unsigned(oy) * SH;    // row of (py, px) inside window row oy
                if (oy < 0 || unsigned(oy) >= OH || ky >= KH) continue;
                for (unsigned dx = 0; dx < NX; dx++) {
#pragma HLS UNROLL
                    const int ox = int(px / SW) - int(dx);
                    const unsigned kx = px - unsigned(ox) * SW;
                    if (ox < 0 || unsigned(ox) >= OW || kx >= KW) continue;
                    const bool first = ky == 0 && kx == 0, last = ky == KH - 1 && kx == KW - 1;
                    const unsigned iy = unsigned(oy) % NY, ix = unsigned(ox) % NX, iw = (unsigned(ox) / NX) * CF + cf;
                    for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
                        const TAcc x = inside ? TAcc(TI::decode(element<TI::bits>(v, p))) : TAcc(0);
                        const TAcc s = (first ? TAcc(0) : acc[iy][ix][iw][p]) + x;
                        acc[iy][ix][iw][p] = s;
                        if (last) {
                            if (NOACT) {
                                set_element<TO::bits>(y, p, TO::encode(s));
                            } else {
                                const ap_uint<32> count = threshold_count<NT>(s, thresholds[p][cf]);
                                set_element<TO::bits>(y, p, TO::encode(ap_int<34>(OUT_BIAS) + ap_int<34>(count)));
                            }
                        }
                    }
                    if (last) emit = true;
                }
            }
            if (emit) out.write(y);
            if (++cf == CF) {
                cf = 0;
                if (++px == WP) {
                    px = 0;
                    py++;
                }
            }
        }
    }
}

}  // namespace bnnc

#endif
