// Run-time weight loading (docs/ir.md "Weight memories").
//
// UltraScale+ URAM is not initialised by the bitstream, so weight memories placed there start empty: the top
// function's weight-load mode reads them from the input AXI stream before any frame. Each W-bit word arrives as
// ceil(W / AXI_BITS) beats, least significant beat first, zero-extended; memories in the order of the layers,
// rows (PE) outer, words inner -- the layout of the weight image the deploy folder carries (weights.bin).
#ifndef BNNC_WEIGHTS_HPP
#define BNNC_WEIGHTS_HPP

#include "streams.hpp"
#include "types.hpp"

namespace bnnc {

// Store a word into either memory representation (see rom_read in types.hpp).
template <int W> inline void rom_write(ap_uint<W> &dst, const ap_uint<W> &v) {
#pragma HLS INLINE
    dst = v;
}

template <unsigned W> inline void rom_write(rom_word<W> &dst, const ap_uint<W> &v) {
    for (unsigned i = 0; i < (W + 63) / 64; i++) {
        const unsigned hi = 64 * (i + 1) < W ? 64 * (i + 1) : W;
        dst.c[i] = ap_uint<64>(v(hi - 1, 64 * i)).to_uint64();
    }
}

template <unsigned W, unsigned ROWS, unsigned WORDS, unsigned AXI_BITS, typename WMEM>
void load_weights(hls::stream<typename axis_beat<AXI_BITS>::type> &in, WMEM mem[ROWS][WORDS]) {
    const unsigned BEATS = (W + AXI_BITS - 1) / AXI_BITS;
    for (unsigned r = 0; r < ROWS; r++) {
        for (unsigned n = 0; n < WORDS; n++) {
#pragma HLS PIPELINE
            ap_uint<BEATS * AXI_BITS> word = 0;
            for (unsigned b = 0; b < BEATS; b++) word((b + 1) * AXI_BITS - 1, b * AXI_BITS) = in.read().data;
            rom_write<W>(mem[r][n], ap_uint<W>(word(W - 1, 0)));
        }
    }
}

}  // namespace bnnc

#endif
