// bnnc HLS library: element codecs, packed-word access and constant-memory words shared by every layer.
//
// Streams carry bit-packed words (docs/ir.md "Stream packing"): a word of N elements of a B-bit
// datatype is an ap_uint<N*B> with element i at bits [i*B, (i+1)*B). The codecs turn one element's
// raw bits into its integer *value* and back, so layers compute on values exactly as the NumPy
// simulator does (the simulator is the reference semantics).
#ifndef BNNC_TYPES_HPP
#define BNNC_TYPES_HPP

// Folded words can exceed ap_int's default 1024-bit limit (e.g. SIMD 130 x INT8 = 1040 bits); the code generator
// refuses words wider than this (compiler/backends/plan.py MAX_WORD_BITS).
#ifndef AP_INT_MAX_W
#define AP_INT_MAX_W 4096
#endif
#include <ap_int.h>
#include <hls_stream.h>

// BNNC_SYNTHESIS_PATHS is 1 under Vitis HLS synthesis. C simulation normally takes two shortcuts that compute
// the same values faster (POD constant memories, see rom_read; MVTU words in native 64-bit limbs, see word_store in mvtu.hpp);
// compile with -DBNNC_SYNTHESIS_PATHS=1 to simulate exactly the code synthesis sees (the tests compare both).
#ifndef BNNC_SYNTHESIS_PATHS
#ifdef __SYNTHESIS__
#define BNNC_SYNTHESIS_PATHS 1
#else
#define BNNC_SYNTHESIS_PATHS 0
#endif
#endif

namespace bnnc {

// BIPOLAR: bit 0 <-> -1, bit 1 <-> +1.
struct Bipolar {
    static const unsigned bits = 1;
    static const bool bipolar = true;
    typedef ap_int<2> value_t;
    static value_t decode(ap_uint<1> raw) { return raw ? value_t(1) : value_t(-1); }
    static long long decode_ll(unsigned long long raw) { return raw ? 1 : -1; }
    template <typename V> static ap_uint<1> encode(V v) { return ap_uint<1>(v > 0 ? 1 : 0); }
};

// Two's-complement signed integer of B bits (qonnx INTB).
template <unsigned B> struct SInt {
    static const unsigned bits = B;
    static const bool bipolar = false;
    typedef ap_int<B> value_t;
    static value_t decode(ap_uint<B> raw) { value_t v; v(B - 1, 0) = raw; return v; }
    static long long decode_ll(unsigned long long raw) { return (long long)(raw << (64 - B)) >> (64 - B); }
    template <typename V> static ap_uint<B> encode(V v) { value_t s = v; ap_uint<B> r = s(B - 1, 0); return r; }
};

// Unsigned integer of B bits (qonnx UINTB; BINARY is UInt<1>).
template <unsigned B> struct UInt {
    static const unsigned bits = B;
    static const bool bipolar = false;
    typedef ap_uint<B> value_t;
    static value_t decode(ap_uint<B> raw) { return raw; }
    static long long decode_ll(unsigned long long raw) { return (long long)raw; }
    template <typename V> static ap_uint<B> encode(V v) { return ap_uint<B>(v); }
};

// Raw bits of element i of a packed word.
template <unsigned B, int W> inline ap_uint<B> element(const ap_uint<W> &word, unsigned i) {
#pragma HLS INLINE
    return word((i + 1) * B - 1, i * B);
}

template <unsigned B, int W> inline void set_element(ap_uint<W> &word, unsigned i, const ap_uint<B> &raw) {
#pragma HLS INLINE
    word((i + 1) * B - 1, i * B) = raw;
}

// Re-encode every element of a word from codec TI to codec TO (value preserved), e.g. BIPOLAR -> INT2.
template <unsigned N, typename TI, typename TO>
inline ap_uint<N * TO::bits> recode(const ap_uint<N * TI::bits> &x) {
#pragma HLS INLINE
    ap_uint<N * TO::bits> y = 0;
    for (unsigned i = 0; i < N; i++) {
#pragma HLS UNROLL
        set_element<TO::bits>(y, i, TO::encode(TI::decode(element<TI::bits>(x, i))));
    }
    return y;
}

// Number of threshold steps a value has crossed: sum_t (acc >= thr[t]).
template <unsigned NT, typename TAcc, typename TThr>
inline ap_uint<32> threshold_count(const TAcc &acc, const TThr thr[NT]) {
#pragma HLS INLINE
    ap_uint<32> count = 0;
    for (unsigned t = 0; t < NT; t++) {
#pragma HLS UNROLL
        count += (acc >= thr[t]) ? 1 : 0;
    }
    return count;
}

// ---- constant memories (weights, thresholds) ---------------------------------------------------
// Synthesis sees ap_uint<W> / ap_int<W> ROMs. C simulation uses plain-old-data twins holding the same
// bits: g++ compiles a large array of ap_uint initialisers as dynamic initialisation, which takes
// minutes and gigabytes for a single unfolded layer, whereas POD arrays are initialised statically.
// rom_read() turns either representation into the same ap_uint value, so layers see identical words.
template <unsigned W> struct rom_word { unsigned long long c[(W + 63) / 64]; };  // 64-bit chunks, LSB first

template <int W> inline ap_uint<W> rom_read(const ap_uint<W> &w) {
#pragma HLS INLINE
    return w;
}

template <unsigned W> inline ap_uint<W> rom_read(const rom_word<W> &w) {
#pragma HLS INLINE
    if (W <= 64) return ap_uint<W>(w.c[0]);
    ap_uint<W> r = 0;
    for (unsigned i = 0; i < (W + 63) / 64; i++) {
        const unsigned hi = 64 * (i + 1) < W ? 64 * (i + 1) : W;
        r(hi - 1, 64 * i) = ap_uint<64>(w.c[i])(hi - 1 - 64 * i, 0);
    }
    return r;
}

}  // namespace bnnc

// Element type of a W-bit ROM word and of a W-bit signed constant; BNNC_WIDE(W, "hex", chunks...) spells a
// word wider than 64 bits in either representation.
#if BNNC_SYNTHESIS_PATHS
#define BNNC_ROM_WORD(W) ap_uint<W>
#define BNNC_ROM_INT(W) ap_int<W>
#define BNNC_WIDE(W, hex, ...) ap_uint<W>(hex, 16)
#else
#define BNNC_ROM_WORD(W) bnnc::rom_word<W>
#define BNNC_ROM_INT(W) long long
#define BNNC_WIDE(W, hex, ...) { { __VA_ARGS__ } }
#endif

#endif
