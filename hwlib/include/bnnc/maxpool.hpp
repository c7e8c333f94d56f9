// Streaming max-pool (docs/ir.md, kind MaxPool; FINN: StreamingMaxPool), no padding, floor mode.
//
// Input (H, W, C) as words of PE channels; output (OH, OW, C) likewise; maxima are taken on values
// (for BIPOLAR this is the OR of the bits). Two implementations; the code generator picks one:
//  - windows that do not overlap (SH >= KH and SW >= KW, e.g. the usual 2x2/2): every input word is
//    read once and folded into a one-row accumulator; H*W*C/PE cycles per frame;
//  - overlapping windows: a line buffer of the last KH rows, then KH*KW buffer reads per output word.
#ifndef BNNC_MAXPOOL_HPP
#define BNNC_MAXPOOL_HPP

#include "types.hpp"

#define BNNC_MAXPOOL_CHECKS                                                                           \
    static_assert(C % PE == 0, "PE must divide the channel count");                                   \
    static_assert(OH >= 1 && OW >= 1 && (OH - 1) * SH + KH <= H && (OW - 1) * SW + KW <= W,             \
                  "windows must lie inside the image");

namespace bnnc {

template <unsigned PE, typename T>
inline ap_uint<PE * T::bits> max_word(const ap_uint<PE * T::bits> &a, const ap_uint<PE * T::bits> &b) {
#pragma HLS INLINE
    ap_uint<PE * T::bits> y = 0;
    for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
        const typename T::value_t va = T::decode(element<T::bits>(a, p));
        const typename T::value_t vb = T::decode(element<T::bits>(b, p));
        set_element<T::bits>(y, p, element<T::bits>(vb > va ? b : a, p));
    }
    return y;
}

template <unsigned H, unsigned W, unsigned C, unsigned KH, unsigned KW, unsigned SH, unsigned SW,
          unsigned OH, unsigned OW, unsigned PE, typename T>
void maxpool_disjoint(hls::stream<ap_uint<PE * T::bits> > &in, hls::stream<ap_uint<PE * T::bits> > &out,
                      const unsigned reps) {
    static_assert(SH >= KH && SW >= KW, "windows must not overlap");
    BNNC_MAXPOOL_CHECKS
    const unsigned CF = C / PE;
    typedef ap_uint<PE * T::bits> word_t;
    word_t acc[OW * CF];
    for (unsigned r = 0; r < reps; r++) {
        unsigned ky = 0, oy = 0, x = 0, kx = 0, ox = 0, cf = 0;  // input (row, col) = (oy*SH + ky, ox*SW + kx)
        for (unsigned j = 0; j < H * W * CF; j++) {
#pragma HLS PIPELINE II=1
            const word_t v = in.read();
            if (oy < OH && ky < KH && ox < OW && kx < KW) {
                const word_t m = (ky == 0 && kx == 0) ? v : max_word<PE, T>(acc[ox * CF + cf], v);
                acc[ox * CF + cf] = m;
                if (ky == KH - 1 && kx == KW - 1) out.write(m);
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

template <unsigned H, unsigned W, unsigned C, unsigned KH, unsigned KW, unsigned SH, unsigned SW,
          unsigned OH, unsigned OW, unsigned PE, typename T>
void maxpool_overlapping(hls::stream<ap_uint<PE * T::bits> > &in, hls::stream<ap_uint<PE * T::bits> > &out,
                         const unsigned reps) {
    BNNC_MAXPOOL_CHECKS
    const unsigned CF = C / PE;
    typedef ap_uint<PE * T::bits> word_t;
    word_t buf[KH][W * CF];
    for (unsigned r = 0; r < reps; r++) {
        unsigned rows_read = 0;
        for (unsigned oy = 0; oy < OH; oy++) {
            for (; rows_read < oy * SH + KH; rows_read++) {
                for (unsigned j = 0; j < W * CF; j++) {
#pragma HLS PIPELINE II=1
                    buf[rows_read % KH][j] = in.read();
                }
            }
            unsigned ox = 0, cf = 0, ky = 0, kx = 0;
            word_t m = 0;
            for (unsigned j = 0; j < OW * CF * KH * KW; j++) {
#pragma HLS PIPELINE II=1
                const word_t v = buf[(oy * SH + ky) % KH][(ox * SW + kx) * CF + cf];
                m = (ky == 0 && kx == 0) ? v : max_word<PE, T>(m, v);
                if (++kx == KW) {
                    kx = 0;
                    if (++ky == KH) {
                        ky = 0;
                        out.write(m);
                        if (++cf == CF) {
                            cf = 0;
                            ox++;
                        }
                    }
                }
            }
        }
        for (; rows_read < H; rows_read++) {  // rows below the last window (floor mode)
            for (unsigned j = 0; j < W * CF; j++) {
#pragma HLS PIPELINE II=1
                in.read();
            }
        }
    }
}

}  // namespace bnnc

#endif
