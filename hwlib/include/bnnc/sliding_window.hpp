// Sliding-window (im2col) generator (docs/ir.md, kind SlidingWindow; FINN: ConvolutionInputGenerator).
//
// Input: an (H, W, C) image as words of SIMD channels (C/SIMD words per pixel, raster order).
// Output: for each output pixel (oy, ox) in raster order, the KH*KW*C window elements in (ky, kx, c)
// order, again SIMD channels per word. Pixels outside the image (padding) carry PAD_VALUE.
//
// A line buffer of KH+SH rows (slot = row % (KH+SH)) lets reading overlap writing: the rows the
// first output row needs are read up front, then while output row oy is written the rows output row
// oy+1 additionally needs are read in (and, after the last output row, the rows no window reaches are
// read and dropped). A row read during oy is at least KH+SH rows after any row oy still uses, so it
// never overwrites one. Cycles per frame: fill + sum over oy of max(writes, reads) per output row.
// Elements are re-encoded from TI to TO (a zero-padded BIPOLAR input becomes INT2).
#ifndef BNNC_SLIDING_WINDOW_HPP
#define BNNC_SLIDING_WINDOW_HPP

#include "types.hpp"

namespace bnnc {

// Input rows [0, swg_rows_needed(oy)) must be buffered before output row oy (its window ends at
// input row oy*SH - PAD_TOP + KH - 1), clamped to [0, H].
template <unsigned H, unsigned KH, unsigned SH, unsigned PAD_TOP>
inline unsigned swg_rows_needed(unsigned oy) {
#pragma HLS INLINE
    const int last = int(oy * SH) - int(PAD_TOP) + int(KH);
    return last <= 0 ? 0u : (unsigned(last) < H ? unsigned(last) : H);
}

template <unsigned H, unsigned W, unsigned C, unsigned KH, unsigned KW, unsigned SH, unsigned SW,
          unsigned PAD_TOP, unsigned PAD_LEFT, unsigned OH, unsigned OW, unsigned SIMD,
          typename TI, typename TO, int PAD_VALUE>
void sliding_window(hls::stream<ap_uint<SIMD * TI::bits> > &in, hls::stream<ap_uint<SIMD * TO::bits> > &out,
                    const unsigned reps) {
    static_assert(C % SIMD == 0, "SIMD must divide the channel count");
    const unsigned CF = C / SIMD, NB = KH + SH, ROW = W * CF, WRITES = OW * KH * KW * CF;
    typedef ap_uint<SIMD * TO::bits> word_t;

    word_t buf[NB][ROW];
    word_t pad = 0;
    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
        set_element<TO::bits>(pad, s, TO::encode(ap_int<33>(PAD_VALUE)));
    }

    for (unsigned r = 0; r < reps; r++) {
        const unsigned fill = swg_rows_needed<H, KH, SH, PAD_TOP>(0);
        unsigned row = 0, col = 0;  // next input row / word within it
        for (unsigned j = 0; j < fill * ROW; j++) {
#pragma HLS PIPELINE II=1
            buf[row % NB][col] = recode<SIMD, TI, TO>(in.read());
            if (++col == ROW) {
                col = 0;
                row++;
            }
        }
        for (unsigned oy = 0; oy < OH; oy++) {
            const unsigned keep_to = oy + 1 < OH ? swg_rows_needed<H, KH, SH, PAD_TOP>(oy + 1) : row;
            const unsigned read_to = oy + 1 < OH ? keep_to : H;  // after the last row: drain the rest
            const unsigned reads = (read_to - row) * ROW;
            const unsigned iters = reads > WRITES ? reads : WRITES;
            unsigned ox = 0, ky = 0, kx = 0, cf = 0;
            for (unsigned j = 0; j < iters; j++) {
#pragma HLS PIPELINE II=1
#pragma HLS DEPENDENCE variable=buf inter false  // rows written here are never the rows being read (above)
                if (j < WRITES) {
                    const int iy = int(oy * SH + ky) - int(PAD_TOP);
                    const int ix = int(ox * SW + kx) - int(PAD_LEFT);
                    const bool inside = iy >= 0 && iy < int(H) && ix >= 0 && ix < int(W);
                    out.write(inside ? buf[unsigned(iy) % NB][unsigned(ix) * CF + cf] : pad);
                    if (++cf == CF) {
                        cf = 0;
                        if (++kx == KW) {
                            kx = 0;
                            if (++ky == KH) {
                                ky = 0;
                                ox++;
                            }
                        }
                    }
                }
                if (j < reads) {
                    const word_t w = recode<SIMD, TI, TO>(in.read());
                    if (row < keep_to) buf[row % NB][col] = w;
                    if (++col == ROW) {
                        col = 0;
                        row++;
                    }
                }
            }
        }
    }
}

}  // namespace bnnc

#endif
